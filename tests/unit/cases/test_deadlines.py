"""The clock on SQLite, with time moved by time-machine: warnings, escalation, supervision, pauses."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import Engine, select

from tests.conftest import Published
from tests.unit.helpers import REPORTER_PHONE, event, post_event, run_worker, token_for
from workflow.base import wallclock
from workflow.base.db import unit_of_work
from workflow.cases.models import OutboxMessage
from workflow.cases.overdue import sweep
from workflow.clock.models import Deadline
from workflow.clock.policy import DEFAULT_POLICY_FILE

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2026, 9, 28, 10, 0, tzinfo=SHANGHAI)  # the week before National Day
LEADER, BRANCH, GENERAL, STREET = "xy01a1.leader", "xy01a.secretary", "xy01.secretary", "xy.street"


@pytest.fixture
def traveller() -> Iterator[Any]:
    with time_machine.travel(MONDAY, tick=False) as t:
        yield t


class Clock:
    """Submits cases and runs the sweeper and the worker in-process, at the time the test sets."""

    def __init__(self, client: FlaskClient, engine: Engine, published: Published, traveller: Any) -> None:
        self.client, self.engine, self.published, self.traveller = client, engine, published, traveller
        self.tokens: dict[str, dict[str, str]] = {}

    def submit(self, **data: Any) -> int:
        case_id = int(post_event(self.client, event(data)).get_json()["case_id"])
        run_worker(self.engine, self.published.events)
        return case_id

    def at(self, when: datetime) -> None:
        self.traveller.move_to(when)
        with unit_of_work(self.engine) as session:
            swept = sweep(session, wallclock.now())
        run_worker(self.engine, swept.inbox_ids)

    def act(self, user: str, case_id: int, trigger: str, **body: Any) -> Any:
        if user not in self.tokens:
            self.tokens[user] = token_for(self.engine, user)
        response = self.client.post(f"/api/v1/cases/{case_id}/actions/{trigger}", json=body, headers=self.tokens[user])
        return response

    def view(self, case_id: int) -> dict[str, Any]:
        if STREET not in self.tokens:
            self.tokens[STREET] = token_for(self.engine, STREET)
        return dict(self.client.get(f"/api/v1/cases/{case_id}", headers=self.tokens[STREET]).get_json())

    def kinds(self, case_id: int) -> list[str]:
        return [step["kind"] for step in self.view(case_id)["timeline"]]

    def notices(self, case_id: int) -> list[tuple[str, str]]:
        with unit_of_work(self.engine) as s:
            rows = s.scalars(select(OutboxMessage).where(OutboxMessage.case_id == case_id).order_by(OutboxMessage.id))
            return [(r.topic, r.payload.get("unit", "resident")) for r in rows]

    def armed(self, case_id: int) -> dict[str, datetime]:
        """The deadlines that will act: armed under the case's current clock token."""
        view = self.view(case_id)
        return {d["kind"]: datetime.fromisoformat(d["due_at"]).astimezone(SHANGHAI)
                for d in view["deadlines"] if d["status"] == "armed"}


@pytest.fixture
def cl(client: FlaskClient, engine: Engine, published: Published, traveller: Any) -> Clock:
    return Clock(client, engine, published, traveller)


