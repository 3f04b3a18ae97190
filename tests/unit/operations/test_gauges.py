"""The stored state as ``/metrics`` counts it: cases by state and level, pending rows and their age, overdue deadlines."""

from __future__ import annotations

from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import Engine

from tests.conftest import Published
from tests.unit.helpers import event, post_event, run_worker
from workflow.base import wallclock
from workflow.base.db import unit_of_work
from workflow.clock.sweeper import beat
from workflow.operations.gauges import snapshot


def test_pending_rows_age_and_then_clear_as_the_worker_handles_them(
        client: FlaskClient, engine: Engine, published: Published) -> None:
    for _ in range(3):
        assert post_event(client, event()).status_code == 202
    later = wallclock.now() + timedelta(seconds=30)
    with unit_of_work(engine) as session:
        waiting = snapshot(session, later)
    assert waiting.inbox.count == 3 and 29 < waiting.inbox.oldest_seconds < 60
    assert waiting.cases == {("collected", "grid"): 3}

    run_worker(engine, published.events)
    with unit_of_work(engine) as session:
        handled = snapshot(session, wallclock.now())
    assert handled.inbox.count == 0 and handled.inbox.oldest_seconds == 0
    assert handled.outbox.count == 0 and handled.cases == {("grid_handling", "grid"): 3}
    assert handled.deadlines_overdue == 0 and handled.oldest_overdue_seconds == 0


def test_overdue_deadlines_and_the_sweepers_lag(client: FlaskClient, engine: Engine, published: Published) -> None:
    post_event(client, event())
    run_worker(engine, published.events)
    now = wallclock.now()
    with unit_of_work(engine) as session:
        beat(session, "sweeper", now - timedelta(minutes=3), {"fired": 0, "stale": 0})
    with unit_of_work(engine) as session:
        # Thirty days on, every deadline armed at dispatch (first contact, warning, resolve) is past due.
        late = snapshot(session, now + timedelta(days=30))
    assert late.deadlines_overdue == 3 and late.oldest_overdue_seconds > 0
    assert late.heartbeat_age["sweeper"] >= timedelta(days=30, minutes=3).total_seconds()
