"""Who may read which figures, and what a wrong question gets."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from sqlalchemy import Engine

from tests.conftest import Published
from tests.unit.helpers import event, post_event, run_worker, token_for
from workflow.analysis.definitions import BY_NAME, FIGURES, Kind
from workflow.analysis.periods import local_today
from workflow.analysis.refresh import refresh_facts
from workflow.base.db import unit_of_work


def _one_case(client: FlaskClient, engine: Engine, published: Published) -> int:
    case_id = int(post_event(client, event()).get_json()["case_id"])
    run_worker(engine, published.events)
    with unit_of_work(engine) as session:
        refresh_facts(session)
    return case_id


def test_a_member_reads_the_figures_of_their_subtree_only(client: FlaskClient, engine: Engine,
                                                          published: Published) -> None:
    case_id = _one_case(client, engine, published)
    today = local_today().isoformat()
    secretary = token_for(engine, "xy01a.secretary")
    own = client.get(f"/api/v1/analysis/kpis?unit=XY-01-A&from={today}&to={today}", headers=secretary)
    assert own.status_code == 200
    body = own.get_json()
    assert body["unit"]["figures"]["received"] == {"name": "received", "kind": "count", "numerator": 1,
                                                   "denominator": 1, "value": 1}
    assert [c["code"] for c in body["children"]] == ["XY-01-A-1", "XY-01-A-2"]
    assert body["facts_as_of"] is not None and body["weights"]["response"] == 0.3
    assert {d["name"] for d in body["definitions"]} >= {"response_rate", "composite"}
    default = client.get("/api/v1/analysis/kpis", headers=secretary).get_json()
    assert default["unit"]["code"] == "XY-01-A" and default["unit"]["figures"]["received"]["numerator"] == 1
    listed = client.get(f"/api/v1/analysis/kpis/cases?unit=XY-01-A&from={today}&to={today}&kpi=received",
                        headers=secretary).get_json()
    assert listed["case_ids"] == [case_id]

    above = client.get("/api/v1/analysis/kpis?unit=XY", headers=secretary)
    assert above.status_code == 403 and "XY-01-A" in above.get_json()["message"]
    sideways = client.get("/api/v1/analysis/kpis/cases?unit=XY-02&kpi=received", headers=secretary)
    assert sideways.status_code == 403
    admin = client.get("/api/v1/analysis/kpis?unit=XY-02", headers=token_for(engine, "xy.admin"))
    assert admin.status_code == 200


def test_wrong_questions_get_a_clear_refusal(client: FlaskClient, engine: Engine) -> None:
    street = token_for(engine, "xy.street")
    assert client.get("/api/v1/analysis/kpis?unit=XY").status_code == 401
    for query, field in (("unit=XY&from=2026-02-30", "from"), ("unit=XY&from=2026-11-05&to=2026-11-01", "to"),
                         ("unit=XY-01-A-1-H1", "unit")):
        answer = client.get(f"/api/v1/analysis/kpis?{query}", headers=street)
        assert answer.status_code == 422, query
        assert field in answer.get_json()["message"] or answer.get_json()["problems"][0]["field"] == field
    assert client.get("/api/v1/analysis/kpis?unit=NOPE", headers=street).status_code == 404
    for kpi in ("nonsense", "composite", "response_rate.channel.hotline"):
        answer = client.get(f"/api/v1/analysis/kpis/cases?unit=XY&kpi={kpi}", headers=street)
        assert answer.status_code == 422 and answer.get_json()["problems"][0]["field"] == "kpi", kpi
    assert client.get("/api/v1/analysis/kpis/cases?unit=XY&kpi=received&part=half",
                      headers=street).status_code == 422


def test_the_kpi_routes_are_in_the_openapi_document(client: FlaskClient) -> None:
    doc = client.get("/openapi.json").get_json()
    assert {"/api/v1/analysis/kpis", "/api/v1/analysis/kpis/cases"} <= set(doc["paths"])
    params = {p["name"] for p in doc["paths"]["/api/v1/analysis/kpis"]["get"]["parameters"]}
    assert params == {"unit", "from", "to"}


def test_the_document_says_which_figures_periods_and_units_the_api_takes(client: FlaskClient) -> None:
    doc = client.get("/openapi.json").get_json()
    params = {p["name"]: p["schema"] for p in doc["paths"]["/api/v1/analysis/kpis/cases"]["get"]["parameters"]}
    day = next(s for s in params["from"]["anyOf"] if s.get("type") == "string")
    assert day["format"] == "date" and re.fullmatch(day["pattern"].strip("^$"), "2026-11-05")
    assert next(s for s in params["unit"]["anyOf"] if s.get("type") == "string")["minLength"] == 1
    assert params["part"]["enum"] == ["numerator", "denominator"]
    # Every figure with cases of its own, and received narrowed, is what the kpi pattern admits.
    kpi = re.compile(params["kpi"]["pattern"])
    listed = {f.name for f in FIGURES if f.kind is not Kind.COMPOSITE}
    assert listed == {name for name in BY_NAME if kpi.fullmatch(name)} and len(listed) == len(FIGURES) - 1
    assert kpi.fullmatch("received.channel.hotline") and not kpi.fullmatch("")
    assert not kpi.fullmatch("response_rate.channel.hotline") and not kpi.fullmatch("received.ward.x")


def test_every_figure_is_listed_in_the_api_schema_and_defined_in_the_readme() -> None:
    from pathlib import Path

    from schemas.analysis import LISTED_FIGURES
    from workflow.analysis.definitions import FIGURES, Kind, text

    assert set(LISTED_FIGURES) == {f.name for f in FIGURES if f.kind is not Kind.COMPOSITE}
    readme = (Path(__file__).parents[3] / "README.md").read_text(encoding="utf-8")
    for figure in FIGURES:
        row = next((line for line in readme.splitlines() if line.startswith(f"| `{figure.name}` ")), "")
        assert all(text(figure.title, lang) in row for lang in ("zh_Hans", "zh_Hant", "en")), figure.name
        assert text(figure.numerator, "en") in row and text(figure.denominator, "en") in row, figure.name
