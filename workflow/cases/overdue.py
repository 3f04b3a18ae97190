"""Overdue cases and subjects: due deadlines become inbox events, and what a due deadline does to its case.

The sweep claims the due deadlines of every machine kind (workflow/clock/kinds.py): a case's become
``org.gridcase.case.deadline_due`` events, any other kind's ``org.gridcase.deadline_due`` events that the
inbox handler hands to that kind. The sweep lives here because the inbox is the engine's table.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, insert, select
from sqlalchemy.orm import Session

from schemas.events import DEADLINE_DUE, SUBJECT_DEADLINE_DUE, CaseDeadlineDue, SubjectDeadlineDue
from workflow.cases.deadlines import EVALUATION, FIRST_CONTACT, RESOLVE, SUPERVISION, WARN
from workflow.cases.models import Case, CaseEvent, InboxEvent, OutboxMessage
from workflow.cases.steps import ActorContext, apply_trigger, load_case_for_update
from workflow.clock import kinds
from workflow.clock.kinds import DueDeadline
from workflow.clock.sweeper import Due, beat, claim_due, settle

logger = logging.getLogger(__name__)

CLOCK_SOURCE = "gridcase/clock"


@dataclass(frozen=True)
class Swept:
    """What one sweep did."""

    fired: int
    stale: int
    inbox_ids: list[int]


def sweep(session: Session, now: datetime, limit: int = 1000) -> Swept:
    """Claim up to ``limit`` due deadlines of every machine kind; each still current becomes an inbox event."""
    rows = claim_due(session, now, limit)
    by_subject: dict[str, list[Due]] = {}
    for r in rows:
        by_subject.setdefault(r.subject, []).append(r)
    current: list[Due] = []
    stale: list[int] = []
    for subject, due in by_subject.items():
        if subject not in kinds.names():
            # A process that never imported workflow.machines: leave these armed for a sweep that knows
            # the kind, rather than fail every other kind's deadlines with them.
            logger.error("%d due deadlines of machine kind '%s' left armed: the kind is not registered here",
                         len(due), subject)
            continue
        tokens = kinds.get(subject).tokens(session, sorted({r.subject_id for r in due}))
        for r in due:
            if r.token == tokens.get(r.subject_id):
                current.append(r)
            else:
                stale.append(r.id)
    settle(session, stale, "stale", now)
    settle(session, [r.id for r in current], "fired", now)
    inbox_ids: list[int] = []
    if current:
        events = [_event(r, now) for r in current]
        inbox_ids = list(session.scalars(insert(InboxEvent).returning(InboxEvent.id), events))
    beat(session, "sweeper", now, {"fired": len(current), "stale": len(stale)})
    if current:
        logger.info("sweeper fired %d deadlines (%d stale)", len(current), len(stale))
    return Swept(len(current), len(stale), inbox_ids)


def _event(r: Due, now: datetime) -> dict[str, object]:
    """The inbox row of a current deadline: a case's keeps its own event type, every other kind shares one."""
    if r.subject == "case":
        type_, case_id = DEADLINE_DUE, r.subject_id
        data = CaseDeadlineDue(case_id=r.subject_id, deadline_id=r.id, kind=r.kind,
                               token=r.token).model_dump()
    else:
        type_, case_id = SUBJECT_DEADLINE_DUE, None
        data = SubjectDeadlineDue(subject=r.subject, subject_id=r.subject_id, deadline_id=r.id, kind=r.kind,
                                  token=r.token).model_dump()
    return {
        "source": CLOCK_SOURCE, "event_id": f"deadline-{r.id}", "type": type_, "data": data,
        "digest": hashlib.sha256(repr(sorted(data.items())).encode()).hexdigest(),
        "received_at": now, "status": "pending", "attempts": 0, "case_id": case_id,
    }


class _CaseKind:
    """The case machine on the clock: tokens from ``cases.clock_token``, steps by ``fire_due``."""

    name = "case"

    def tokens(self, session: Session, subject_ids: list[int]) -> dict[int, int]:
        """Return the clock token of each case."""
        return {case_id: token for case_id, token in
                session.execute(select(Case.id, Case.clock_token).where(Case.id.in_(subject_ids)))}

    def fire_due(self, session: Session, due: DueDeadline, inbox_id: int) -> list[OutboxMessage]:
        """Lock the case and do what its deadline asks (the inbox batch handles cases itself; this is for others)."""
        case = load_case_for_update(session, due.subject_id)
        data = CaseDeadlineDue(case_id=case.id, deadline_id=due.deadline_id, kind=due.kind,
                               token=due.token)
        return fire_due(session, case, data, inbox_id)


CASE_KIND = _CaseKind()
# The case kind is always known where the sweep is; workflow/machines.py registers every kind.
kinds.register(CASE_KIND)


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
