"""The clock with a real worker and beat on PostgreSQL: cases climb by themselves (policy in seconds)."""

from __future__ import annotations

import time

import pytest

from tests.integration.support import Live, ManagedProcess, submitted_event, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
CLIMB = 45.0  # seconds allowed for steps that take a few seconds on an idle machine


def kinds(live: Live, case_id: int) -> list[str]:
    return [s["kind"] for s in live.steps(case_id)]


def test_overdue_grid_case_escalates_to_branch_by_itself(live: Live, beat: ManagedProcess) -> None:
    case_id = live.api.submit(submitted_event())["case_id"]
    live.wait_for_state(case_id, "branch_handling", timeout=CLIMB)
    steps = live.steps(case_id)
    assert [s["kind"] for s in steps][:4] == ["submitted", "dispatch", "warn", "deadline_passed"]
    passed = steps[3]
    assert (passed["actor"], passed["from_state"], passed["to_state"]) == ("system", "grid_handling", "branch_handling")
    notices = live.wait_notices_sent(case_id)
    assert {(n["topic"], n["payload"]["unit"]) for n in notices} >= {
        ("case.deadline_warning", "XY-01-A-1"), ("case.escalated", "XY-01-A")}
    health = live.api.client.get("/healthz")
    assert health.status_code == 200, health.get_json()


def test_at_the_street_it_is_supervised_and_told_again_until_someone_acts(live: Live, beat: ManagedProcess) -> None:
    case_id = live.api.submit(submitted_event())["case_id"]
    live.wait_for_state(case_id, "street_handling", timeout=CLIMB * 2)

    def supervision_notices() -> int:
        return sum(n["topic"] == "case.supervision_flagged" for n in live.notices(case_id))

    wait_until(lambda: supervision_notices() >= 2, "the supervision notice to be repeated", timeout=CLIMB)
    assert live.scalar("SELECT supervised FROM cases WHERE id = :id", id=case_id)
    live.api.act("xy.street", case_id, "note", message="街道已约谈双方")
    seen = supervision_notices()
    time.sleep(5)  # more than two repeat intervals: no new notice after someone acted
    assert supervision_notices() <= seen + 1  # one may have been on its way as the note landed


def test_paused_case_waits_and_resumes_with_the_time_it_had_left(live: Live, beat: ManagedProcess) -> None:
    case_id = live.api.submit(submitted_event())["case_id"]
    live.wait_for_state(case_id, "grid_handling")
    live.api.act("xy01a1.leader", case_id, "request_pause", reason="等待当事人返回")
    live.api.act("xy01a.secretary", case_id, "approve_pause")
    time.sleep(6)  # longer than the whole grid deadline
    assert live.state(case_id) == "grid_handling"
    live.api.act("xy01a1.leader", case_id, "resume")
    live.wait_for_state(case_id, "branch_handling", timeout=CLIMB)
    assert {"request_pause", "approve_pause", "resume", "deadline_passed"} <= set(kinds(live, case_id))


def test_no_evaluation_in_time_closes_the_case(live: Live, beat: ManagedProcess) -> None:
    case_id = live.api.submit(submitted_event())["case_id"]
    live.wait_for_state(case_id, "grid_handling")
    live.api.act("xy01a1.leader", case_id, "resolve", summary="当面调解")
    live.api.act("xy01a1.leader", case_id, "report_back", message="已调解")
    live.wait_for_state(case_id, "closed", timeout=CLIMB)
    last = live.steps(case_id)[-1]
    assert (last["kind"], last["actor"], last["reason"]) == ("confirm", "system", "no evaluation within the time allowed")
