"""Two workers firing conflicting triggers on one case: the row lock and the version let one win."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import text

from schemas.events import ACTION_REQUESTED, CaseActionRequestedEvent
from tests.integration.support import Live, submitted_event, wait_until
from workers.publish import publish_event
from workflow.base.db import unit_of_work
from workflow.cases.intake import store_event

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

ROUNDS = 10
# What each trigger brings, and where it takes a case held by the grid.
TRIGGERS: dict[str, tuple[dict[str, str], str]] = {
    "escalate": ({"reason": "网格无法协调"}, "branch_handling"),
    "resolve": ({"summary": "网格当面调解成功"}, "resolved"),
}


def _action(case_id: int, trigger: str, version: int) -> CaseActionRequestedEvent:
    params, _ = TRIGGERS[trigger]
    return CaseActionRequestedEvent.model_validate({
        "specversion": "1.0", "id": f"race-{uuid.uuid4()}", "source": "/tests/integration/race",
        "type": ACTION_REQUESTED,
        "data": {"case_id": case_id, "trigger": trigger, "actor": "xy01a1.leader",
                 "expected_version": version, **params},
    })


def _waiting_for_a_case_lock(live: Live) -> int:
    # PostgreSQL keeps only the first 1 kB of a query's text: the case's long SELECT ... FOR UPDATE
    # is known by its start; a plain read of cases never waits for a lock.
    return int(live.scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock' AND query LIKE 'SELECT cases.id%'"))


def _handled(live: Live, inbox_ids: list[int]) -> Callable[[], list[dict[str, Any]] | None]:
    """Return a check that gives the inbox rows once none of them is pending any more."""

    def check() -> list[dict[str, Any]] | None:
        rows = live.rows("SELECT id, status, error FROM inbox WHERE id = ANY(:ids) ORDER BY id", ids=inbox_ids)
        return rows if all(r["status"] != "pending" for r in rows) else None

    return check


def test_conflicting_triggers_from_two_workers_one_wins(live: Live) -> None:
    case_ids = [live.api.submit(submitted_event())["case_id"] for _ in range(ROUNDS)]
    for case_id in case_ids:
        live.wait_for_state(case_id, "grid_handling")
    live.wait_idle()

    winners: Counter[str] = Counter()
    for round_no, case_id in enumerate(case_ids):
        version = live.scalar("SELECT version FROM cases WHERE id = :id", id=case_id)
        assert version == 2
        # Both asked for at the same version of the case, so at most one may apply.
        order = ["escalate", "resolve"] if round_no % 2 == 0 else ["resolve", "escalate"]
        # Hold the case's row lock while the worker's two processes each take one of the two
        # actions, until both wait for that lock; then let go: they race for the case at the
        # same instant. A task takes every pending row it can lock, so the second action is
        # stored only once the first is held by a process waiting for the case.
        inbox_ids: dict[str, int] = {}
        with live.engine.connect() as conn, conn.begin():
            conn.execute(text("SELECT id FROM cases WHERE id = :id FOR UPDATE"), {"id": case_id})
            for waiting, trigger in enumerate(order, start=1):
                with unit_of_work(live.engine) as session:
                    inbox_ids[trigger] = store_event(session, _action(case_id, trigger, version)).inbox_id
                assert publish_event(inbox_ids[trigger], force=True)
                wait_until(lambda n=waiting: _waiting_for_a_case_lock(live) == n,  # type: ignore[misc]
                           f"{waiting} worker process(es) to wait for the case's row lock")

        handled = wait_until(_handled(live, list(inbox_ids.values())),
                             f"both actions on case {case_id} to be handled")
        rows = {r["id"]: r for r in handled}
        done = [t for t, i in inbox_ids.items() if rows[i]["status"] == "done"]
        refused = [t for t, i in inbox_ids.items() if rows[i]["status"] == "refused"]
        assert len(done) == 1 and len(refused) == 1, rows
        winner, loser = done[0], refused[0]
        winners[winner] += 1
        error = rows[inbox_ids[loser]]["error"]
        assert "version" in error and f"not {version}" in error, error
        assert rows[inbox_ids[winner]]["error"] is None

        steps = live.steps(case_id)
        assert [s["seq"] for s in steps] == [1, 2, 3]
        assert [s["kind"] for s in steps] == ["submitted", "dispatch", winner]
        assert steps[-1]["inbox_id"] == inbox_ids[winner] and steps[-1]["actor"] == "xy01a1.leader"
        assert live.state(case_id) == TRIGGERS[winner][1]
        assert live.scalar("SELECT version FROM cases WHERE id = :id", id=case_id) == 3

    live.wait_idle()
    assert sum(winners.values()) == ROUNDS
    # No step anywhere got a seq twice, and every escalation, only those, notified the branch.
    assert live.scalar("SELECT count(*) FROM case_events") == 3 * ROUNDS
    assert live.rows("SELECT case_id, seq FROM case_events GROUP BY case_id, seq HAVING count(*) > 1") == []
    escalated = live.rows("SELECT o.status FROM outbox o JOIN case_events e ON e.id = o.case_event_id "
                          "WHERE e.kind = 'escalate'")
    assert len(escalated) == winners["escalate"]
