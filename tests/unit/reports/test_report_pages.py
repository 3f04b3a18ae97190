"""The public form /report, end to end on the test client: phone, code, report, slip; abuse limits."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from tests.unit.reports.helpers import last_code
from tests.unit.ui_helpers import Browser, csrf_of
from workflow.base.db import unit_of_work
from workflow.cases.models import Case, CaseParty, InboxEvent
from workflow.reports.models import PhoneCode, ResidentReport

PHONE = "13912345678"


def count(engine: Engine, model: Any) -> int:
    with unit_of_work(engine) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def confirm_phone(resident: Browser, sms: Path, phone: str = PHONE, query: str = "") -> Any:
    start = resident.get(f"/report{query}")
    assert start.status_code == 200 and "Send me a code" in start.text
    sent = resident.client.post(f"/report/code{query}", data={"csrf_token": csrf_of(start.text), "phone": phone})
    assert sent.status_code == 200, sent.text
    assert "valid for 10 minutes" in sent.text
    return resident.client.post(f"/report/confirm{query}", data={
        "csrf_token": csrf_of(sent.text), "phone": phone, "code": last_code(sms, phone)})


def report(resident: Browser, **fields: Any) -> Any:
    page = resident.get("/report" + fields.pop("query", ""))
    assert "Send my report" in page.text or "report-form" in page.text, page.text
    data = {"csrf_token": csrf_of(page.text), "category": "NOI", "building": "gXY-01-A-1",
            "description": "楼上每晚装修到十一点", "name": "王先生", **fields}
    return resident.client.post("/report", data=data)


def test_nothing_is_stored_before_the_phone_is_confirmed(app: Any, engine: Engine, sms_sink: Path) -> None:
    resident = Browser(app, None)
    # The form cannot be sent without a confirmed phone: it goes back to the phone step.
    page = resident.get("/report")
    sneaked = resident.client.post("/report", data={
        "csrf_token": csrf_of(page.text), "category": "NOI", "building": "gXY-01-A-1",
        "description": "x", "name": "王"})
    assert sneaked.status_code == 302 and sneaked.headers["Location"].endswith("/report")
    sent = resident.client.post("/report/code", data={"csrf_token": csrf_of(page.text), "phone": PHONE})
    assert sent.status_code == 200
    wrong = resident.client.post("/report/confirm", data={"csrf_token": csrf_of(sent.text), "phone": PHONE,
                                                          "code": "000000" if last_code(sms_sink, PHONE) != "000000"
                                                          else "111111"})
    assert wrong.status_code == 422 and "2 tries left" in wrong.text
    assert count(engine, Case) == 0 and count(engine, CaseParty) == 0 and count(engine, InboxEvent) == 0
    assert count(engine, ResidentReport) == 0
    with unit_of_work(engine) as session:  # the pending code: hashes only, nothing that names the resident
        row = session.scalars(select(PhoneCode)).one()
        assert PHONE not in row.phone_hash


def test_a_report_from_the_website_is_a_case_in_the_grid_queue(app: Any, engine: Engine, sms_sink: Path,
                                                               published: Any) -> None:
    resident = Browser(app, None)
    confirmed = confirm_phone(resident, sms_sink)
    assert confirmed.status_code == 302 and "gridcase_phone" in confirmed.headers["Set-Cookie"]
    assert "Max-Age=2592000" in confirmed.headers["Set-Cookie"] and "HttpOnly" in confirmed.headers["Set-Cookie"]
    form = resident.get("/report")
    assert "139****5678 is confirmed" in form.text and "Water leaking from upstairs" in form.text
    sent = report(resident, occurred_at="2026-11-19T22:30")
    assert sent.status_code == 302 and "/report/done/" in sent.headers["Location"]
    done = resident.get(sent.headers["Location"])
    code = re.search(r'id="slip-code">([A-Z0-9-]+)<', done.text)
    assert code and "You will get an SMS when there is news." in done.text and "/track?code=" in done.text
    image = resident.get(re.search(r'href="(/report/slip/[^"]+\.png)"', done.text).group(1))  # type: ignore[union-attr]
    assert image.status_code == 200 and image.data[:8] == b"\x89PNG\r\n\x1a\n"
    with unit_of_work(engine) as session:
        case = session.scalars(select(Case)).one()
        assert (case.channel, case.category, case.severity, case.grid_unit.code) == ("web", "NOI", "P2", "XY-01-A-1")
        assert case.tracking_code == code.group(1).replace("-", "")
        assert case.occurred_at is not None and case.occurred_at.isoformat() == "2026-11-19T14:30:00+00:00"
        assert [(p.role, p.name, p.phone) for p in case.parties] == [("reporter", "王先生", PHONE)]
    assert len(published.events) == 1  # the worker will dispatch it to the grid's queue
    leader = Browser(app, engine, "xy01a1.leader")
    # The queue shows it once the worker dispatched it; the case page shows it at once.
    assert leader.get(f"/cases/{case.id}").status_code == 200


def test_in_danger_is_p0_and_the_resident_is_told_to_call(app: Any, engine: Engine, sms_sink: Path) -> None:
    resident = Browser(app, None)
    confirm_phone(resident, sms_sink)
    assert "110" in resident.get("/report").text
    sent = report(resident, category="NEI", danger="y")
    done = resident.get(sent.headers["Location"])
    assert "call 110, 119 or 120 now" in done.text
    with unit_of_work(engine) as session:
        assert session.scalars(select(Case.severity)).one() == "P0"


def test_the_same_problem_again_is_offered_as_an_addition(app: Any, engine: Engine, sms_sink: Path) -> None:
    resident = Browser(app, None)
    confirm_phone(resident, sms_sink)
    first = report(resident)
    assert first.status_code == 302
    again = report(resident, description="今晚又吵了")
    assert again.status_code == 409 and "Add to my existing case" in again.text
    assert count(engine, Case) == 1  # offered, not stored
    added = report(resident, description="今晚又吵了", duplicate="add")
    assert added.status_code == 302 and "added=1" in added.headers["Location"]
    with unit_of_work(engine) as session:
        case = session.scalars(select(Case)).one()
        notes = [e for e in case.events if e.kind == "note"]
        assert [(n.actor, n.reason) for n in notes] == [("resident", "居民补充：今晚又吵了")]
    # Another category at the same building is another problem: no offer.
    assert report(resident, category="PRO").status_code == 302
    # "It is a different problem" opens a new case.
    assert report(resident, description="另一户也在装修", duplicate="new").status_code == 302
    assert count(engine, Case) == 3


def test_one_phone_opens_at_most_the_daily_cap(app: Any, engine: Engine, sms_sink: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDCASE_REPORT_DAILY_CAP", "2")
    resident = Browser(app, None)
    confirm_phone(resident, sms_sink)
    assert report(resident, category="NOI").status_code == 302
    assert report(resident, category="ENV").status_code == 302
    capped = report(resident, category="PRO")
    assert capped.status_code == 429 and "2 cases in the last 24 hours" in capped.text
    assert count(engine, Case) == 2


def test_a_service_card_prefills_the_building_and_is_its_channel(app: Any, engine: Engine, sms_sink: Path) -> None:
    resident = Browser(app, None)
    confirm_phone(resident, sms_sink, query="?b=gXY-01-A-2")
    page = resident.get("/report?b=gXY-01-A-2")
    assert re.search(r'<option selected value="gXY-01-A-2">|<option value="gXY-01-A-2" selected>', page.text)
    sent = resident.client.post("/report?b=gXY-01-A-2", data={
        "csrf_token": csrf_of(page.text), "category": "ENV", "building": "gXY-01-A-2",
        "description": "垃圾没人清", "name": "李"})
    assert sent.status_code == 302
    with unit_of_work(engine) as session:
        case = session.scalars(select(Case)).one()
        assert (case.channel, case.grid_unit.code) == ("service_card", "XY-01-A-2")


def test_codes_are_limited_per_client_address(app: Any, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDCASE_REPORT_CODE_LIMIT", "3 per hour")
    resident = Browser(app, None)
    token = csrf_of(resident.get("/report").text)
    answers = [resident.client.post("/report/code", data={"csrf_token": token, "phone": f"1390000000{n}"}).status_code
               for n in range(4)]
    assert answers == [200, 200, 200, 429]


def test_the_pages_speak_the_three_languages(app: Any, engine: Engine, sms_sink: Path) -> None:
    resident = Browser(app, None)
    for language, words in (("zh-CN", "向网格反映问题"), ("zh-TW", "向網格反映問題"), ("en", "Report a problem")):
        resident.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
        assert words in resident.get("/report").text


def test_the_same_form_sent_twice_is_one_case(app: Any, engine: Engine, sms_sink: Path) -> None:
    resident = Browser(app, None)
    confirm_phone(resident, sms_sink)
    page = resident.get("/report")
    key = re.search(r'name="submission_id" type="hidden" value="([0-9a-f-]+)"', page.text)
    assert key
    data = {"csrf_token": csrf_of(page.text), "category": "NOI", "building": "gXY-01-A-1",
            "description": "楼上装修", "name": "王", "submission_id": key.group(1)}
    first = resident.client.post("/report", data=data)
    again = resident.client.post("/report", data=data)  # back, send
    assert first.status_code == again.status_code == 302
    assert first.headers["Location"].split("/done/")[1][:20] == again.headers["Location"].split("/done/")[1][:20]
    assert count(engine, Case) == 1
