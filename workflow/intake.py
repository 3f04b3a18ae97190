"""Accepting an event: one transaction that stores it in the inbox, once per (source, id)."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from schemas.events import CaseSubmittedEvent, CloudEvent
from schemas.vocabulary import Level, PartyRole, State
from workflow import clock, db
from workflow.categories import default_severity
from workflow.db import unit_of_work
from workflow.errors import EventConflict, InvalidInput
from workflow.models import Case, CaseEvent, CaseParty, InboxEvent
from workflow.org import cached_unit
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


def answer_again(session: Session, event: CloudEvent) -> Accepted | None:
    """Return the answer an event got when it was first stored, or None if it never was.

    Raises:
        EventConflict: the id was used before for different content.
    """
    row = session.scalars(
        select(InboxEvent).where(InboxEvent.source == event.source, InboxEvent.event_id == event.id)
    ).one_or_none()
    if row is None:
        return None
    if row.digest != digest(event):
        raise EventConflict(
            f"event id '{event.id}' from '{event.source}' was already used for different content",
            field="id",
        )
    code = session.scalar(select(Case.tracking_code).where(Case.id == row.case_id)) if row.case_id else None
    return Accepted(row.id, row.case_id, code, duplicate=True)


def _inbox_row(event: CloudEvent, case: Case | None = None) -> InboxEvent:
    data = event.model_dump(mode="json")["data"]
    return InboxEvent(source=event.source, event_id=event.id, type=event.type, data=data,
                      digest=digest(event), received_at=clock.now(), status="pending", case=case)


def store_event(session: Session, event: CloudEvent) -> Accepted:
    """Write an event with no case of its own (an action) to the inbox, or return its first answer."""
    seen = answer_again(session, event)
    if seen:
        return seen
    row = _inbox_row(event)
    session.add(row)
    session.flush()
    return Accepted(row.id, None, None, duplicate=False)


def submit_case(session: Session, event: CaseSubmittedEvent) -> Accepted:
    """Add the case (collected), its parties, its first step and its inbox row, in the caller's transaction.

    A second copy of the event fails the flush on the inbox's unique (source, id);
    ``accept_submission`` turns that into the first copy's answer.

    Raises:
        InvalidInput: the grid does not exist or is not a grid.
    """
    data = event.data
    grid = cached_unit(session, data.grid)
    if grid is None:
        raise InvalidInput(f"no unit with code '{data.grid}'", field="data.grid")
    if grid.level != Level.GRID:
        raise InvalidInput(f"unit '{data.grid}' is a {grid.level.value}, not a grid", field="data.grid")
    fields = {
        "tracking_code": new_tracking_code(), "state": State.COLLECTED.value, "level": Level.GRID.value,
        "grid_unit_id": grid.id, "holding_unit_id": grid.id, "category": data.category.value,
        "severity": (data.severity or default_severity(data.category)).value, "channel": data.channel.value,
        "description": data.description, "occurred_at": data.occurred_at, "reopen_count": 0,
        "supervised": False, "version": 1,
    }
    now = clock.now()
    fields.update(submitted_at=now, state_entered_at=now, updated_at=now)
    parties = [(PartyRole.REPORTER.value, data.reporter.name, data.reporter.phone)] if data.reporter else []
    parties += [(p.role.value, p.name, p.phone) for p in data.parties]
    first_step = {"seq": 1, "kind": "submitted", "actor": event.source, "from_state": None,
                  "to_state": State.COLLECTED.value, "from_level": None, "to_level": Level.GRID.value,
                  "public": True, "at": now}
    if db.is_sqlite(session.get_bind().engine):
        case_id, inbox_id = _insert_with_orm(session, event, fields, parties, first_step)
    else:
        case_id, inbox_id = _insert_in_one_statement(session, event, fields, parties, first_step)
    logger.info("case %s accepted from %s/%s", case_id, event.source, event.id,
                extra={"case_id": case_id, "event_id": event.id})
    return Accepted(inbox_id, case_id, str(fields["tracking_code"]), duplicate=False)


Row = dict[str, Any]


Parties = list[tuple[str, str, str | None]]


def _insert_with_orm(session: Session, event: CloudEvent, fields: Row, parties: Parties,
                     first_step: Row) -> tuple[int, int]:
    case = Case(**fields)
    case.parties.extend(CaseParty(role=role, name=name, phone=phone) for role, name, phone in parties)
    case.events.append(CaseEvent(**first_step))
    row = _inbox_row(event, case)
    session.add_all([case, row])
    session.flush()
    return case.id, row.id


# PostgreSQL runs data-modifying CTEs as one statement: the case, its parties, its first step
# and the inbox row cost one round trip instead of four, and the text is parsed once per
# process (intake is the hot path). Columns and values are those of the ORM path above.
_INSERT_SUBMISSION = text("""
WITH new_case AS (
    INSERT INTO cases (tracking_code, state, level, grid_unit_id, holding_unit_id, category, severity,
                       channel, description, occurred_at, submitted_at, state_entered_at, updated_at,
                       reopen_count, supervised, version)
    VALUES (:tracking_code, :state, :level, :grid_unit_id, :holding_unit_id, :category, :severity,
            :channel, :description, :occurred_at, :submitted_at, :state_entered_at, :updated_at,
            :reopen_count, :supervised, :version)
    RETURNING id
), new_parties AS (
    INSERT INTO case_parties (case_id, role, name, phone)
    SELECT new_case.id, p.role, p.name, p.phone
    FROM new_case, jsonb_to_recordset(CAST(:parties AS jsonb)) AS p(role text, name text, phone text)
), new_step AS (
    INSERT INTO case_events (case_id, seq, kind, actor, from_state, to_state, from_level, to_level,
                             public, at)
    SELECT new_case.id, :seq, :kind, :actor, :from_state, :to_state, :from_level, :to_level, :public, :at
    FROM new_case
), new_inbox AS (
    INSERT INTO inbox (source, event_id, type, data, digest, received_at, status, attempts, case_id)
    SELECT :source, :event_id, :type, CAST(:data AS json), :digest, :received_at, 'pending', 0, new_case.id
    FROM new_case
    RETURNING id, case_id
)
SELECT case_id, id FROM new_inbox
""")


def _insert_in_one_statement(session: Session, event: CloudEvent, fields: Row, parties: Parties,
                             first_step: Row) -> tuple[int, int]:
    inbox = _inbox_row(event)
    params = {
        **fields, **first_step,
        "parties": json.dumps([{"role": r, "name": n, "phone": p} for r, n, p in parties],
                              ensure_ascii=False),
        "source": inbox.source, "event_id": inbox.event_id, "type": inbox.type,
        "data": json.dumps(inbox.data, ensure_ascii=False), "digest": inbox.digest,
        "received_at": inbox.received_at,
    }
    case_id, inbox_id = session.execute(_INSERT_SUBMISSION, params).one()
    return int(case_id), int(inbox_id)


def accept_submission(engine: Engine, event: CaseSubmittedEvent) -> Accepted:
    """Accept a submitted complaint in its own transaction; a repeat gets the first answer.

    The common case (a new event) costs no look-up first: the unique (source, id) on the
    inbox decides, and only a repeat pays for a second, reading transaction.

    Raises:
        InvalidInput: the grid does not exist or is not a grid.
        EventConflict: the event id was used before for different content.
    """
    try:
        with unit_of_work(engine) as session:
            return submit_case(session, event)
    except IntegrityError:
        with unit_of_work(engine) as session:
            seen = answer_again(session, event)
        if seen is None:
            raise
        return seen
