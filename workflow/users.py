"""Staff members and their API tokens."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from schemas.vocabulary import Role
from workflow import clock
from workflow.errors import InvalidInput, NotFound
from workflow.machine import Actor
from workflow.models import ApiToken, User
from workflow.org import unit_by_code
from workflow.steps import ActorContext

TOKEN_PREFIX = "gct_"


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
        raise InvalidInput(f"unknown role '{role}'; use one of: {roles}", field="role") from exc
    if session.scalars(select(User).where(User.name == name)).one_or_none() is not None:
        raise InvalidInput(f"a user named '{name}' exists already", field="name")
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
    user = session.scalars(select(User).where(User.name == user_name)).one_or_none()
    if user is None:
        raise NotFound(f"no user named '{user_name}'", field="name")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_hash=_hash(token), created_at=clock.now()))
    session.flush()
    return token


def user_for_token(session: Session, token: str) -> User | None:
    """Return the member a bearer token belongs to, or None."""
    row = session.scalars(select(ApiToken).where(ApiToken.token_hash == _hash(token))).one_or_none()
    return row.user if row else None


def staff_actor(user: User) -> ActorContext:
    """Return the actor context of a staff member."""
    return ActorContext(Actor.STAFF, user.name, user.unit_id, user.unit.code)
