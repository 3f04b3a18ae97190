"""The mediation pages through Flask's test client: propose from the case page, consent, a session,
the agreement drafted and signed on the screen, the PDF downloaded; refusals said on the page."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import Engine

from tests.conftest import Published
from tests.unit.helpers import event, post_event, run_worker, token_for
from tests.unit.mediation.test_api import png
from tests.unit.ui_helpers import Browser

LEADER, BRANCH, MEDIATOR = "xy01a1.leader", "xy01a.secretary", "xy01.mediator"


def _case_at_branch(client: FlaskClient, engine: Engine, published: Published) -> int:
    # The reporter and one other party, as the grid leader's form logs them.
    answer = post_event(client, event({"category": "NEI", "description": "邻里漏水",
                                       "parties": [{"role": "respondent", "name": "李卫东", "phone": "13700002222"}]}))
    run_worker(engine, published.events)
    case_id: int = answer.get_json()["case_id"]
    client.post(f"/api/v1/cases/{case_id}/actions/escalate", json={"reason": "调解"},
                headers=token_for(engine, LEADER))
    return case_id


def test_a_mediation_is_run_from_the_pages(app: Any, client: FlaskClient, engine: Engine,
                                           published: Published) -> None:
    case_id = _case_at_branch(client, engine, published)
    branch = Browser(app, engine, BRANCH)
    page = branch.get(f"/cases/{case_id}").text
    assert 'id="propose-mediation"' in page
    r = branch.post_form(f"/cases/{case_id}", f"/cases/{case_id}/mediation", {"mediators": MEDIATOR})
    assert r.status_code == 302
    url = r.headers["Location"]
    mid = int(url.rsplit("/", 1)[1])
    assert f'data-mediation="{mid}"' in branch.get(f"/cases/{case_id}").text

    mediator = Browser(app, engine, MEDIATOR)
    page = mediator.get(url).text
    assert "waiting for consent" in page and "王*明" in page and "138****5678" in page
    import re
    parties = re.findall(r'data-party="(\d+)"', page)
    act = f"/mediations/{mid}/actions/"
    refused = mediator.post_form(url, act + "consent", {"party_id": parties[0], "answer": "yes", "given_as": "oral"})
    assert refused.status_code == 422 and "witness" in refused.text
    for pid in parties:
        r = mediator.post_form(url, act + "consent", {"party_id": pid, "answer": "yes", "given_as": "on_screen"})
        assert r.status_code == 302, r.text
    assert "in session" in mediator.get(url).text
    r = mediator.post_form(url, act + "session", {"held_on": "2026-12-03", "place": "调解室", "attendees": "王小明，李卫东",
                                                  "record": "双方同意修复。"})
    assert r.status_code == 302, r.text
    r = mediator.post_form(url, act + "draft", {
        "facts": "漏水致天花板受损", "responsibility": "李卫东负责", "term_text_0": "李卫东修复天花板",
        "term_how_0": "请人维修", "term_due_0": "2026-12-15", "term_party_0": parties[1],
        "fact_party": parties, f"sex_{parties[0]}": "male"})
    assert r.status_code == 302, r.text
    page = mediator.get(url).text
    assert "signature.js" in page and 'data-signature="signature"' in page
    for signer in (f"party:{parties[0]}", f"party:{parties[1]}", "mediator"):
        r = mediator.post_form(url, act + "sign", {"signer": signer, "method": "on_screen", "signature": png()})
        assert r.status_code == 302, r.text
    page = mediator.get(url).text
    assert "agreement in effect" in page and 'id="download-pdf"' in page
    pdf = mediator.get(f"/mediations/{mid}/agreement.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_the_pages_speak_chinese(app: Any, client: FlaskClient, engine: Engine, published: Published) -> None:
    case_id = _case_at_branch(client, engine, published)
    branch = Browser(app, engine, BRANCH)
    branch.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    url = branch.post_form(f"/cases/{case_id}", f"/cases/{case_id}/mediation", {}).headers["Location"]
    page = branch.get(url).text
    assert "调解" in page and "等待" in page
    branch.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-TW"
    assert "調解" in branch.get(url).text
