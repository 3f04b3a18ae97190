"""``GET /healthz``: the database answers, the sweeper runs, no deadline is left behind."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from web.session import db_session
from web.supervisor import STATE_ENV, read_state
from workflow.base import wallclock
from workflow.clock.models import Deadline, Heartbeat
from workflow.clock.sweeper import LATE_AFTER

bp = Blueprint("health", __name__)

# Beat sweeps every few seconds; a sweeper silent for this long has stopped.
SWEEPER_SILENT_AFTER = timedelta(minutes=2)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """Answer 200 when all is well, 503 with what is wrong otherwise."""
    now = wallclock.now()
    body: dict[str, Any] = {"database": "ok", "problems": []}
    try:
        with db_session() as session:
            beats = {b.name: b for b in session.scalars(select(Heartbeat))}
            late, oldest = session.execute(select(func.count(), func.min(Deadline.due_at)).where(
                Deadline.status == "armed", Deadline.due_at < now - LATE_AFTER)).one()
    except SQLAlchemyError as exc:
        return jsonify({"database": f"unavailable: {exc.__class__.__name__}", "problems": ["database"]}), 503
    sweeper = beats.get("sweeper")
    body["sweeper"] = {"last_run": sweeper.at.isoformat() if sweeper else None,
                       "last_result": sweeper.detail if sweeper else None}
    body["late_deadlines"] = {"count": int(late), "oldest_due": oldest.isoformat() if oldest else None,
                              "late_after_seconds": LATE_AFTER.total_seconds()}
    audit = beats.get("audit")
    body["audit"] = {"last_run": audit.at.isoformat() if audit else None, "found": audit.detail if audit else None}
    chains = beats.get("chains")
    found = chains.detail if chains else None
    body["chains"] = {"last_run": chains.at.isoformat() if chains else None, "found": found}
    if found and (found.get("broken") or (found.get("admin_log") or {}).get("broken")):
        body["problems"].append(f"hash chains broken: {found.get('broken', 0)} case timelines"
                                + (" and the admin log" if (found.get("admin_log") or {}).get("broken") else "")
                                + "; run `gridcase audit verify`")
    if sweeper is None or now - sweeper.at > SWEEPER_SILENT_AFTER:
        body["problems"].append("the deadline sweeper has not run recently: is beat running?")
    if late:
        body["problems"].append(f"{late} deadlines are more than {LATE_AFTER} overdue")
    supervisor = read_state(os.environ.get(STATE_ENV))
    if supervisor is not None:
        # Under `gridcase up`: how often each process was started again (informative, not a problem).
        body["supervisor"] = {"restarts": supervisor.get("restarts"), "children": supervisor.get("children")}
    body["status"] = "ok" if not body["problems"] else "degraded"
    return jsonify(body), 200 if not body["problems"] else 503
