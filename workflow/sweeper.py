"""The sweeper: turns due deadlines into inbox events, and what a due deadline does to its case."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, insert, select, update
from sqlalchemy.orm import Session

from schemas.events import DEADLINE_DUE, CaseDeadlineDue
from workflow import db
from workflow.deadlines import EVALUATION, FIRST_CONTACT, RESOLVE, SUPERVISION, WARN
from workflow.models import Case, CaseEvent, Deadline, Heartbeat, InboxEvent, OutboxMessage
from workflow.steps import ActorContext, apply_trigger

logger = logging.getLogger(__name__)

CLOCK_SOURCE = "gridcase/clock"
LATE_AFTER = timedelta(minutes=5)  # an armed deadline this far past due means the sweeper is not running


@dataclass(frozen=True)
class Swept:
    """What one sweep did."""

    fired: int
    stale: int
    inbox_ids: list[int]


def sweep(session: Session, now: datetime, limit: int = 1000) -> Swept:
    """Claim up to ``limit`` due deadlines; each still current becomes a ``deadline_due`` inbox event."""
    query = (
        select(Deadline.id, Deadline.case_id, Deadline.kind, Deadline.token, Case.clock_token)
        .join(Case, Case.id == Deadline.case_id)
        .where(Deadline.status == "armed", Deadline.due_at <= now)
        .order_by(Deadline.due_at)
        .limit(limit)
    )
    if not db.is_sqlite(session.get_bind().engine):
        query = query.with_for_update(of=Deadline, skip_locked=True)
    rows = session.execute(query).all()
    current = [r for r in rows if r.token == r.clock_token]
    stale = [r.id for r in rows if r.token != r.clock_token]
    if stale:
        session.execute(update(Deadline).where(Deadline.id.in_(stale)).values(status="stale", fired_at=now))
    inbox_ids: list[int] = []
    if current:
        session.execute(update(Deadline).where(Deadline.id.in_([r.id for r in current]))
                        .values(status="fired", fired_at=now))
        events = []
        for r in current:
            data = CaseDeadlineDue(case_id=r.case_id, deadline_id=r.id, kind=r.kind, token=r.token).model_dump()
            events.append({
                "source": CLOCK_SOURCE, "event_id": f"deadline-{r.id}", "type": DEADLINE_DUE, "data": data,
                "digest": hashlib.sha256(repr(sorted(data.items())).encode()).hexdigest(),
                "received_at": now, "status": "pending", "attempts": 0, "case_id": r.case_id,
            })
        inbox_ids = list(session.scalars(insert(InboxEvent).returning(InboxEvent.id), events))
    beat(session, "sweeper", now, {"fired": len(current), "stale": len(stale)})
    if current:
        logger.info("sweeper fired %d deadlines (%d stale)", len(current), len(stale))
    return Swept(len(current), len(stale), inbox_ids)


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


def fire_due(session: Session, case: Case, due: CaseDeadlineDue, inbox_id: int) -> list[OutboxMessage]:
    """Do what a due deadline asks, unless the case's clock moved on since it was armed."""
    if case.clock_token != due.token:
        return []
    system = ActorContext.system()
    if due.kind == WARN:
        return apply_trigger(session, case, "warn", system, inbox_id=inbox_id).notices
    if due.kind == FIRST_CONTACT:
        if case.accepted_at is not None:
            return []
        return apply_trigger(session, case, "contact_overdue", system, inbox_id=inbox_id).notices
    if due.kind == RESOLVE:
        return apply_trigger(session, case, "deadline_passed", system, inbox_id=inbox_id).notices
    if due.kind == SUPERVISION:
        if _acted_on_since(session, case):
            return []
        return apply_trigger(session, case, "deadline_passed", system, inbox_id=inbox_id).notices
    if due.kind == EVALUATION:
        reason = "no evaluation within the time allowed"
        return apply_trigger(session, case, "confirm", system, {"reason": reason}, inbox_id=inbox_id).notices
    raise ValueError(f"unknown deadline kind {due.kind}")


def _acted_on_since(session: Session, case: Case) -> bool:
    if case.supervised_at is None:
        return False
    with session.no_autoflush:
        return bool(session.scalar(select(exists().where(
            CaseEvent.case_id == case.id, CaseEvent.at > case.supervised_at, CaseEvent.actor_unit_id.is_not(None),
            # Looking at a phone number is not acting on the case.
            CaseEvent.kind != "reveal",
        ))))