def local(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def test_dispatch_arms_deadlines_on_working_days_skipping_national_day(cl: Clock) -> None:
    case_id = cl.submit()  # NOI: P2, seven working days
    armed = cl.armed(case_id)
    # Sep 29, 30, (Oct 1-7 off), Oct 8, 9, Saturday 10 (调休), 12, 13.
    assert armed["resolve"] == local(2026, 10, 13, 10, 0)
    assert armed["first_contact"] == local(2026, 9, 29, 10, 0)  # PT24H calendar
    assert MONDAY < armed["warn"] < armed["resolve"]
    view = cl.view(case_id)
    assert view["deadline_at"] == "2026-10-13T02:00:00Z"
    assert view["deadline_left_seconds"] == 7 * 86400
    assert view["policy"]


def test_warning_goes_out_once_then_the_case_climbs_to_the_branch(cl: Clock) -> None:
    case_id = cl.submit()
    cl.act(LEADER, case_id, "accept")
    warn_at = cl.armed(case_id)["warn"]
    cl.at(warn_at + timedelta(minutes=1))
    cl.at(warn_at + timedelta(minutes=2))  # a second sweep finds nothing new
    assert cl.kinds(case_id).count("warn") == 1
    assert ("case.deadline_warning", "XY-01-A-1") in cl.notices(case_id)

    cl.at(local(2026, 10, 13, 10, 1))
    view = cl.view(case_id)
    assert (view["state"], view["holding_unit"]["code"]) == ("branch_handling", "XY-01-A")
    assert cl.kinds(case_id)[-1] == "deadline_passed"
    assert view["timeline"][-1]["actor"] == "system"
    assert ("case.escalated", "XY-01-A") in cl.notices(case_id)
    assert cl.armed(case_id)["resolve"] > local(2026, 10, 13, 10, 1)  # a new deadline for the branch


def test_unsigned_case_tells_the_level_above(cl: Clock) -> None:
    case_id = cl.submit()
    cl.at(local(2026, 9, 29, 10, 1))
    assert "contact_overdue" in cl.kinds(case_id)
    assert ("case.not_signed", "XY-01-A") in cl.notices(case_id)


def test_signed_case_is_not_reported_as_unsigned(cl: Clock) -> None:
    case_id = cl.submit()
    cl.act(LEADER, case_id, "accept")
    cl.at(local(2026, 9, 29, 10, 1))
    assert "contact_overdue" not in cl.kinds(case_id)


def test_overdue_at_the_street_is_supervised_and_told_again_until_someone_acts(cl: Clock) -> None:
    case_id = cl.submit(category="LAB")  # P1: three working days per level
    for _ in range(3):
        cl.at(cl.armed(case_id)["resolve"] + timedelta(seconds=1))
    assert cl.view(case_id)["state"] == "street_handling"
    cl.at(cl.armed(case_id)["resolve"] + timedelta(seconds=1))
    view = cl.view(case_id)
    assert view["supervised"] and view["state"] == "street_handling"
    repeat = cl.armed(case_id)["supervision"]
    cl.at(repeat + timedelta(seconds=1))
    assert [t for t, _ in cl.notices(case_id)].count("case.supervision_flagged") == 2
    assert cl.act(STREET, case_id, "note", message="已约谈双方").status_code == 200
    cl.at(cl.armed(case_id)["supervision"] + timedelta(seconds=1))
    assert [t for t, _ in cl.notices(case_id)].count("case.supervision_flagged") == 2


def test_staff_escalation_makes_the_old_deadline_stale(cl: Clock, engine: Engine) -> None:
    case_id = cl.submit()
    old_due = cl.armed(case_id)["resolve"]
    cl.at(local(2026, 9, 29, 12, 0))
    cl.act(LEADER, case_id, "escalate", reason="需支部协调")  # the branch's clock runs to Oct 14 12:00
    cl.at(old_due + timedelta(seconds=1))
    assert cl.view(case_id)["state"] == "branch_handling"  # not pushed up a second time
    with unit_of_work(engine) as s:
        statuses = {d.kind: d.status for d in s.scalars(select(Deadline).where(Deadline.case_id == case_id,
                                                                                 Deadline.level == "grid"))}
    assert statuses == {"first_contact": "fired", "warn": "stale", "resolve": "stale"}


def test_paused_time_does_not_count(cl: Clock) -> None:
    case_id = cl.submit()
    before = cl.armed(case_id)["resolve"]
    assert cl.act(LEADER, case_id, "request_pause", reason="等待当事人出差返回").status_code == 200
    assert cl.act(LEADER, case_id, "approve_pause").status_code == 403  # only a level above decides
    assert cl.act(BRANCH, case_id, "approve_pause").status_code == 200
    assert cl.armed(case_id) == {}
    cl.at(local(2026, 10, 20, 10, 0))  # long past the old deadline: nothing fires while paused
    assert cl.view(case_id)["state"] == "grid_handling"
    assert cl.act(LEADER, case_id, "resume").status_code == 200
    # Paused Monday 10:00 with seven working days left: they count again from the resume.
    assert cl.armed(case_id)["resolve"] == local(2026, 10, 29, 10, 0)
    assert before < cl.armed(case_id)["resolve"]
    assert {"request_pause", "approve_pause", "resume"} <= set(cl.kinds(case_id))


def test_extension_is_decided_above_and_the_resident_told(cl: Clock) -> None:
    case_id = cl.submit()
    due = cl.armed(case_id)["resolve"]
    assert cl.act(LEADER, case_id, "request_extension", reason="需鉴定", extend_by="P3D").status_code == 200
    second = cl.act(LEADER, case_id, "request_extension", reason="again", extend_by="P3D")
    assert second.status_code == 409
    assert cl.act(BRANCH, case_id, "refuse_extension", reason="可先行调解").status_code == 200
    assert cl.armed(case_id)["resolve"] == due
    cl.act(LEADER, case_id, "request_extension", reason="需鉴定", extend_by="P3D")
    assert cl.act(BRANCH, case_id, "approve_extension").status_code == 200
    assert cl.armed(case_id)["resolve"] == local(2026, 10, 16, 10, 0)  # three more working days
    assert ("case.extended", "resident") in cl.notices(case_id)
    assert ("case.extension_requested", "XY-01-A") in cl.notices(case_id)


def test_an_extension_longer_than_the_policy_allows_is_refused_and_the_case_still_works(
        cl: Clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    case_id = cl.submit()
    huge = cl.act(LEADER, case_id, "request_extension", reason="永久", extend_by="P999999999D")
    assert huge.status_code == 422
    assert huge.get_json()["problems"][0]["field"] == "extend_by" and "P90D" in huge.get_json()["message"]
    assert cl.act(LEADER, case_id, "request_extension", reason="一季", extend_by="P91D").status_code == 422
    assert cl.act(LEADER, case_id, "request_extension", reason="需鉴定", extend_by="P90D").status_code == 200
    assert cl.act(BRANCH, case_id, "approve_extension").status_code == 200
    assert cl.act(LEADER, case_id, "note", message="仍可继续办理").status_code == 200
    # The bound is the deployment's: a policy may allow less.
    tighter = tmp_path / "policy.yaml"
    tighter.write_text(DEFAULT_POLICY_FILE.read_text(encoding="utf-8").replace(
        "max_extension: P90D calendar", "max_extension: P10D calendar"), encoding="utf-8")
    monkeypatch.setenv("GRIDCASE_POLICY", str(tighter))
    assert cl.act(LEADER, case_id, "request_extension", reason="再延", extend_by="P11D").status_code == 422


def test_no_evaluation_in_time_closes_the_case(cl: Clock, client: FlaskClient) -> None:
    case_id = cl.submit()
    cl.act(LEADER, case_id, "resolve", summary="已调解")
    cl.act(LEADER, case_id, "report_back", message="已调解,请评价")
    cl.at(cl.armed(case_id)["evaluation"] + timedelta(seconds=1))
    view = cl.view(case_id)
    assert view["state"] == "closed"
    assert view["timeline"][-1]["reason"] == "no evaluation within the time allowed"


def test_policy_in_force_is_recorded_and_a_later_edit_changes_only_new_cases(
    cl: Clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    old = cl.submit()
    old_due = cl.armed(old)["resolve"]
    edited = tmp_path / "policy.yaml"
    edited.write_text(DEFAULT_POLICY_FILE.read_text(encoding="utf-8").replace(
        "P2: {first_contact: PT24H calendar, resolve: P7D working}",
        "P2: {first_contact: PT24H calendar, resolve: PT2H calendar}"), encoding="utf-8")
    monkeypatch.setenv("GRIDCASE_POLICY", str(edited))
    new = cl.submit()
    assert cl.armed(new)["resolve"] == MONDAY + timedelta(hours=2)
    cl.act(LEADER, old, "escalate", reason="r")  # the old case keeps its policy at the next level too
    assert cl.armed(old)["resolve"] - MONDAY == timedelta(days=15)  # 7 working days over the holiday
    assert cl.view(old)["policy"] != cl.view(new)["policy"]
    assert old_due == local(2026, 10, 13, 10, 0)


def test_reapplying_the_policy_is_logged(cl: Clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         engine: Engine) -> None:
    from web.cli import main

    case_id = cl.submit()
    edited = tmp_path / "policy.yaml"
    edited.write_text(DEFAULT_POLICY_FILE.read_text(encoding="utf-8").replace(
        "P2: {first_contact: PT24H calendar, resolve: P7D working}",
        "P2: {first_contact: PT24H calendar, resolve: PT2H calendar}"), encoding="utf-8")
    monkeypatch.setenv("GRIDCASE_POLICY", str(edited))
    monkeypatch.setenv("DATABASE_URL", str(engine.url))
    result = CliRunner().invoke(main, ["deadlines", "reapply", "--case", str(case_id), "--reason", "新政策"])
    assert result.exit_code == 0, result.output
    assert cl.kinds(case_id)[-1] == "reapply_policy"
    assert cl.armed(case_id)["resolve"] == MONDAY + timedelta(hours=2)


def test_simulate_prints_each_future_step(cl: Clock, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    from web.cli import main

    case_id = cl.submit()
    monkeypatch.setenv("DATABASE_URL", str(engine.url))
    result = CliRunner().invoke(main, ["deadlines", "simulate", "--case", str(case_id)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "grid_handling" in lines[0]
    assert any(line.strip().startswith("2026-10-13 10:00") and "escalates to the branch" in line for line in lines)
    assert any("supervision (督办)" in line for line in lines)


def test_healthz_reports_a_silent_sweeper_and_late_deadlines(cl: Clock, client: FlaskClient) -> None:
    cl.submit()
    silent = client.get("/healthz")
    assert silent.status_code == 503
    assert "sweeper has not run" in " ".join(silent.get_json()["problems"])
    cl.at(MONDAY + timedelta(seconds=30))
    healthy = client.get("/healthz")
    assert healthy.status_code == 200, healthy.get_json()
    assert healthy.get_json()["sweeper"]["last_run"]
    cl.traveller.move_to(local(2026, 9, 29, 10, 10))  # first contact 10 minutes overdue, nobody swept
    late = client.get("/healthz").get_json()
    assert late["late_deadlines"]["count"] == 1
    assert late["status"] == "degraded"


def test_no_deadline_is_armed_for_a_closed_case(cl: Clock, client: FlaskClient,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDCASE_TOKEN_DAYS", "365")  # the staff tokens outlive the three months looked ahead
    case_id = cl.submit()
    cl.act(LEADER, case_id, "resolve", summary="ok")
    cl.act(LEADER, case_id, "report_back", message="ok")
    code = cl.view(case_id)["tracking_code"]
    client.post(f"/api/v1/track/{code}/evaluation",
                json={"phone_last4": REPORTER_PHONE[-4:], "resolved": "yes", "satisfaction": 5})
    assert cl.view(case_id)["state"] == "closed"
    cl.at(local(2027, 1, 1, 0, 0))
    assert cl.view(case_id)["deadline_at"] is None
    assert datetime.now(UTC) > MONDAY
