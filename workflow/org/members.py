"""Staff members and their API tokens."""

from __future__ import annotations

import hashlib
import os
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session, object_session

from schemas.vocabulary import Role
from workflow.base import wallclock
from workflow.base.errors import N_, InvalidInput, NotFound
from workflow.org.models import ApiToken, User
from workflow.org.sessions import TOUCH_EVERY, end_sessions
from workflow.org.tree import unit_by_code

TOKEN_PREFIX = "gct_"
MIN_PASSWORD_LENGTH = 10
# Argon2id with the library's current defaults (RFC 9106 low-memory profile).
_HASHER = PasswordHasher()
# Verified against when the name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_user(session: Session, name: str, unit_code: str, role: str, display_name: str | None = None,
             phone: str | None = None) -> User:
    """Create a staff member in a unit with a role.

    Raises:
        InvalidInput: the role is unknown or the name is taken.
        NotFound: the unit does not exist.
    """
    try:
        role_value = Role(role).value
    except ValueError as exc:
        roles = ", ".join(r.value for r in Role)
        raise InvalidInput(N_("unknown role '%(role)s'; use one of: %(roles)s"), field="role", role=role,
                           roles=roles) from exc
    if session.scalars(select(User).where(User.name == name)).one_or_none() is not None:
        raise InvalidInput(N_("a user named '%(name)s' exists already"), field="name", name=name)
    unit = unit_by_code(session, unit_code)
    user = User(name=name, display_name=display_name or name, unit_id=unit.id, role=role_value,
                phone=phone)
    session.add(user)
    session.flush()
    return user


def token_days() -> int:
    """Return how many days a new API token lasts (``GRIDCASE_TOKEN_DAYS``, default 90)."""
    return int(os.environ.get("GRIDCASE_TOKEN_DAYS", "90"))


def create_token(session: Session, user_name: str, days: int | None = None) -> str:
    """Create an API token for a user, valid ``days`` (default ``token_days()``); only its hash is stored.

    Raises:
        NotFound: there is no such user.
        InvalidInput: ``days`` is not positive.
    """
    days = token_days() if days is None else days
    if days < 1:
        raise InvalidInput(N_("a token must last at least one day, not %(days)s"), field="days", days=days)
    user = user_by_name(session, user_name)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = wallclock.now()
    session.add(ApiToken(user_id=user.id, token_hash=_hash(token), created_at=now,
                         expires_at=now + timedelta(days=days)))
    session.flush()
    return token


def token_expiry(row: ApiToken) -> datetime:
    """Return when a token stops working (tokens made before expiry existed count from their creation)."""
    return row.expires_at or row.created_at + timedelta(days=token_days())


def user_for_token(session: Session, token: str) -> User | None:
    """Return the active member a live bearer token belongs to, or None; note when it was used."""
    row = session.scalars(select(ApiToken).where(ApiToken.token_hash == _hash(token))).one_or_none()
    now = wallclock.now()
    if row is None or row.revoked_at is not None or token_expiry(row) <= now or not row.user.active:
        return None
    # At most one write a minute per token: "last used" is for spotting forgotten tokens.
    if row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY:
        row.last_used_at = now
    return row.user


def list_tokens(session: Session, user_name: str | None = None) -> list[ApiToken]:
    """Return the API tokens (revoked and expired too), of one member or all, oldest first.

    Raises:
        NotFound: there is no member with that name.
    """
    query = select(ApiToken).order_by(ApiToken.id)
    if user_name is not None:
        query = query.where(ApiToken.user_id == user_by_name(session, user_name).id)
    return list(session.scalars(query))


def revoke_token(session: Session, token_id: int) -> ApiToken:
    """Revoke an API token now; it is kept, listed as revoked.

    Raises:
        NotFound: there is no token with this id.
    """
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(N_("no token with id %(token_id)s"), field="token", token_id=token_id)
    row.revoked_at = row.revoked_at or wallclock.now()
    return row


def set_password(user: User, password: str) -> None:
    """Store a new password for a member, hashed with Argon2id; every session of theirs ends.

    Raises:
        InvalidInput: the password is shorter than ``MIN_PASSWORD_LENGTH``.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(N_("a password needs at least %(length)s characters"), field="password",
                           length=MIN_PASSWORD_LENGTH)
    user.password_hash = _HASHER.hash(password)
    session = object_session(user)
    if session is not None and user.id is not None:
        end_sessions(session, user, "password")


def authenticate(session: Session, name: str, password: str) -> User | None:
    """Return the active member with this name and password, or None; rehash an outdated hash."""
    # Login names are case-insensitive: "XY01A1.Leader" on a phone keyboard is the same member.
    wanted = name.strip()
    user = session.scalars(select(User).where(func.lower(User.name) == wanted.lower())
                           .order_by((User.name == wanted).desc(), User.id).limit(1)).first()
    stored = user.password_hash if user is not None and user.active else None
    try:
        _HASHER.verify(stored or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or stored is None:
        return None
    if _HASHER.check_needs_rehash(stored):
        user.password_hash = _HASHER.hash(password)
    return user


def user_by_name(session: Session, name: str) -> User:
    """Return a member by login name.

    Raises:
        NotFound: there is no such member.
    """
    user = session.scalars(select(User).where(User.name == name)).one_or_none()
    if user is None:
        raise NotFound(N_("no user named '%(name)s'"), field="name", name=name)
    return user
