"""Overdue cases: due deadlines become inbox events, and what a due deadline does to its case when handled."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, insert, select
from sqlalchemy.orm import Session

from schemas.events import DEADLINE_DUE, CaseDeadlineDue
from workflow.cases.deadlines import EVALUATION, FIRST_CONTACT, RESOLVE, SUPERVISION, WARN
from workflow.cases.models import Case, CaseEvent, InboxEvent, OutboxMessage
from workflow.cases.steps import ActorContext, apply_trigger
from workflow.clock.sweeper import beat, claim_due, settle

logger = logging.getLogger(__name__)

CLOCK_SOURCE = "gridcase/clock"


@dataclass(frozen=True)
class Swept:
    """What one sweep did."""

    fired: int
    stale: int
    inbox_ids: list[int]


def sweep(session: Session, now: datetime, limit: int = 1000) -> Swept:
    """Claim up to ``limit`` due deadlines; each still current becomes a ``deadline_due`` inbox event."""
    rows = claim_due(session, now, limit)
    case_ids = sorted({r.case_id for r in rows})
    tokens = {case_id: token for case_id, token in
              session.execute(select(Case.id, Case.clock_token).where(Case.id.in_(case_ids)))}
    current = [r for r in rows if r.token == tokens.get(r.case_id)]
    stale = [r.id for r in rows if r.token != tokens.get(r.case_id)]
    settle(session, stale, "stale", now)
    settle(session, [r.id for r in current], "fired", now)
    inbox_ids: list[int] = []
    if current:
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
