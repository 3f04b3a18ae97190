"""The administrators' audit log: every administrative act recorded, chained, and shown to the administrator."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import Engine, select, update

from tests.conftest import Published
from tests.unit.cases.test_lifecycle import LEADER, Desk
from tests.unit.helpers import REPORTER_PHONE, token_for
from tests.unit.ui.test_ui_admin import ADMIN, OTHER_LEADER, member_data
from tests.unit.ui_helpers import Browser
from web.cli import main
from workflow.audit.log import verify_log
from workflow.audit.models import AdminAuditEntry
from workflow.base.db import unit_of_work


@pytest.fixture
def admin(app: Any, engine: Engine) -> Browser:
    browser = Browser(app, engine, ADMIN)
    browser.get("/lang/en")
    return browser


def _log(engine: Engine) -> list[AdminAuditEntry]:
    with unit_of_work(engine) as session:
        return list(session.scalars(select(AdminAuditEntry).order_by(AdminAuditEntry.seq)))


def test_a_role_change_and_a_deactivation_are_on_the_log_with_before_and_after(admin: Browser, engine: Engine) -> None:
    path = f"/admin/members/{OTHER_LEADER}"
    assert admin.post_form(path, path, member_data(role="branch_secretary", unit="XY-01-B",
                                                   phone="13900001111")).status_code == 302
    assert admin.post_form(path, path, member_data(role="branch_secretary", unit="XY-01-B", phone="13900001111",
                                                   active="")).status_code == 302
    acts = [(e.actor, e.actor_unit, e.action, e.target, e.detail) for e in _log(engine)]
    assert acts == [
        (ADMIN, "XY", "member.role", f"member {OTHER_LEADER}", {"before": "grid_leader", "after": "branch_secretary"}),
        (ADMIN, "XY", "member.edit", f"member {OTHER_LEADER}",
         {"fields": ["unit", "display_name", "phone"], "unit": {"before": "XY-01-A-2", "after": "XY-01-B"}}),
        (ADMIN, "XY", "member.deactivate", f"member {OTHER_LEADER}", {}),
    ]
    # The new phone is named as changed, never copied.
    assert "13900001111" not in json.dumps([a[4] for a in acts])
    page = admin.get("/admin/audit?action=member")
    assert page.status_code == 200 and "Role changed" in page.text and "Member deactivated" in page.text
    assert admin.get("/admin/audit?action=member.role").text.count('data-action="member.role"') == 1
    assert 'data-action=' not in admin.get("/admin/audit?actor=xy.street").text
    assert 'data-action=' not in admin.get("/admin/audit?since=2099-01-01").text
    bad = admin.get("/admin/audit?since=2026-02-30")
    assert bad.status_code == 422 and "since: 2026-02-30 is not a day" in bad.text


def test_units_subscriptions_and_integrator_keys_are_on_the_log(admin: Browser, engine: Engine) -> None:
    admin.post_form("/admin/units/XY-01-A", "/admin/units/XY-01-A/children",
                    {"child-code": "XY-01-A-9", "child-name": "新楼党小组"})
    admin.post_form("/admin/units/XY-01-A-9", "/admin/units/XY-01-A-9/rename", {"rename-name": "九号楼党小组"})
    admin.post_form("/admin/subscriptions/1/remove", "/admin/subscriptions/1/remove", {})
    admin.post_form("/admin/integrators", "/admin/integrators",
                    {"name": "hotline", "scopes": ["submit"], "rate": "60/minute", "answer": "realtime"})
    admin.post_form("/admin/integrators/hotline/revoke", "/admin/integrators/hotline/revoke", {})
    assert [e.action for e in _log(engine)] == ["unit.add", "unit.edit", "subscription.remove", "integrator.add",
                                                "integrator.revoke"]


def test_showing_a_party_in_full_is_on_the_log_without_the_party(client: FlaskClient, engine: Engine,
                                                                   published: Published) -> None:
    desk = Desk(client, engine, published)
    case_id = desk.submit()["case_id"]
    party = desk.case(LEADER, case_id).get_json()["parties"][0]["id"]
    assert client.post(f"/api/v1/cases/{case_id}/parties/{party}/reveal", headers=desk.auth(LEADER)).status_code == 200
    (entry,) = _log(engine)
    assert (entry.actor, entry.action, entry.target, entry.detail) == (
        LEADER, "reveal.party", f"case {case_id} reporter #{party}", {"fields": ["name", "phone"]})
    assert REPORTER_PHONE not in json.dumps(entry.detail) + entry.target and "王小明" not in entry.target


def test_the_api_answers_the_administrator_only(client: FlaskClient, engine: Engine, admin: Browser) -> None:
    path = f"/admin/members/{OTHER_LEADER}"
    admin.post_form(path, path, member_data(role="branch_secretary"))
    answer = client.get("/api/v1/audit?action=member.role", headers=token_for(engine, ADMIN))
    assert answer.status_code == 200, answer.text
    body = answer.get_json()
    assert body["total"] == 1 and body["entries"][0]["action"] == "member.role"
    assert len(body["entries"][0]["row_hash"]) == 64
    refused = client.get("/api/v1/audit", headers=token_for(engine, LEADER))
    assert refused.status_code == 403 and refused.get_json()["message"] == "the audit log is for administrators"
    assert client.get("/api/v1/audit").status_code == 401
    bad = client.get("/api/v1/audit?since=2026-05-02&until=2026-05-01", headers=token_for(engine, ADMIN))
    assert bad.status_code == 422
    assert "/api/v1/audit" in client.get("/openapi.json").get_json()["paths"]


def test_the_log_is_chained_and_verify_names_a_changed_entry(admin: Browser, engine: Engine,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", str(engine.url))
    path = f"/admin/members/{OTHER_LEADER}"
    for role in ("branch_secretary", "grid_leader", "branch_secretary"):
        admin.post_form(path, path, member_data(role=role))
    entries = _log(engine)
    assert [e.action for e in entries].count("member.role") == 3
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    assert all(later.prev_hash == earlier.row_hash for earlier, later in zip(entries, entries[1:], strict=False))
    with unit_of_work(engine) as session:
        assert verify_log(session) == (len(entries), None)
    runner = CliRunner()
    assert runner.invoke(main, ["audit", "verify"]).exit_code == 0
    with unit_of_work(engine) as session:
        session.execute(update(AdminAuditEntry).where(AdminAuditEntry.seq == 2).values(actor="xy.street"))
    bad = runner.invoke(main, ["audit", "verify"])
    assert bad.exit_code == 1 and "admin log: broken at entry 2" in bad.output


def test_the_cli_records_its_own_acts_and_prints_the_log(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", str(engine.url))
    runner = CliRunner()
    assert runner.invoke(main, ["token", "create", LEADER]).exit_code == 0
    assert runner.invoke(main, ["user", "end-sessions", LEADER]).exit_code == 0
    printed = runner.invoke(main, ["audit", "log", "--action", "token", "--json"])
    assert printed.exit_code == 0
    lines = [json.loads(line) for line in printed.output.splitlines()]
    assert [(line["action"], line["target"]) for line in lines] == [("token.create", f"member {LEADER}")]
    assert lines[0]["actor"].startswith("cli:")
    text = runner.invoke(main, ["audit", "log"]).output
    assert "member.end_sessions" in text and "2 of 2 entries" in text
