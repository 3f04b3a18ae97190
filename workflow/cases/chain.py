"""The case timeline as a hash chain: every ``case_events`` row is chained to the case's row before it.

Whoever appends a step (``steps``, ``intake``, the mediation's steps, any later machine kind)
only adds a ``CaseEvent``: a ``before_flush`` hook on every session computes ``prev_hash`` and
``row_hash`` in the same transaction, from the case's last stored step. Writers lock the case
(or, on SQLite, hold the write lock) before appending, so the last step cannot change under
them. Intake on PostgreSQL inserts its first steps in SQL and computes the same hash there
(``first_step_hash_sql``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, event, func, select
from sqlalchemy.orm import Session, UOWTransaction

from workflow.audit.chain import GENESIS, PROBLEMS, Break, Walker, canonical, link
from workflow.audit.log import verify_log
from workflow.cases.models import Case, CaseEvent
from workflow.clock.sweeper import beat

logger = logging.getLogger(__name__)

# The content of a step that its hash covers, in a fixed order; ``case_id`` first (see intake).
CHAINED = ("case_id", "seq", "kind", "actor", "actor_unit_id", "from_state", "to_state", "from_level", "to_level",
           "reason", "public", "at", "inbox_id")


def step_values(row: Any) -> list[object]:
    """Return the chained content of a step (an ORM row or a result row), in ``CHAINED`` order."""
    return [getattr(row, name) for name in CHAINED]


def first_step_tail(values: dict[str, Any]) -> str:
    """Return the canonical text of a first step after ``[<case_id>,``, for intake's SQL to complete.

    ``canonical([case_id, *rest, GENESIS])`` is ``"[" + str(case_id) + "," + tail``, so the
    statement that learns the case id computes the same hash with ``sha256('[' || id || ',' || tail)``.
    """
    return canonical([*[values.get(name) for name in CHAINED[1:]], GENESIS])[1:]


# The SQL of a first step's hash (PostgreSQL 11+), given the new case's id ``c.id`` and the tail ``i.chain_tail``.
FIRST_STEP_HASH_SQL = "encode(sha256(convert_to('[' || c.id || ',' || i.chain_tail, 'UTF8')), 'hex')"


@event.listens_for(Session, "before_flush")
def _chain_new_steps(session: Session, _flush: UOWTransaction, _instances: object) -> None:
    """Chain every step about to be inserted to its case's last stored step (or the step before it here)."""
    new = [obj for obj in session.new if isinstance(obj, CaseEvent)]
    if not new:
        return
    for obj in new:
        if obj.case_id is None and obj.case is not None:
            obj.case_id = obj.case.id
        if obj.case_id is None:
            raise RuntimeError("a timeline step must be appended to a stored case (flush the case first)")
    case_ids = sorted({obj.case_id for obj in new})
    with session.no_autoflush:
        heads = _heads(session, case_ids)
    for obj in sorted(new, key=lambda o: (o.case_id, o.seq)):
        prev = heads.get(obj.case_id) or GENESIS
        obj.prev_hash = prev
        obj.row_hash = link(step_values(obj), prev)
        heads[obj.case_id] = obj.row_hash


def _heads(session: Session, case_ids: list[int]) -> dict[int, str | None]:
    """Return the hash of each case's last stored step."""
    last = (select(CaseEvent.case_id, func.max(CaseEvent.seq).label("seq"))
            .where(CaseEvent.case_id.in_(case_ids)).group_by(CaseEvent.case_id).subquery())
    rows = session.execute(select(CaseEvent.case_id, CaseEvent.row_hash)
                           .join(last, and_(CaseEvent.case_id == last.c.case_id, CaseEvent.seq == last.c.seq)))
    return {int(case_id): row_hash for case_id, row_hash in rows}


@dataclass
class Verified:
    """What a walk of the timelines found: cases and steps checked, and each broken case's first break."""

    cases: int = 0
    steps: int = 0
    broken: list[Break] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """Return the result as JSON (the CLI's ``--json``, the heartbeat's detail)."""
        return {"cases": self.cases, "steps": self.steps, "broken": len(self.broken),
                "first_breaks": [b.as_json() for b in self.broken[:20]]}


def _walk(session: Session, case_id: int | None, batch: int) -> Iterator[tuple[int, Any]]:
    query = select(CaseEvent.case_id, CaseEvent.prev_hash, CaseEvent.row_hash,
                   *[getattr(CaseEvent, name) for name in CHAINED if name != "case_id"])
    if case_id is not None:
        query = query.where(CaseEvent.case_id == case_id)
    # Streamed in the unique (case_id, seq) index's order: memory stays flat however long the history.
    result = session.execute(query.order_by(CaseEvent.case_id, CaseEvent.seq).execution_options(yield_per=batch))
    for row in result:
        yield int(row.case_id), row


def verify_timelines(session: Session, case_id: int | None = None, *, batch: int = 5000) -> Verified:
    """Recompute every case's chain (or one case's) and name the first broken link of each."""
    versions_query = select(Case.id, Case.version)
    if case_id is not None:
        versions_query = versions_query.where(Case.id == case_id)
    versions = {int(i): int(v) for i, v in session.execute(versions_query)}
    found = Verified()
    seen: set[int] = set()

    def close(cid: int | None, walker: Walker | None) -> None:
        if cid is None or walker is None:
            return
        # A case's version is the seq of its last step: a shorter chain lost its end.
        walker.end(versions.get(cid))
        seen.add(cid)
        found.cases += 1
        found.steps += walker.rows
        if walker.broken is not None:
            found.broken.append(walker.broken)

    current: int | None = None
    walker: Walker | None = None
    for cid, row in _walk(session, case_id, batch):
        if cid != current:
            close(current, walker)
            walker, current = Walker(f"case {cid}"), cid
        assert walker is not None
        walker.step(int(row.seq), step_values(row), row.prev_hash, row.row_hash)
    close(current, walker)
    # A case with no step at all has lost its whole timeline.
    for cid in sorted(set(versions) - seen):
        found.cases += 1
        found.broken.append(Break(f"case {cid}", None, "tail", PROBLEMS["tail"]))
    found.broken.sort(key=lambda b: int(b.chain.split()[-1]))
    return found


def check_chains(session: Session, now: datetime) -> dict[str, Any]:
    """Verify every timeline and the admin log, and record what was found as the ``chains`` heartbeat."""
    started = time.monotonic()
    timelines = verify_timelines(session)
    entries, log_break = verify_log(session)
    detail = {**timelines.as_json(), "admin_log": {"entries": entries,
                                                   "broken": log_break.as_json() if log_break else None},
              "seconds": round(time.monotonic() - started, 3)}
    beat(session, "chains", now, detail)
    if timelines.broken or log_break:
        logger.error("hash chains broken: %d case timelines%s; run `gridcase audit verify`", len(timelines.broken),
                     " and the admin log" if log_break else "")
    return detail
