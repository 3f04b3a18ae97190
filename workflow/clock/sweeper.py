"""The sweeper's half in the clock: claiming due deadline rows, settling them, and heartbeats of periodic jobs."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from workflow.base import db
from workflow.clock.models import Deadline, Heartbeat

logger = logging.getLogger(__name__)

LATE_AFTER = timedelta(minutes=5)  # an armed deadline this far past due means the sweeper is not running


@dataclass(frozen=True)
class Due:
    """A claimed deadline: its row, what it is for, and the clock token it was armed under."""

    id: int
    subject: str
    subject_id: int
    kind: str
    token: int


def claim_due(session: Session, now: datetime, limit: int) -> list[Due]:
    """Lock up to ``limit`` armed deadlines due by ``now``, oldest first (rows another sweeper holds are skipped)."""
    query = (
        select(Deadline.id, Deadline.subject, Deadline.subject_id, Deadline.kind, Deadline.token)
        .where(Deadline.status == "armed", Deadline.due_at <= now)
        .order_by(Deadline.due_at)
        .limit(limit)
    )
    if not db.is_sqlite(session.get_bind().engine):
        query = query.with_for_update(of=Deadline, skip_locked=True)
    return [Due(*row) for row in session.execute(query)]


def settle(session: Session, ids: list[int], status: str, now: datetime) -> None:
    """Mark claimed deadlines ``fired`` or ``stale``."""
    if ids:
        session.execute(update(Deadline).where(Deadline.id.in_(ids)).values(status=status, fired_at=now))


def beat(session: Session, name: str, now: datetime, detail: dict[str, Any]) -> None:
    """Record that a periodic job ran, and what it found."""
    row = session.get(Heartbeat, name)
    if row is None:
        session.add(Heartbeat(name=name, at=now, detail=detail))
    else:
        row.at, row.detail = now, detail


def audit(session: Session, now: datetime) -> dict[str, Any]:
    """Count armed deadlines more than LATE_AFTER overdue (a stopped beat shows here) and record it."""
    cutoff = now - LATE_AFTER
    late, oldest = session.execute(
        select(func.count(), func.min(Deadline.due_at)).where(Deadline.status == "armed", Deadline.due_at < cutoff)
    ).one()
    detail = {"late": int(late), "oldest_due": oldest.isoformat() if oldest else None}
    beat(session, "audit", now, detail)
    if late:
        logger.error("%d deadlines are more than %s overdue; is beat running?", late, LATE_AFTER)
    return detail
