"""Members' sessions on the pages, kept on the server so that they can be ended there.

Why a table rather than Flask-Login's session protection with a revocation list: the
cookie must carry nothing of the password hash, logout must end the one session it
belongs to, and idle and absolute lifetimes need a time of last use per session. A
revocation list would need its own table and expiry all the same, and still leave a
session alive until each of its cookies is listed. The cookie (signed by Flask) carries a
random key; the table keeps its SHA-256, so a copy of the database opens no session.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from workflow.base import wallclock
from workflow.org.models import StaffSession, User

# Writing the time of last use on every request would make each page view (and the queue's
# refresh every 15 s) a write; once a minute is precise enough for an idle timeout in minutes.
TOUCH_EVERY = timedelta(seconds=60)


def idle_timeout() -> timedelta:
    """Return how long a session may go unused before it ends (``GRIDCASE_SESSION_IDLE``, seconds)."""
    return timedelta(seconds=float(os.environ.get("GRIDCASE_SESSION_IDLE", "1800")))


def absolute_lifetime() -> timedelta:
    """Return how long a session lasts however busy it is (``GRIDCASE_SESSION_LIFETIME``, seconds)."""
    return timedelta(seconds=float(os.environ.get("GRIDCASE_SESSION_LIFETIME", "43200")))


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def start_session(session: Session, user: User) -> str:
    """Open a session for a member and return its key (for the cookie; only its hash is stored)."""
    now = wallclock.now()
    # Sessions past their absolute lifetime can never be used again: forget them.
    session.execute(delete(StaffSession).where(StaffSession.started_at < now - absolute_lifetime()))
    key = secrets.token_urlsafe(32)
    session.add(StaffSession(key_hash=_hash(key), user_id=user.id, started_at=now, last_seen_at=now))
    session.flush()
    return key


def session_user(session: Session, key: str) -> User | None:
    """Return the active member of a live session and note its use; None if it ended, idled or expired."""
    row = session.scalars(select(StaffSession).where(StaffSession.key_hash == _hash(key))).one_or_none()
    if row is None or row.ended_at is not None or not row.user.active:
        return None
    now = wallclock.now()
    if now - row.last_seen_at > idle_timeout():
        _end(row, now, "idle")
        return None
    if now - row.started_at > absolute_lifetime():
        _end(row, now, "expired")
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
    return row.user


def _end(row: StaffSession, now: datetime, reason: str) -> None:
    row.ended_at, row.end_reason = now, reason


def end_session(session: Session, key: str, reason: str = "logout") -> None:
    """End the session with this key (logout); an unknown or ended key is left alone."""
    session.execute(update(StaffSession).where(StaffSession.key_hash == _hash(key), StaffSession.ended_at.is_(None))
                    .values(ended_at=wallclock.now(), end_reason=reason))


def end_sessions(session: Session, user: User, reason: str) -> int:
    """End every live session of a member (new password, deactivated, an administrator's order); return how many."""
    result = session.execute(
        update(StaffSession).where(StaffSession.user_id == user.id, StaffSession.ended_at.is_(None))
        .values(ended_at=wallclock.now(), end_reason=reason))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def live_sessions(session: Session, user: User) -> int:
    """Return how many sessions of a member are open now (not ended, idled or expired)."""
    now = wallclock.now()
    rows = session.scalars(select(StaffSession).where(StaffSession.user_id == user.id,
                                                      StaffSession.ended_at.is_(None))).all()
    return sum(1 for r in rows if now - r.last_seen_at <= idle_timeout() and now - r.started_at <= absolute_lifetime())
