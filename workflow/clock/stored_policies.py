"""Deadline policies as stored when a clock starts: a row per policy content, read once per process."""

from __future__ import annotations

import functools
import json

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from workflow.base import wallclock
from workflow.base.errors import InvalidInput
from workflow.clock.models import Policy as PolicyRow
from workflow.clock.policy import Policy, parse_policy


@functools.lru_cache(maxsize=64)
def _policy_from_row(row_id: int, digest: str, source: str, body_json: str) -> Policy:
    return parse_policy(json.loads(body_json), source)


_recorded: dict[tuple[str, str], int] = {}


def record_policy(session: Session, policy: Policy) -> int:
    """Return the id of the stored copy of ``policy``, storing it the first time."""
    key = (str(session.get_bind().engine.url), policy.digest)
    if key in _recorded:
        return _recorded[key]
    # No autoflush: the case being stepped must be written once, by the caller's flush,
    # or its version (and so the step's number) would move twice.
    with session.no_autoflush:
        row_id = session.scalar(select(PolicyRow.id).where(PolicyRow.digest == policy.digest))
        if row_id is None:
            row_id = session.scalar(insert(PolicyRow).values(
                digest=policy.digest, source=policy.source, body=policy.as_json(), created_at=wallclock.now(),
            ).returning(PolicyRow.id))
    assert row_id is not None
    _recorded[key] = row_id
    return row_id


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
