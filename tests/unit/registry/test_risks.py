"""The risk register (矛盾隐患台账): a risk noticed on a visit, its check date on the clock, grid then branch warned."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
import time_machine
from sqlalchemy import Engine, select

from tests.unit.helpers import token_for
from workflow import machines
from workflow.base.db import unit_of_work
from workflow.cases.handling import handle_inbox_event
from workflow.cases.models import Case, OutboxMessage
from workflow.cases.overdue import sweep
from workflow.notices.delivery import deliver_due
from workflow.notices.models import Delivery
from workflow.org.models import User
from workflow.registry.clock import RISK_KIND
from workflow.registry.demo import load_demo_register
from workflow.registry.models import CaseHousehold, RegistryStep, RiskItem
from workflow.registry.risks import fire

NOTICED = "2026-11-20T02:00:00+00:00"  # 10:00 in Shanghai, the 20th


@pytest.fixture
def registry_engine(engine: Engine) -> Engine:
    with unit_of_work(engine) as session:
        load_demo_register(session)
    return engine


def _notice_risk(client: Any, engine: Engine, **risk: Any) -> int:
    leader = token_for(engine, "xy01a1.leader")
    with time_machine.travel(NOTICED, tick=False):
        answer = client.post("/api/v1/visits", headers=leader, json={
            "household": 2, "outcome": "risk", "note": "婆媳因赡养费争吵，邻居报警两次", "risk": risk})
    assert answer.status_code == 201, answer.get_json()
    return int(answer.get_json()["risk_id"])


def _risk(client: Any, engine: Engine, risk_id: int, at: str, who: str = "xy01a1.leader") -> dict[str, Any]:
    with time_machine.travel(at, tick=False):
        answer = client.get(f"/api/v1/risks/{risk_id}", headers=token_for(engine, who))
    assert answer.status_code == 200, answer.get_json()
    body: dict[str, Any] = answer.get_json()
    return body


def test_a_risk_noticed_on_a_visit_warns_the_grid_then_the_branch_when_not_checked(
        registry_engine: Engine, client: Any) -> None:
    risk_id = _notice_risk(client, registry_engine, next_check_on="2026-11-25")
    on_time = _risk(client, registry_engine, risk_id, "2026-11-24T15:00:00+00:00")
    assert (on_time["stage"], on_time["warned"], on_time["kind"]) == ("on_time", None, "tension")
    assert on_time["address"] == "金桂园 1号楼 1单元 202"
    assert _risk(client, registry_engine, risk_id, "2026-11-25T01:00:00+00:00")["stage"] == "due"
    # Midnight in Shanghai after the check day: the grid leader's.
    warned = _risk(client, registry_engine, risk_id, "2026-11-25T16:00:00+00:00")
    assert (warned["stage"], warned["warned"], warned["overdue_since"]) == (
        "warned", "grid", "2026-11-26T00:00:00+08:00")
    escalated = _risk(client, registry_engine, risk_id, "2026-11-27T16:00:00+00:00", who="xy01a.secretary")
    assert (escalated["stage"], escalated["warned"]) == ("escalated", "branch")
    assert "婆媳" in escalated["description"]
    with time_machine.travel("2026-11-27T16:00:00+00:00", tick=False):
        listed = client.get("/api/v1/risks", headers=token_for(registry_engine, "xy01a.secretary")).get_json()
        other_grid = client.get("/api/v1/risks", headers=token_for(registry_engine, "xy01a2.leader")).get_json()
    assert [r["id"] for r in listed["risks"]] == [risk_id] and other_grid["risks"] == []


def test_a_check_starts_the_clock_again_and_a_resolved_risk_stays_resolved(registry_engine: Engine,
                                                                         client: Any) -> None:
    risk_id = _notice_risk(client, registry_engine)
    assert _risk(client, registry_engine, risk_id, NOTICED)["next_check_on"] == "2026-11-27"  # a week on
    leader = token_for(registry_engine, "xy01a1.leader")
    with time_machine.travel("2026-11-29T02:00:00+00:00", tick=False):
        assert client.get(f"/api/v1/risks/{risk_id}", headers=leader).get_json()["stage"] == "warned"
        ongoing = client.post(f"/api/v1/risks/{risk_id}/checks", headers=leader, json={
            "outcome": "ongoing", "note": "已调解一次，仍有怨气", "next_check_on": "2026-12-06"})
        assert ongoing.status_code == 200, ongoing.get_json()
        assert (ongoing.get_json()["risk"]["stage"], ongoing.get_json()["risk"]["warned"]) == ("on_time", None)
        past = client.post(f"/api/v1/risks/{risk_id}/checks", headers=leader, json={
            "outcome": "ongoing", "note": "x", "next_check_on": "2026-11-01"})
        assert past.status_code == 422 and past.get_json()["problems"][0]["field"] == "next_check_on"
        done = client.post(f"/api/v1/risks/{risk_id}/checks", headers=leader,
                           json={"outcome": "resolved", "note": "双方和解"})
        assert done.get_json()["risk"]["status"] == "resolved"
        again = client.post(f"/api/v1/risks/{risk_id}/checks", headers=leader,
                            json={"outcome": "resolved", "note": "再次"})
        assert again.status_code == 409
    with unit_of_work(registry_engine) as session:
        item = session.get(RiskItem, risk_id)
        assert item is not None and item.clock_token == 3  # opened, checked, resolved
        kinds = list(session.scalars(select(RegistryStep.kind).where(RegistryStep.household_id == 2)
                                     .order_by(RegistryStep.id)))
        assert kinds == ["visit", "risk", "risk_check", "risk_check"]


def test_a_check_that_finds_a_problem_logs_a_case_about_the_household(registry_engine: Engine, client: Any,
                                                                      published: Any) -> None:
    risk_id = _notice_risk(client, registry_engine)
    with time_machine.travel("2026-11-21T02:00:00+00:00", tick=False):
        answer = client.post(f"/api/v1/risks/{risk_id}/checks", headers=token_for(registry_engine, "xy01a1.leader"),
                             json={"outcome": "case", "note": "矛盾激化，需调解", "category": "FAM"})
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["case_id"] and body["tracking_code"] and body["risk"]["case"] == body["case_id"]
    assert published.events
    with unit_of_work(registry_engine) as session:
        case = session.get(Case, body["case_id"])
        assert case is not None and (case.category, case.grid_unit.code) == ("FAM", "XY-01-A-1")
        assert session.get(CaseHousehold, case.id) is not None
        assert session.get(CaseHousehold, case.id).household_id == 2  # type: ignore[union-attr]


def test_who_may_open_and_check_risks(registry_engine: Engine, client: Any) -> None:
    secretary = token_for(registry_engine, "xy01a.secretary")
    with time_machine.travel(NOTICED, tick=False):
        refused = client.post("/api/v1/risks", headers=secretary,
                              json={"household": 2, "kind": "tension", "description": "x"})
        assert refused.status_code == 403
        other = client.post("/api/v1/risks", headers=token_for(registry_engine, "xy01a2.leader"),
                            json={"household": 2, "kind": "tension", "description": "x"})
        assert other.status_code == 404
        opened = client.post("/api/v1/risks", headers=token_for(registry_engine, "xy01a1.leader"),
                             json={"household": 2, "kind": "difficulty", "description": "独居老人行动不便，电话 13812345678"})
        assert opened.status_code == 201, opened.get_json()
        risk_id = opened.get_json()["id"]
        street = client.get(f"/api/v1/risks/{risk_id}", headers=token_for(registry_engine, "xy.street")).get_json()
        assert "138****5678" in street["description"]  # the street sees the register masked
        # The branch secretary checks a risk escalated to the branch.
        checked = client.post(f"/api/v1/risks/{risk_id}/checks", headers=secretary,
                              json={"outcome": "resolved", "note": "已安排志愿者"})
        assert checked.status_code == 200


def test_the_clock_step_warns_grid_then_branch_once_and_ignores_a_stale_token(registry_engine: Engine,
                                                                               client: Any) -> None:
    risk_id = _notice_risk(client, registry_engine)
    now = datetime.fromisoformat("2026-12-01T00:00:00+00:00")
    with unit_of_work(registry_engine) as session:
        item = session.get(RiskItem, risk_id)
        assert item is not None
        assert fire(session, item, "warn", item.clock_token + 1, now) == []  # armed before a check: stale
        first = fire(session, item, "warn", item.clock_token, now)
        assert [(r.topic, r.unit_id) for r in first] == [("risk.check_overdue", item.grid_unit_id)]
        assert fire(session, item, "warn", item.clock_token, now) == []  # once
        branch = fire(session, item, "escalate", item.clock_token, now)
        assert [r.topic for r in branch] == ["risk.escalated"]
        assert branch[0].payload["unit"] == "XY-01-A"
        session.flush()
        assert session.scalar(select(OutboxMessage.id).where(OutboxMessage.case_id.is_(None)).limit(1))


def _sweep_and_handle(engine: Engine, at: str) -> list[str]:
    """Run the deadline sweep at ``at`` and handle what it fired; return the topics of the outbox rows written."""
    now = datetime.fromisoformat(at)
    with time_machine.travel(now, tick=False):
        with unit_of_work(engine) as session:
            swept = sweep(session, now)
        topics: list[str] = []
        for inbox_id in swept.inbox_ids:
            with unit_of_work(engine) as session:
                outcome = handle_inbox_event(session, inbox_id, batch=1)
                assert outcome.status == "done", outcome.error
                topics += [session.get(OutboxMessage, i).topic for i in outcome.notice_ids]  # type: ignore[union-attr]
    return topics


def test_on_the_clock_the_sweep_warns_the_grid_leader_then_the_branch_secretary(registry_engine: Engine,
                                                                               client: Any) -> None:
    assert RISK_KIND in machines.KINDS
    risk_id = _notice_risk(client, registry_engine, next_check_on="2026-11-25")
    assert _sweep_and_handle(registry_engine, "2026-11-25T15:00:00+00:00") == []  # 23:00 on the day: not yet
    assert _sweep_and_handle(registry_engine, "2026-11-25T16:01:00+00:00") == ["risk.check_overdue"]
    assert _sweep_and_handle(registry_engine, "2026-11-27T16:01:00+00:00") == ["risk.escalated"]
    with time_machine.travel("2026-11-27T16:02:00+00:00", tick=False), unit_of_work(registry_engine) as session:
        deliver_due(session)
    with unit_of_work(registry_engine) as session:
        told = {(d.outbox.topic, session.get(User, d.user_id).name)  # type: ignore[union-attr]
                for d in session.scalars(select(Delivery))}
        assert told == {("risk.check_overdue", "xy01a1.leader"), ("risk.escalated", "xy01a.secretary")}
        body = session.scalars(select(Delivery)).first()
        assert body is not None and body.status == "sent"
        steps = list(session.scalars(select(RegistryStep.detail).where(RegistryStep.kind == "risk_warning")))
        assert [s["level"] for s in steps] == ["grid", "branch"] and steps[0]["risk"] == risk_id


def test_a_risk_checked_in_time_is_never_warned(registry_engine: Engine, client: Any) -> None:
    risk_id = _notice_risk(client, registry_engine, next_check_on="2026-11-25")
    with time_machine.travel("2026-11-25T02:00:00+00:00", tick=False):
        checked = client.post(f"/api/v1/risks/{risk_id}/checks", headers=token_for(registry_engine, "xy01a1.leader"),
                              json={"outcome": "ongoing", "note": "已缓和", "next_check_on": "2026-12-02"})
        assert checked.status_code == 200
    assert _sweep_and_handle(registry_engine, "2026-11-28T00:00:00+00:00") == []  # the old date's deadlines: stale
    assert _sweep_and_handle(registry_engine, "2026-12-02T16:01:00+00:00") == ["risk.check_overdue"]
    with time_machine.travel("2026-12-03T02:00:00+00:00", tick=False):
        done = client.post(f"/api/v1/risks/{risk_id}/checks", headers=token_for(registry_engine, "xy01a1.leader"),
                           json={"outcome": "resolved", "note": "已化解"})
        assert done.status_code == 200
    assert _sweep_and_handle(registry_engine, "2026-12-10T00:00:00+00:00") == []  # resolved: the branch is not told
