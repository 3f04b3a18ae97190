"""The touch screen's key (signed, revocable), its channel, and the service cards' PDF."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from sqlalchemy import Engine, select

from tests.unit.reports.helpers import last_code
from tests.unit.ui_helpers import Browser, csrf_of
from web.ui.self_report import kiosk_token
from workflow.base.db import unit_of_work
from workflow.cases.models import Case
from workflow.reports.cards import cards_of, cards_pdf
from workflow.reports.kiosk import add_key, revoke_key


def test_a_kiosk_files_on_touch_screen_and_a_revoked_key_stops_it(app: Any, engine: Engine, sms_sink: Path) -> None:
    with unit_of_work(engine) as session:
        key_id = add_key(session, "XY-01", "大厅").id
    secret = app.config["SECRET_KEY"]
    url = f"/kiosk/XY-01?k={kiosk_token(secret, key_id, 'XY-01')}"
    screen = Browser(app, None)
    assert screen.get(f"/kiosk/XY-02?k={kiosk_token(secret, key_id, 'XY-01')}").status_code == 404  # another unit
    assert screen.get("/kiosk/XY-01?k=eyJrIjoxLCJ1IjoiWFktMDEifQ.forged").status_code == 404
    start = screen.get(url)
    assert start.status_code == 200 and 'data-idle-seconds="120"' in start.text and "Start again" in start.text
    sent = screen.client.post(url.replace("/kiosk/XY-01?", "/kiosk/XY-01/code?"),
                              data={"csrf_token": csrf_of(start.text), "phone": "13955556666"})
    form = screen.client.post(url.replace("/kiosk/XY-01?", "/kiosk/XY-01/confirm?"), data={
        "csrf_token": csrf_of(sent.text), "phone": "13955556666", "code": last_code(sms_sink, "13955556666")})
    assert form.status_code == 200 and "report-form" in form.text
    assert "Set-Cookie" not in form.headers or "gridcase_phone" not in form.headers["Set-Cookie"]  # shared screen
    assert "gXY-02-A-1" not in form.text  # only the buildings of the centre's community
    token = re.search(r'name="phone_token" value="([^"]+)"', form.text)
    assert token
    done = screen.client.post(url.replace("/kiosk/XY-01?", "/kiosk/XY-01/report?"), data={
        "csrf_token": csrf_of(form.text), "phone_token": token.group(1), "category": "UTL",
        "building": "gXY-01-B-3", "description": "暖气不热", "name": "刘"})
    assert done.status_code == 302 and "/kiosk/XY-01/done/" in done.headers["Location"]
    with unit_of_work(engine) as session:
        assert session.scalars(select(Case.channel)).one() == "touch_screen"
    # Without the page's signed phone the form is not taken.
    fresh = screen.get(url)
    assert screen.client.post(url.replace("/kiosk/XY-01?", "/kiosk/XY-01/report?"), data={
        "csrf_token": csrf_of(fresh.text), "category": "UTL", "building": "gXY-01-B-3", "description": "x",
        "name": "刘"}).status_code == 302
    with unit_of_work(engine) as session:
        revoke_key(session, key_id)
    assert screen.get(url).status_code == 403


def test_service_cards_have_the_contacts_and_a_link_per_building(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        made = cards_of(session, "XY-01-A", "https://grid.example")
    assert [c.url for c in made] == ["https://grid.example/report?b=gXY-01-A-1", "https://grid.example/report?b=gXY-01-A-2"]
    assert made[0].leader is not None and made[0].leader[1] and made[0].household is not None
    pdf = cards_pdf(made * 5)  # ten cards: two A4 pages of eight
    assert pdf.startswith(b"%PDF") and b"/Count 2" in pdf


def test_the_cli_adds_lists_revokes_keys_and_prints_cards(engine: Engine, tmp_path: Path, monkeypatch: Any) -> None:
    from web.cli import main

    monkeypatch.setenv("DATABASE_URL", str(engine.url))
    monkeypatch.setenv("GRIDCASE_HOME", str(tmp_path))
    runner = CliRunner()
    added = runner.invoke(main, ["kiosk", "add", "XY-01"])
    assert added.exit_code == 0 and "/kiosk/XY-01?k=" in added.output
    listed = runner.invoke(main, ["kiosk", "list"])
    assert "XY-01" in listed.output and "active" in listed.output
    assert runner.invoke(main, ["kiosk", "revoke", "1"]).exit_code == 0
    assert "revoked" in runner.invoke(main, ["kiosk", "list"]).output
    assert runner.invoke(main, ["kiosk", "add", "NOPE"]).exit_code == 2
    out = tmp_path / "cards.pdf"
    printed = runner.invoke(main, ["cards", "print", "--unit", "XY-01", "--out", str(out)])
    assert printed.exit_code == 0 and "4 cards" in printed.output and out.read_bytes().startswith(b"%PDF")
    unknown = runner.invoke(main, ["cards", "print", "--households", "1", "--out", str(out)])
    assert unknown.exit_code == 2 and "no household 1" in unknown.output  # no register in this database
    assert runner.invoke(main, ["cards", "print"]).exit_code == 2  # --unit or --households


def test_the_administrator_adds_and_revokes_screens_and_downloads_cards(app: Any, engine: Engine) -> None:
    admin = Browser(app, engine, "xy.admin")
    page = admin.get("/admin/residents")
    assert page.status_code == 200 and "Touch screens" in page.text and "No touch screens." in page.text
    added = admin.client.post("/admin/residents", data={"csrf_token": csrf_of(page.text), "unit": "XY-01",
                                                        "label": "服务站大厅"})
    assert added.status_code == 302
    listed = admin.get("/admin/residents").text
    url = re.search(r"http://[^<]+/kiosk/XY-01\?k=[^<]+", listed)
    assert url and "服务站大厅" in listed
    assert Browser(app, None).get(url.group(0).split("8000")[-1]).status_code == 200
    assert admin.client.post("/admin/residents/kiosks/1/revoke",
                             data={"csrf_token": csrf_of(listed)}).status_code == 302
    assert Browser(app, None).get(url.group(0).split("8000")[-1]).status_code == 403
    cards = admin.get("/admin/residents/cards.pdf?unit=XY-01-A")
    assert cards.status_code == 200 and cards.data.startswith(b"%PDF") and cards.mimetype == "application/pdf"
    assert admin.get("/admin/residents/cards.pdf?unit=NOPE").status_code == 404
    leader = Browser(app, engine, "xy01a1.leader")
    assert leader.get("/admin/residents").status_code == 403


def test_cards_for_a_household_list_carry_each_address(engine: Engine) -> None:
    from workflow.registry.demo import load_demo_register
    from workflow.registry.models import Household
    from workflow.reports.cards import household_cards

    with unit_of_work(engine) as session:
        load_demo_register(session)
        ids = list(session.scalars(select(Household.id).order_by(Household.id).limit(2)))
        made = household_cards(session, ids, "https://grid.example")
    assert [c.heading for c in made] == ["金桂园 1号楼 1单元 101", "金桂园 1号楼 1单元 202"]
    assert made[0].url.startswith("https://grid.example/report?b=b") and made[0].leader is not None
    assert cards_pdf(made).startswith(b"%PDF")


def test_a_busy_screen_is_limited_by_its_key_not_by_the_centres_address(app: Any, engine: Engine,
                                                                        monkeypatch: Any) -> None:
    monkeypatch.setenv("GRIDCASE_REPORT_CODE_LIMIT", "2 per hour")
    monkeypatch.setenv("GRIDCASE_KIOSK_CODE_LIMIT", "3 per hour")
    with unit_of_work(engine) as session:
        key_id = add_key(session, "XY-01").id
    url = f"/kiosk/XY-01/code?k={kiosk_token(app.config['SECRET_KEY'], key_id, 'XY-01')}"
    screen = Browser(app, None)
    token = csrf_of(screen.get(url.replace("/code?", "?")).text)
    answers = [screen.client.post(url, data={"csrf_token": token, "phone": f"1390000001{n}"}).status_code
               for n in range(4)]
    assert answers == [200, 200, 200, 429]  # three residents at the centre, past the public form's two
