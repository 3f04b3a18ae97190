"""Deadline policies as stored when a clock starts: a row per policy content, read once per process."""

from __future__ import annotations

import functools
import json

from sqlalchemy import event, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from workflow.base import db, wallclock
from workflow.base.errors import InvalidInput
from workflow.clock.models import Policy as PolicyRow
from workflow.clock.policy import Policy, parse_policy


@functools.lru_cache(maxsize=64)
def _policy_from_row(row_id: int, digest: str, source: str, body_json: str) -> Policy:
    return parse_policy(json.loads(body_json), source)


_recorded: dict[tuple[str, str], int] = {}


def record_policy(session: Session, policy: Policy) -> int:
    """Return the id of the stored copy of ``policy``, storing it the first time.

    Two processes may store the same policy at once (two workers' first cases on a new
    database): the second insert then finds the first's row instead of failing its caller's
    transaction. The id is remembered only once the transaction commits, since a row
    inserted by one that rolls back is gone.
    """
    key = (str(session.get_bind().engine.url), policy.digest)
    if key in _recorded:
        return _recorded[key]
    # No autoflush: the case being stepped must be written once, by the caller's flush,
    # or its version (and so the step's number) would move twice.
    with session.no_autoflush:
        row_id = _stored_id(session, policy)
        if row_id is None:
            values = {"digest": policy.digest, "source": policy.source, "body": policy.as_json(),
                      "created_at": wallclock.now()}
            # ON CONFLICT DO NOTHING waits for a concurrent insert of the same digest to end,
            # then inserts nothing; the look-up after it sees the committed row.
            dialect_insert = sqlite_insert if db.is_sqlite(session.get_bind().engine) else pg_insert
            row_id = session.scalar(dialect_insert(PolicyRow).values(**values)
                                    .on_conflict_do_nothing(index_elements=[PolicyRow.digest])
                                    .returning(PolicyRow.id))
            if row_id is None:
                row_id = _stored_id(session, policy)
    if row_id is None:  # only under snapshot isolation, which gridcase does not use: READ COMMITTED sees the row
        raise RuntimeError(f"policy {policy.digest} from {policy.source} was stored by another transaction "
                           "that this one cannot see")
    session.info.setdefault(_PENDING, {})[key] = row_id
    return row_id


_PENDING = "gridcase.policies_pending"  # ids this session's transaction looked up or stored, not yet committed


@event.listens_for(Session, "after_commit")
def _remember_committed(session: Session) -> None:
    _recorded.update(session.info.pop(_PENDING, {}))


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    session.info.pop(_PENDING, None)


def _stored_id(session: Session, policy: Policy) -> int | None:
    return session.scalar(select(PolicyRow.id).where(PolicyRow.digest == policy.digest))


# Stored policies never change (a row is named by the digest of its content), so each process
# reads a row once: the case page and every step of a case would otherwise read it again.
_by_row: dict[tuple[str, int], Policy] = {}


def stored_policy(session: Session, policy_id: int, owner: str) -> Policy:
    """Return the stored policy ``policy_id``; ``owner`` names who recorded it, for the error if it is missing."""
    key = (str(session.get_bind().engine.url), policy_id)
    if key in _by_row:
        return _by_row[key]
    with session.no_autoflush:
        row = session.get(PolicyRow, policy_id)
    if row is None:
        raise InvalidInput(f"{owner} names policy {policy_id}, which is missing")
    _by_row[key] = _policy_from_row(row.id, row.digest, row.source, json.dumps(row.body, sort_keys=True))
    return _by_row[key]
