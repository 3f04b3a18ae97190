"""The clock's tasks on beat: sweep due deadlines into the inbox, and check none is left behind."""

from __future__ import annotations

import logging
import time

from workers.app import app
from workers.publish import publish_event
from workflow.base import wallclock
from workflow.base.db import unit_of_work
from workflow.cases.chain import check_chains
from workflow.cases.overdue import sweep
from workflow.clock.sweeper import audit

logger = logging.getLogger(__name__)

SWEEP_SECONDS = 30.0  # one run stops after this long; the next beat carries on


@app.task(name="gridcase.sweep_deadlines")
def sweep_deadlines() -> int:
    """Fire every due deadline, a batch per transaction, and publish their handling; return how many."""
    fired, deadline = 0, time.monotonic() + SWEEP_SECONDS
    while time.monotonic() < deadline:
        with unit_of_work() as session:
            swept = sweep(session, wallclock.now())
        if swept.inbox_ids:
            publish_event(swept.inbox_ids[0])
        fired += swept.fired
        if swept.fired + swept.stale == 0:
            break
    return fired


@app.task(name="gridcase.audit_deadlines")
def audit_deadlines() -> int:
    """Record how many armed deadlines are overdue by more than a few minutes (0 when all is well)."""
    with unit_of_work() as session:
        return int(audit(session, wallclock.now())["late"])


@app.task(name="gridcase.check_chains")
def check_chains_task() -> int:
    """Verify the timelines' and the admin log's hash chains; record the result; return the broken cases."""
    with unit_of_work() as session:
        return int(check_chains(session, wallclock.now())["broken"])
