"""Staff members and their API tokens."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from schemas.vocabulary import Role
from workflow.base import wallclock
from workflow.base.errors import N_, InvalidInput, NotFound
from workflow.org.models import ApiToken, User
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


def create_token(session: Session, user_name: str) -> str:
    """Create an API token for a user and return it; only its hash is stored.

    Raises:
        NotFound: there is no such user.
    """
    user = user_by_name(session, user_name)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_hash=_hash(token), created_at=wallclock.now()))
    session.flush()
    return token


def user_for_token(session: Session, token: str) -> User | None:
    """Return the member a bearer token belongs to, or None."""
    row = session.scalars(select(ApiToken).where(ApiToken.token_hash == _hash(token))).one_or_none()
    return row.user if row and row.user.active else None


def set_password(user: User, password: str) -> None:
    """Store a new password for a member, hashed with Argon2id.

    Raises:
        InvalidInput: the password is shorter than ``MIN_PASSWORD_LENGTH``.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(N_("a password needs at least %(length)s characters"), field="password",
                           length=MIN_PASSWORD_LENGTH)
    user.password_hash = _HASHER.hash(password)


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
