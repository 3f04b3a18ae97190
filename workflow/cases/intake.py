"""Accepting an event: one transaction that stores it in the inbox, once per (source, id)."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine, select, text, tuple_
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from schemas.events import SUBMITTED, CaseSubmittedEvent, CloudEvent
from schemas.vocabulary import Level, PartyRole, State
from workflow.audit.chain import GENESIS
from workflow.base import db, wallclock
from workflow.base.db import unit_of_work
from workflow.base.errors import N_, DomainError, EventConflict, InvalidInput
from workflow.base.vault import key_ring
from workflow.cases.categories import default_severity
from workflow.cases.chain import FIRST_STEP_HASH_SQL, first_step_tail
from workflow.cases.models import Case, CaseEvent, CaseParty, InboxEvent
from workflow.cases.tracking import new_tracking_code
from workflow.org.tree import cached_unit

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
    return _digest(event.type, event.model_dump(mode="json").get("data"))


def _digest(type_: str, data: Any) -> str:
    body = {"type": type_, "data": data}
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


def case_of_event(session: Session, source: str, event_id: str) -> int | None:
    """Return the case an event made, or None if no event with this (source, id) was stored."""
    return session.scalar(
        select(InboxEvent.case_id).where(InboxEvent.source == source, InboxEvent.event_id == event_id))


def _inbox_row(event: CloudEvent, case: Case | None = None) -> InboxEvent:
    data = event.model_dump(mode="json")["data"]
    return InboxEvent(source=event.source, event_id=event.id, type=event.type, data=data,
                      digest=digest(event), received_at=wallclock.now(), status="pending", case=case)


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
    return _store(session, [_prepare(session, event)])[0]


@dataclass(frozen=True)
class _Prepared:
    """A checked submission and the values of its rows, ready to insert."""

    event: CaseSubmittedEvent
    data: dict[str, Any]  # the event's data as JSON, dumped once for the inbox row and the digest
    digest: str
    fields: dict[str, Any]
    parties: list[tuple[str, str, str | None]]
    first_step: dict[str, Any]


def _prepare(session: Session, event: CaseSubmittedEvent) -> _Prepared:
    """Check the grid and compute the case's values; nothing is written.

    Raises:
        InvalidInput: the grid does not exist or is not a grid.
    """
    data = event.data
    if data.grid is None:
        # The web layer turns an address or a household into a grid (workflow/registry); intake needs the grid.
        raise InvalidInput(N_("the place could not be turned into a grid code"), field="data.grid")
    grid = cached_unit(session, data.grid)
    if grid is None:
        raise InvalidInput(N_("no unit with code '%(code)s'"), field="data.grid", code=data.grid)
    if grid.level != Level.GRID:
        raise InvalidInput(N_("unit '%(code)s' is a %(level)s, not a grid"), field="data.grid", code=data.grid,
                           level=grid.level.value)
    fields = {
        "tracking_code": new_tracking_code(), "state": State.COLLECTED.value, "level": Level.GRID.value,
        "grid_unit_id": grid.id, "holding_unit_id": grid.id, "category": data.category.value,
        "severity": (data.severity or default_severity(data.category)).value, "channel": data.channel.value,
        "description": data.description, "occurred_at": data.occurred_at, "reopen_count": 0,
        "supervised": False, "version": 1,
    }
    now = wallclock.now()
    fields.update(submitted_at=now, state_entered_at=now, updated_at=now)
    parties = [(PartyRole.REPORTER.value, data.reporter.name, data.reporter.phone)] if data.reporter else []
    parties += [(p.role.value, p.name, p.phone) for p in data.parties]
    first_step = {"seq": 1, "kind": "submitted", "actor": event.source, "from_state": None,
                  "to_state": State.COLLECTED.value, "from_level": None, "to_level": Level.GRID.value,
                  "public": True, "at": now}
    dumped = event.model_dump(mode="json")["data"]
    return _Prepared(event, dumped, _digest(event.type, dumped), fields, parties, first_step)


def _store(session: Session, prepared: list[_Prepared]) -> list[Accepted]:
    """Insert the prepared submissions (one statement on PostgreSQL); return their answers in order."""
    if not prepared:
        return []
    if db.is_sqlite(session.get_bind().engine):
        ids = [_insert_with_orm(session, p) for p in prepared]
        session.flush()
        # The first steps once the cases have ids: their hashes cover the case id (workflow/cases/chain.py).
        session.add_all([CaseEvent(case_id=case.id, **p.first_step)
                         for p, (case, _) in zip(prepared, ids, strict=True)])
        session.flush()
        stored = [(case.id, row.id) for case, row in ids]
    else:
        stored = _insert_in_one_statement(session, prepared)
    answers = []
    for p, (case_id, inbox_id) in zip(prepared, stored, strict=True):
        logger.info("case %s accepted from %s/%s", case_id, p.event.source, p.event.id,
                    extra={"case_id": case_id, "event_id": p.event.id})
        answers.append(Accepted(inbox_id, case_id, str(p.fields["tracking_code"]), duplicate=False))
    return answers


def _insert_with_orm(session: Session, p: _Prepared) -> tuple[Case, InboxEvent]:
    case = Case(**p.fields)
    case.parties.extend(CaseParty(role=role, name=name, phone=phone) for role, name, phone in p.parties)
    row = InboxEvent(source=p.event.source, event_id=p.event.id, type=p.event.type, data=p.data,
                     digest=p.digest, received_at=wallclock.now(), status="pending", case=case)
    session.add_all([case, row])
    return case, row


# PostgreSQL runs data-modifying CTEs as one statement: the cases, their parties, their first
# steps and the inbox rows of a whole batch cost one round trip instead of four per event,
# and the text is parsed once per process (intake is the hot path). The rows travel as one
# JSON array; each new case is matched back to its input row by its tracking code, which
# is unique. Columns and values are those of the ORM path above. The inbox rows go in in
# (source, id) order: two batches sharing events then take their unique keys in the same
# order, so one waits for the other instead of both deadlocking.
_INSERT_SUBMISSIONS = text("""
WITH input AS (
    SELECT * FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(
        ord int, tracking_code text, state text, level text, grid_unit_id int, holding_unit_id int,
        category text, severity text, channel text, description text, occurred_at timestamptz,
        submitted_at timestamptz, state_entered_at timestamptz, updated_at timestamptz, reopen_count int,
        supervised boolean, version int, parties jsonb, seq int, kind text, actor text, from_state text,
        to_state text, from_level text, to_level text, public boolean, at timestamptz, chain_tail text, source text,
        event_id text, type text, data text, digest text, received_at timestamptz)
), new_case AS (
    INSERT INTO cases (tracking_code, state, level, grid_unit_id, holding_unit_id, category, severity,
                       channel, description, occurred_at, submitted_at, state_entered_at, updated_at,
                       reopen_count, supervised, version)
    SELECT tracking_code, state, level, grid_unit_id, holding_unit_id, category, severity, channel,
           description, occurred_at, submitted_at, state_entered_at, updated_at, reopen_count, supervised,
           version
    FROM input ORDER BY ord
    RETURNING id, tracking_code
), new_parties AS (
    INSERT INTO case_parties (case_id, role, name, phone)
    SELECT c.id, p.party ->> 'role', p.party ->> 'name', p.party ->> 'phone'
    FROM input i JOIN new_case c USING (tracking_code),
         jsonb_array_elements(i.parties) WITH ORDINALITY AS p(party, n)
    ORDER BY i.ord, p.n
), new_step AS (
    INSERT INTO case_events (case_id, seq, kind, actor, from_state, to_state, from_level, to_level,
                             public, at, prev_hash, row_hash)
    SELECT c.id, i.seq, i.kind, i.actor, i.from_state, i.to_state, i.from_level, i.to_level, i.public, i.at,
           :genesis, """ + FIRST_STEP_HASH_SQL + """
    FROM input i JOIN new_case c USING (tracking_code)
), new_inbox AS (
    INSERT INTO inbox (source, event_id, type, data, digest, received_at, status, attempts, case_id)
    SELECT i.source, i.event_id, i.type, i.data, i.digest, i.received_at, 'pending', 0, c.id
    FROM input i JOIN new_case c USING (tracking_code) ORDER BY i.source, i.event_id
    RETURNING id, case_id
)
SELECT c.tracking_code, n.case_id, n.id FROM new_inbox n JOIN new_case c ON c.id = n.case_id
""")


def _insert_in_one_statement(session: Session, prepared: list[_Prepared]) -> list[tuple[int, int]]:
    received = wallclock.now()
    # This statement bypasses the column types: it encrypts what they would (workflow/base/vault.py).
    ring = key_ring()
    rows = [{
        **p.fields, **p.first_step, "ord": ord_,
        "parties": [{"role": r, "name": ring.encrypt(n, "case_parties.name"),
                     "phone": None if ph is None else ring.encrypt(ph, "case_parties.phone")}
                    for r, n, ph in p.parties],
        "source": p.event.source, "event_id": p.event.id, "type": p.event.type,
        "data": ring.encrypt(json.dumps(p.data, ensure_ascii=False), "inbox.data"), "digest": p.digest,
        "received_at": received,
        "chain_tail": first_step_tail(p.first_step),
    } for ord_, p in enumerate(prepared)]
    payload = json.dumps(rows, ensure_ascii=False, default=_json_default)
    stored = session.execute(_INSERT_SUBMISSIONS, {"rows": payload, "genesis": GENESIS})
    by_code = {str(code): (int(case_id), int(inbox_id)) for code, case_id, inbox_id in stored}
    return [by_code[str(p.fields["tracking_code"])] for p in prepared]


def _json_default(value: object) -> str:
    # Timestamps are aware (UTC); PostgreSQL reads ISO 8601 with its offset into timestamptz.
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def accept_submission(engine: Engine, event: CaseSubmittedEvent) -> Accepted:
    """Accept a submitted complaint in its own transaction; a repeat gets the first answer.

    The common case (a new event) costs no look-up first: the unique (source, id) on the
    inbox decides, and only a repeat pays for a second, reading transaction.

    Raises:
        InvalidInput: the grid does not exist or is not a grid.
        EventConflict: the event id was used before for different content.
    """
    try:
        try:
            with unit_of_work(engine) as session:
                return submit_case(session, event)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            # The pooled connection was dead (the database restarted since it was last used; the
            # web app does not ping before use): the pool has dropped it, so one more try gets a new
            # one. Even if the lost commit went through, the retry is safe: it meets the stored
            # event and gets its answer. A database still away raises again, a 503 to the client.
            with unit_of_work(engine) as session:
                return submit_case(session, event)
    except IntegrityError:
        with unit_of_work(engine) as session:
            seen = answer_again(session, event)
        if seen is None:
            raise
        return seen


# --------------------------------------------------------------------------------------
# Batches: several submissions in one request (CloudEvents batched content mode)
# --------------------------------------------------------------------------------------

# The largest event, as in single mode (the app's body cap): each event of a batch is held to
# it too, measured as compact JSON.
MAX_EVENT_BYTES = 64 * 1024
# Events one batch may carry. A batch is one transaction that locks nothing but its own
# new rows; the cap keeps that transaction, the answer and a refusal's list short.
MAX_BATCH_EVENTS = 100
# Tries of a batch that meets a stored copy of one of its events (unique violation). Each
# loss means another request stored an overlapping event first, so a batch loses only as
# often as overlapping batches race it; five covers every realistic retry storm.
_BATCH_TRIES = 5

FieldProblem = tuple[str | None, str]


class BatchTooLarge(DomainError):
    """A batch holds more events than ``MAX_BATCH_EVENTS``."""

    code = "batch_too_large"


class OversizedEvents(BatchTooLarge):
    """One or more events of a batch are larger than ``MAX_EVENT_BYTES``: each named ``[index]``."""

    code = "event_too_large"

    def __init__(self, problems: list[FieldProblem]) -> None:
        """Keep every problem; the message names the first."""
        field, problem = problems[0]
        super().__init__(f"{field}: {problem}", field=field)
        self.problems = problems


class InvalidBatch(InvalidInput):
    """One or more events of a batch are invalid: every problem, named ``[index].field``."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        """Keep every problem; the message and ``field`` name the first."""
        field, problem = problems[0]
        super().__init__(f"{field}: {problem}" if field else problem, field=field)
        self.problems = problems


def _problems(exc: ValidationError, prefix: str) -> list[FieldProblem]:
    return [(prefix + "".join(f".{part}" for part in err["loc"]), err["msg"]) for err in exc.errors()]


def parse_batch(items: Sequence[Any]) -> list[CaseSubmittedEvent]:
    """Validate every event of a batch (the decoded JSON array) before anything is stored.

    Raises:
        BatchTooLarge: more than ``MAX_BATCH_EVENTS`` events.
        OversizedEvents: events larger than ``MAX_EVENT_BYTES``, each named ``[index]``.
        InvalidBatch: the batch is empty, or one or more events are not valid
            ``org.gridcase.case.submitted`` CloudEvents; each problem names ``[index].field``.
    """
    if len(items) > MAX_BATCH_EVENTS:
        raise BatchTooLarge(f"a batch holds at most {MAX_BATCH_EVENTS} events; this one holds {len(items)}: "
                            "split it into several requests")
    if not items:
        raise InvalidBatch([(None, "a batch must hold at least one event")])
    oversized: list[FieldProblem] = [
        (f"[{index}]", f"an event may be at most {MAX_EVENT_BYTES // 1024} KiB; this one is {size // 1024} KiB")
        for index, size in enumerate(_sizes(items)) if size > MAX_EVENT_BYTES]
    if oversized:
        raise OversizedEvents(oversized)
    events: list[CaseSubmittedEvent] = []
    problems: list[FieldProblem] = []
    for index, raw in enumerate(items):
        at = f"[{index}]"
        if not isinstance(raw, dict):
            problems.append((at, "each event of a batch must be a JSON object (a structured CloudEvent)"))
            continue
        if raw.get("type") != SUBMITTED:
            # As in single mode: the envelope's own faults are named before the type's.
            try:
                CloudEvent.model_validate(raw)
            except ValidationError as exc:
                problems.extend(_problems(exc, at))
                continue
            problems.append((f"{at}.type", f"event type '{raw.get('type')}' is not accepted here; send {SUBMITTED}"))
            continue
        try:
            events.append(CaseSubmittedEvent.model_validate(raw))
        except ValidationError as exc:
            problems.extend(_problems(exc, at))
    if problems:
        raise InvalidBatch(problems)
    return events


def _sizes(items: Sequence[Any]) -> list[int]:
    return [len(json.dumps(raw, ensure_ascii=False, separators=(",", ":")).encode()) for raw in items]


def accept_batch(engine: Engine, events: Sequence[CaseSubmittedEvent]) -> list[Accepted]:
    """Accept a batch of submissions in one transaction: all of them, or none if one is refused.

    Each event gets the answer it would get alone, in order: a new case, or for a repeat
    of an event already stored (same source and id), or of one earlier in the same batch,
    the first copy's answer marked ``duplicate``. Like ``accept_submission`` the common
    case pays for no look-up: only a batch that meets a stored copy (the unique (source,
    id) on the inbox refuses it) is tried again, looking its events up first.

    Raises:
        InvalidBatch: grids that do not exist or are not grids, each named ``[index].data.grid``.
        EventConflict: an event id (from the same source) used for different content, in
            the batch or before it; the field names ``[index].id``.
    """
    look_up = False
    for attempt in range(1, _BATCH_TRIES + 1):
        try:
            with unit_of_work(engine) as session:
                return _accept_batch(session, events, look_up=look_up)
        except IntegrityError:
            # A copy of one of these events was stored first (before this batch, or by a
            # concurrent request that has committed by now): look them up and try again.
            if attempt == _BATCH_TRIES:
                raise
            look_up = True
    raise AssertionError("unreachable")  # pragma: no cover


def _accept_batch(session: Session, events: Sequence[CaseSubmittedEvent], *, look_up: bool) -> list[Accepted]:
    prepared: list[_Prepared] = []
    problems: list[FieldProblem] = []
    for index, event in enumerate(events):
        try:
            prepared.append(_prepare(session, event))
        except InvalidInput as exc:
            problems.append((f"[{index}].{exc.field}" if exc.field else f"[{index}]", exc.message))
    if problems:
        raise InvalidBatch(problems)
    first_copy: dict[tuple[str, str], int] = {}
    for index, p in enumerate(prepared):
        first = first_copy.setdefault((p.event.source, p.event.id), index)
        if prepared[first].digest != p.digest:
            raise EventConflict(f"event id '{p.event.id}' from '{p.event.source}' is used in this batch at "
                                f"[{first}] and [{index}] for different content", field=f"[{index}].id")
    stored = _stored_answers(session, prepared, first_copy) if look_up else {}
    # Insert each (source, id) once: its first copy, unless it was stored before.
    new = [p for index, p in enumerate(prepared)
           if first_copy[(p.event.source, p.event.id)] == index and (p.event.source, p.event.id) not in stored]
    inserted = dict(zip(((p.event.source, p.event.id) for p in new), _store(session, new), strict=True))
    answers = []
    for index, p in enumerate(prepared):
        key = (p.event.source, p.event.id)
        if key in stored:
            answers.append(stored[key])
        elif first_copy[key] == index:
            answers.append(inserted[key])
        else:
            original = inserted[key]
            answers.append(Accepted(original.inbox_id, original.case_id, original.tracking_code, duplicate=True))
    return answers


def _stored_answers(session: Session, prepared: list[_Prepared],
                    first_copy: dict[tuple[str, str], int]) -> dict[tuple[str, str], Accepted]:
    """Return the first answers of the batch's events already in the inbox (one query).

    Raises:
        EventConflict: a stored event has the same source and id but other content.
    """
    keys = list(first_copy)
    rows = session.execute(
        select(InboxEvent.source, InboxEvent.event_id, InboxEvent.id, InboxEvent.case_id, InboxEvent.digest,
               Case.tracking_code)
        .outerjoin(Case, Case.id == InboxEvent.case_id)
        .where(tuple_(InboxEvent.source, InboxEvent.event_id).in_(keys))
    ).all()
    answers: dict[tuple[str, str], Accepted] = {}
    for source, event_id, inbox_id, case_id, stored_digest, code in rows:
        index = first_copy[(source, event_id)]
        if stored_digest != prepared[index].digest:
            raise EventConflict(f"event id '{event_id}' from '{source}' was already used for different content",
                                field=f"[{index}].id")
        answers[(source, event_id)] = Accepted(inbox_id, case_id, code, duplicate=True)
    return answers
