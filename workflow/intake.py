"""Accepting an event: one transaction that stores it in the inbox, once per (source, id)."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from schemas.events import CaseSubmittedEvent, CloudEvent
from schemas.vocabulary import Level, PartyRole, State
from workflow import clock
from workflow.categories import default_severity
from workflow.errors import EventConflict, InvalidInput
from workflow.models import Case, CaseEvent, CaseParty, InboxEvent, Unit
from workflow.tracking import new_tracking_code

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Accepted:
    """The answer to an accepted event; the same event sent again gets the same one."""

    inbox_id: int
    case_id: int | None
    tracking_code: str | None
    duplicate: bool


def digest(event: CloudEvent) -> str:
    """Return a fingerprint of an event's type and data, to spot an id reused for other content."""
    body = {"type": event.type, "data": event.model_dump(mode="json").get("data")}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _existing(session: Session, event: CloudEvent, fingerprint: str) -> Accepted | None:
    row = session.scalars(
        select(InboxEvent).where(InboxEvent.source == event.source, InboxEvent.event_id == event.id)
    ).one_or_none()
    if row is None:
        return None
    if row.digest != fingerprint:
        raise EventConflict(
            f"event id '{event.id}' from '{event.source}' was already used for different content",
            field="id",
        )
    code = session.scalar(select(Case.tracking_code).where(Case.id == row.case_id)) if row.case_id else None
    return Accepted(row.id, row.case_id, code, duplicate=True)


def store_event(session: Session, event: CloudEvent, case_id: int | None = None) -> Accepted:
    """Write ``event`` to the inbox, or return the answer it got the first time."""
    fingerprint = digest(event)
    seen = _existing(session, event, fingerprint)
    if seen:
        return seen
    row = InboxEvent(
        source=event.source, event_id=event.id, type=event.type,
        data=event.model_dump(mode="json")["data"], digest=fingerprint,
        received_at=clock.now(), status="pending", case_id=case_id,
    )
    try:
        # A savepoint: if another request stored the same event a moment ago, only this
        # insert is undone and the first one's answer is returned.
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        seen = _existing(session, event, fingerprint)
        if seen is None:
            raise
        return seen
    return Accepted(row.id, case_id, None, duplicate=False)


def submit_case(session: Session, event: CaseSubmittedEvent) -> Accepted:
    """Accept a submitted complaint: the case (collected), its parties, its first step and the inbox row.

    Raises:
        InvalidInput: the grid does not exist or is not a grid.
        EventConflict: the event id was used before for different content.
    """
    fingerprint = digest(event)
    seen = _existing(session, event, fingerprint)
    if seen:
        return seen
    data = event.data
    grid = session.scalars(select(Unit).where(Unit.code == data.grid)).one_or_none()
    if grid is None:
        raise InvalidInput(f"no unit with code '{data.grid}'", field="data.grid")
    if grid.level != Level.GRID:
        raise InvalidInput(f"unit '{data.grid}' is a {grid.level}, not a grid", field="data.grid")
    now = clock.now()
    severity = data.severity or default_severity(data.category)
    case = Case(
        tracking_code=new_tracking_code(), state=State.COLLECTED.value, level=Level.GRID.value,
        grid_unit_id=grid.id, holding_unit_id=grid.id, category=data.category.value,
        severity=severity.value, channel=data.channel.value, description=data.description,
        occurred_at=data.occurred_at, submitted_at=now, state_entered_at=now, updated_at=now,
        reopen_count=0, supervised=False,
    )
    if data.reporter:
        case.parties.append(CaseParty(role=PartyRole.REPORTER.value, name=data.reporter.name,
                                      phone=data.reporter.phone))
    for party in data.parties:
        case.parties.append(CaseParty(role=party.role.value, name=party.name, phone=party.phone))
    session.add(case)
    session.flush()
    accepted = store_event(session, event, case_id=case.id)
    if accepted.duplicate:
        # Lost the race to a concurrent copy of this event: drop this case with the savepoint's peer.
        session.delete(case)
        session.flush()
        return accepted
    session.add(CaseEvent(
        case_id=case.id, seq=case.version, kind="submitted", actor=event.source,
        from_state=None, to_state=case.state, from_level=None, to_level=case.level,
        reason=None, public=True, at=now,
    ))
    logger.info("case %s accepted from %s/%s", case.id, event.source, event.id,
                extra={"case_id": case.id, "event_id": event.id})
    return Accepted(accepted.inbox_id, case.id, case.tracking_code, duplicate=False)

