"""调解成功率 through the APIs: an agreement signed, a mediation refused, one still in session."""

from __future__ import annotations

from sqlalchemy import Engine

from tests.unit.helpers import token_for
from tests.unit.mediation.conftest import desk  # noqa: F401 (fixture)
from tests.unit.mediation.test_api import BRANCH, MEDIATOR, Desk, _agreed, png
from workflow.analysis.refresh import refresh_facts
from workflow.base.db import unit_of_work


def test_the_mediation_success_rate_counts_agreements_in_effect_over_mediations_concluded(
        desk: Desk, engine: Engine) -> None:  # noqa: F811
    signed, mid, parties = _agreed(desk)
    for signer in (f"party:{parties[0]}", f"party:{parties[1]}", "mediator"):
        desk.ok(MEDIATOR, mid, "sign", signer=signer, signature=png())
    refused = desk.dispute_at_branch()
    other = desk.propose(BRANCH, refused).get_json()["mediation_id"]
    party = desk.get(BRANCH, other).get_json()["parties"][0]["party_id"]
    desk.ok(BRANCH, other, "consent", party_id=party, answer="no", given_as="in_writing", reason="要起诉")
    _agreed(desk)  # in session still: not concluded, in neither part
    with unit_of_work(engine) as session:
        refresh_facts(session)

    street = token_for(engine, "xy.street")
    body = desk.client.get("/api/v1/analysis/kpis?unit=XY", headers={**street, "Accept-Language": "en"}).get_json()
    rate = body["unit"]["figures"]["mediation_success_rate"]
    assert (rate["numerator"], rate["denominator"], rate["value"]) == (1, 2, 0.5)
    definition = next(d for d in body["definitions"] if d["name"] == "mediation_success_rate")
    assert "agreements in effect" in definition["formula"]
    for part, wanted in (("numerator", [signed]), ("denominator", sorted([signed, refused]))):
        listed = desk.client.get(f"/api/v1/analysis/kpis/cases?unit=XY&kpi=mediation_success_rate&part={part}",
                                 headers=street).get_json()
        assert listed["case_ids"] == wanted, part
    chinese = desk.client.get("/api/v1/analysis/kpis?unit=XY", headers={**street, "Accept-Language": "zh-TW"})
    assert next(d for d in chinese.get_json()["definitions"]
                if d["name"] == "mediation_success_rate")["title"] == "調解成功率"
