"""Sessions on the pages end on the server: logout, new password, an administrator, idle and absolute time."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from click.testing import CliRunner
from sqlalchemy import Engine, select

from tests.conftest import Published
from tests.unit.helpers import REPORTER_PHONE, event, post_event, run_worker
from tests.unit.ui_helpers import PASSWORD, Browser, csrf_of
from web.cli import main
from workflow.base.db import unit_of_work
from workflow.org.models import User
from workflow.org.tree import DEMO_ORG_FILE

BRANCH, LEADER, ADMIN = "xy01a.secretary", "xy01a1.leader", "xy.admin"
START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _cookie(browser: Browser) -> str:
    cookie = browser.client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def _second_login(app: Any, name: str) -> Browser:
    """Log in again with the password already given (giving one anew would end the first session)."""
    browser = Browser(app, None)
    page = browser.get("/login")
    response = browser.client.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": csrf_of(page.text)})
    assert response.status_code == 302
    return browser


def _contents(app: Any, cookie: str) -> dict[str, Any]:
    """What a Flask session cookie says: it is signed, not encrypted, so anyone holding it can read this."""
    data = app.session_interface.get_signing_serializer(app).loads(cookie)
    return data  # type: ignore[no-any-return]


def test_a_cookie_saved_before_logout_does_not_open_the_inbox_after_it(app: Any, engine: Engine) -> None:
    branch = Browser(app, engine, BRANCH)
    assert branch.get("/inbox").status_code == 200
    saved = _cookie(branch)
    assert branch.post_form("/inbox", "/logout", {}).status_code == 302
    branch.client.set_cookie("session", saved)  # an attacker's copy, or the browser's back button
    again = branch.get("/inbox")
    assert again.status_code == 302 and "/login" in again.headers["Location"]


def test_the_session_cookie_carries_nothing_of_the_password_or_the_residents_digits(
        app: Any, engine: Engine, published: Published) -> None:
    branch = Browser(app, engine, BRANCH)
    with unit_of_work(engine) as session:
        password_hash = session.scalars(select(User.password_hash).where(User.name == BRANCH)).one()
    assert password_hash
    said = json.dumps(_contents(app, _cookie(branch)))
    pieces = {password_hash[i:i + 8] for i in range(len(password_hash) - 8)}
    assert not any(piece in said for piece in pieces), said

    client = app.test_client()
    answer = post_event(client, event()).get_json()
    run_worker(engine, published.events)
    resident = Browser(app, None)
    found = resident.post_form("/track", "/track", {"code": answer["tracking_code"],
                                                     "phone_last4": REPORTER_PHONE[-4:]})
    assert found.status_code == 302
    assert resident.get(found.headers["Location"]).status_code == 200  # the page opens without the digits again
    assert REPORTER_PHONE[-4:] not in json.dumps(_contents(app, _cookie(resident)))


def test_a_new_password_from_the_command_line_ends_the_members_sessions(
        app: Any, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    branch = Browser(app, engine, BRANCH)
    monkeypatch.setenv("DATABASE_URL", str(engine.url))
    result = CliRunner().invoke(main, ["user", "password", BRANCH], input="another password 9\n" * 2)
    assert result.exit_code == 0, result.output
    assert "/login" in branch.get("/inbox").headers["Location"]


def test_an_administrator_ends_every_session_of_a_member(app: Any, engine: Engine) -> None:
    phone = Browser(app, engine, BRANCH)
    desk = _second_login(app, BRANCH)
    admin = Browser(app, engine, ADMIN)
    page = admin.get(f"/admin/members/{BRANCH}")
    assert "2 sessions open on the pages." in page.text
    ended = admin.post_form(f"/admin/members/{BRANCH}", f"/admin/members/{BRANCH}/sessions/end", {},
                            follow_redirects=True)
    assert ended.status_code == 200 and f"2 sessions of {BRANCH} ended." in ended.text
    assert "0 sessions open on the pages." in ended.text
    for browser in (phone, desk):
        assert "/login" in browser.get("/inbox").headers["Location"]
    assert admin.get("/admin/org").status_code == 200  # the administrator's own session goes on


def test_only_an_administrator_may_end_a_members_sessions(app: Any, engine: Engine) -> None:
    branch = Browser(app, engine, BRANCH)
    leader = Browser(app, engine, LEADER)
    refused = leader.post_form("/queue", f"/admin/members/{BRANCH}/sessions/end", {})
    assert refused.status_code == 403
    assert branch.get("/inbox").status_code == 200


def test_the_command_line_ends_a_members_sessions(app: Any, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    branch = Browser(app, engine, BRANCH)
    monkeypatch.setenv("DATABASE_URL", str(engine.url))
    result = CliRunner().invoke(main, ["user", "end-sessions", BRANCH])
    assert result.exit_code == 0 and "1 session(s) of xy01a.secretary ended" in result.output
    assert "/login" in branch.get("/inbox").headers["Location"]
    unknown = CliRunner().invoke(main, ["user", "end-sessions", "nobody"])
    assert unknown.exit_code == 2 and "no user named 'nobody'" in unknown.output


def test_an_idle_session_ends_after_the_idle_timeout(app: Any, engine: Engine,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDCASE_SESSION_IDLE", "600")
    with time_machine.travel(START, tick=False) as clock:
        branch = Browser(app, engine, BRANCH)
        clock.move_to(START + timedelta(minutes=9))
        assert branch.get("/inbox").status_code == 200  # used: the idle time starts again
        clock.move_to(START + timedelta(minutes=18))
        assert branch.get("/inbox").status_code == 200
        clock.move_to(START + timedelta(minutes=28, seconds=1))
        assert "/login" in branch.get("/inbox").headers["Location"]


def test_a_busy_session_ends_at_its_absolute_lifetime(app: Any, engine: Engine,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDCASE_SESSION_LIFETIME", str(3 * 3600))
    with time_machine.travel(START, tick=False) as clock:
        branch = Browser(app, engine, BRANCH)
        for minutes in range(20, 180, 20):
            clock.move_to(START + timedelta(minutes=minutes))
            assert branch.get("/inbox").status_code == 200, minutes
        clock.move_to(START + timedelta(hours=3, seconds=1))
        assert "/login" in branch.get("/inbox").headers["Location"]
        Browser(app, engine, BRANCH)  # logging in again opens a new session


def test_the_org_import_leaves_sessions_alone(app: Any, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    branch = Browser(app, engine, BRANCH)
    monkeypatch.setenv("DATABASE_URL", str(engine.url))
    assert CliRunner().invoke(main, ["org", "import", str(DEMO_ORG_FILE)]).exit_code == 0
    assert branch.get("/inbox").status_code == 200
