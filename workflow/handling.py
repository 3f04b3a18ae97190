"""Handling one inbox event: once in effect, however often its task runs."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from schemas.events import ACTION_REQUESTED, SUBMITTED, CaseActionRequested
from schemas.vocabulary import Severity
from workflow import clock, db
from workflow.errors import DomainError
from workflow.models import InboxEvent, User
from workflow.steps import ActorContext, apply_trigger, load_case_for_update
from workflow.users import staff_actor

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """What handling an inbox event did: ``done``, ``refused`` (with why) or ``skipped`` (handled before)."""

    status: str
    case_id: int | None = None
    error: str | None = None
    notice_ids: tuple[int, ...] = ()


def handle_inbox_event(session: Session, inbox_id: int) -> Outcome:
    """Handle inbox row ``inbox_id`` in the caller's transaction, unless it was handled already."""
    query = select(InboxEvent).where(InboxEvent.id == inbox_id)
    if not db.is_sqlite(session.get_bind().engine):
        # SKIP LOCKED: a second copy of the task leaves while the first holds the row.
        query = query.with_for_update(skip_locked=True)
    row = session.scalars(query).one_or_none()
    if row is None or row.status != "pending":
        return Outcome("skipped", row.case_id if row else None)
    row.attempts += 1
    try:
        with session.begin_nested():
            case_id, notice_ids = _dispatch(session, row)
    except DomainError as exc:
        # A refusal is an answer, not a failure: retrying would be refused again.
        row.status, row.error, row.handled_at = "refused", exc.message, clock.now()
        logger.info("inbox %s refused: %s", inbox_id, exc.message, extra={"inbox_id": inbox_id})
        return Outcome("refused", row.case_id, exc.message)
    row.status, row.handled_at, row.case_id = "done", clock.now(), case_id
    return Outcome("done", case_id, notice_ids=tuple(notice_ids))


def _dispatch(session: Session, row: InboxEvent) -> tuple[int, list[int]]:
    if row.type == SUBMITTED:
        assert row.case_id is not None, "a submitted event is stored with its case"
        case = load_case_for_update(session, row.case_id)
        trigger = "emergency" if case.severity == Severity.P0 else "dispatch"
        applied = apply_trigger(session, case, trigger, ActorContext.system(), inbox_id=row.id)
        return case.id, applied.notice_ids
    if row.type == ACTION_REQUESTED:
        try:
            action = CaseActionRequested.model_validate(row.data)
        except ValidationError as exc:
            raise DomainError(f"stored action is malformed: {exc.errors()[0]['msg']}") from exc
        case = load_case_for_update(session, action.case_id)
        actor = _actor(session, action.actor)
        params = action.model_dump(include={"reason", "summary", "message"}, exclude_none=True)
        applied = apply_trigger(session, case, action.trigger, actor, params,
                                expected_version=action.expected_version, inbox_id=row.id)
        return case.id, applied.notice_ids
    raise DomainError(f"no handler for event type '{row.type}'")


def _actor(session: Session, name: str) -> ActorContext:
    if name == "system":
        return ActorContext.system()
    user = session.scalars(select(User).where(User.name == name)).one_or_none()
    if user is None:
        raise DomainError(f"no user named '{name}'")
    return staff_actor(user)
