"""Handling inbox events: each once in effect, however often its task runs; a batch per transaction."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from schemas.events import (
    ACTION_REQUESTED,
    DEADLINE_DUE,
    SUBJECT_DEADLINE_DUE,
    SUBMITTED,
    CaseActionRequested,
    CaseDeadlineDue,
    SubjectDeadlineDue,
)
from schemas.vocabulary import Severity
from workflow.base import db, wallclock
from workflow.base.errors import DomainError, NotFound
from workflow.base.metrics import EVENTS_HANDLED, INTAKE_TO_DISPATCH_SECONDS
from workflow.cases.models import Case, InboxEvent, OutboxMessage
from workflow.cases.overdue import fire_due
from workflow.cases.steps import ActorContext, apply_trigger, lock_cases, staff_actor
from workflow.clock import kinds
from workflow.clock.kinds import DueDeadline
from workflow.org.models import User

logger = logging.getLogger(__name__)

# How many pending events one transaction takes: under a backlog one commit then serves
# many events; with no backlog a batch holds what arrived since the last one. 25, not more:
# a burst (a batched request of 50 or more) is then split between two workers or more (see
# ``on_full``) instead of waiting in one transaction; the commit per 25 events costs little
# beside the events themselves (measured with bench/throughput.py --batch 50).
BATCH_SIZE = 25
# After this many failed attempts (crashes, not refusals) a row is set aside as failed.
MAX_ATTEMPTS = 5


@dataclass
class Outcome:
    """What one run did: the status of the event it was asked for, and the notices written."""

    status: str
    case_id: int | None = None
    error: str | None = None
    handled: int = 0
    notice_ids: list[int] = field(default_factory=list)
    full: bool = False  # the batch was full: more may be pending


def claim(session: Session, batch: int) -> list[InboxEvent]:
    """Lock up to ``batch`` pending rows, oldest first, skipping rows another worker holds."""
    query = select(InboxEvent).where(InboxEvent.status == "pending").order_by(InboxEvent.id).limit(batch)
    if not db.is_sqlite(session.get_bind().engine):
        query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query))


def handle_inbox_event(session: Session, inbox_id: int, batch: int = BATCH_SIZE,
                       on_full: Callable[[], object] | None = None) -> Outcome:
    """Handle inbox row ``inbox_id`` and whatever else is pending (a batch), in the caller's transaction.

    Every claimed row is handled: the task of another row may have come and gone while
    this batch held it, or may never have been published (a burst shares one task).
    ``on_full`` is called when the claim is full (more may be pending), before the rows
    are handled: a worker called in then takes the rows beyond this batch (SKIP LOCKED)
    while this one works, rather than after its commit.
    """
    rows = claim(session, batch) if batch > 1 else []
    if on_full is not None and batch > 1 and len(rows) >= batch:
        on_full()
    if not any(row.id == inbox_id for row in rows):
        rows.extend(claim_one(session, inbox_id))
    if not rows:
        row = session.get(InboxEvent, inbox_id)
        return Outcome("skipped" if row is not None else "missing", row.case_id if row else None)
    actions = {row.id: _action(row) for row in rows if row.type == ACTION_REQUESTED}
    case_ids = [row.case_id for row in rows if row.type in (SUBMITTED, DEADLINE_DUE) and row.case_id is not None]
    case_ids += [a.case_id for a in actions.values() if isinstance(a, CaseActionRequested)]
    cases = lock_cases(session, case_ids)
    users = _users(session, [a.actor for a in actions.values() if isinstance(a, CaseActionRequested)])
    now = wallclock.now()
    notices: list[OutboxMessage] = []
    for row in rows:
        row.attempts += 1
        try:
            case_id, applied = _handle(session, row, actions.get(row.id), cases, users)
        except DomainError as exc:
            # A refusal is an answer, not a failure: retrying would be refused again. Nothing
            # was changed before it was raised, so the rest of the batch goes on.
            row.status, row.error, row.handled_at = "refused", exc.message, now
            logger.info("inbox %s refused: %s", row.id, exc.message, extra={"inbox_id": row.id})
            continue
        notices.extend(applied)
        row.status, row.handled_at, row.case_id = "done", now, case_id
    session.flush()
    _count(rows, now)
    own = next((row for row in rows if row.id == inbox_id), None)
    return Outcome(own.status if own else "skipped", own.case_id if own else None, own.error if own else None,
                   handled=len(rows), notice_ids=[n.id for n in notices], full=len(rows) >= batch)


def claim_one(session: Session, inbox_id: int) -> list[InboxEvent]:
    """Lock one row if it is pending and nobody holds it (it may lie beyond a full batch)."""
    query = select(InboxEvent).where(InboxEvent.id == inbox_id, InboxEvent.status == "pending")
    if not db.is_sqlite(session.get_bind().engine):
        query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query))


def _action(row: InboxEvent) -> CaseActionRequested | DomainError:
    try:
        return CaseActionRequested.model_validate(row.data)
    except ValidationError as exc:
        return DomainError(f"stored action is malformed: {exc.errors()[0]['msg']}")


def _users(session: Session, names: list[str]) -> dict[str, User]:
    wanted = sorted(set(names) - {"system"})
    if not wanted:
        return {}
    return {u.name: u for u in session.scalars(select(User).where(User.name.in_(wanted)))}


def _handle(session: Session, row: InboxEvent, action: CaseActionRequested | DomainError | None,
            cases: dict[int, Case], users: dict[str, User]) -> tuple[int | None, list[OutboxMessage]]:
    if row.type == SUBMITTED:
        case = cases.get(row.case_id or -1)
        if case is None:
            raise NotFound(f"submitted event {row.id} has no case")
        trigger = "emergency" if case.severity == Severity.P0 else "dispatch"
        return case.id, apply_trigger(session, case, trigger, ActorContext.system(), inbox_id=row.id).notices
    if row.type == DEADLINE_DUE:
        due = CaseDeadlineDue.model_validate(row.data)
        case = cases.get(due.case_id)
        if case is None:
            raise NotFound(f"no case with id {due.case_id}")
        return case.id, fire_due(session, case, due, row.id)
    if row.type == SUBJECT_DEADLINE_DUE:
        # Another machine kind's deadline: its kind locks its own row and takes the step.
        other = SubjectDeadlineDue.model_validate(row.data)
        kind = kinds.get(other.subject)
        written = kind.fire_due(session, DueDeadline(other.deadline_id, other.subject, other.subject_id, other.kind,
                                                     other.token), row.id)
        return row.case_id, written
    if isinstance(action, DomainError):
        raise action
    if action is None:
        raise DomainError(f"no handler for event type '{row.type}'")
    case = cases.get(action.case_id)
    if case is None:
        raise NotFound(f"no case with id {action.case_id}")
    if action.actor == "system":
        actor = ActorContext.system()
    elif action.actor in users:
        actor = staff_actor(users[action.actor])
    else:
        raise DomainError(f"no user named '{action.actor}'")
    params = action.model_dump(include={"reason", "summary", "message", "merge_into", "extend_by"}, exclude_none=True)
    applied = apply_trigger(session, case, action.trigger, actor, params,
                            expected_version=action.expected_version, inbox_id=row.id)
    return case.id, applied.notices


def pending_ids(session: Session, limit: int = BATCH_SIZE) -> list[int]:
    """Return the ids of the oldest pending rows (to handle them one by one after a batch failed)."""
    query = select(InboxEvent.id).where(InboxEvent.status == "pending").order_by(InboxEvent.id).limit(limit)
    return list(session.scalars(query))


def _count(rows: list[InboxEvent], now: datetime) -> None:
    # Counted before the commit: a batch that rolls back is counted again when it is retried,
    # which a rate over minutes hardly shows; counting after the commit would need the rows again.
    for row in rows:
        EVENTS_HANDLED.labels(row.status).inc()
        if row.status == "done" and row.type == SUBMITTED and row.received_at is not None:
            INTAKE_TO_DISPATCH_SECONDS.observe(max((now - row.received_at).total_seconds(), 0.0))


def record_failure(session: Session, inbox_id: int, error: str) -> str:
    """Count a failed attempt on a row in its own transaction; past MAX_ATTEMPTS it is set aside."""
    row = session.get(InboxEvent, inbox_id)
    if row is None or row.status != "pending":
        return row.status if row else "missing"
    row.attempts += 1
    row.error = error[:2000]
    if row.attempts >= MAX_ATTEMPTS:
        row.status, row.handled_at = "failed", wallclock.now()
        logger.error("inbox %s failed %d times, set aside: %s", inbox_id, row.attempts, error,
                     extra={"inbox_id": inbox_id})
    return row.status
