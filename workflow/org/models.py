"""The org tree's tables: units, staff members, their API tokens and their sessions on the pages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, String, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflow.base.db import Base, UTCDateTime


class Unit(Base):
    """A unit of the org tree: street, general branch, branch, grid or household."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(20))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    # Where it is on the ground (schemas.org.Area as JSON, WGS-84 degrees as written in the
    # org file): requests that arrive with coordinates are routed to the grid holding them.
    area: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    parent: Mapped[Unit | None] = relationship(remote_side=[id], lazy="joined", join_depth=5)


class User(Base):
    """A staff member: belongs to one unit, with one role there."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    role: Mapped[str] = mapped_column(String(40))
    phone: Mapped[str | None] = mapped_column(String(32))
    language: Mapped[str | None] = mapped_column(String(10))
    email: Mapped[str | None] = mapped_column(String(200))
    # Channels to reach the member, first choice first (e.g. ["email", "sms"]), and the
    # local hours when only P0 may wake them ("22:00-07:00").
    channels: Mapped[list[str] | None] = mapped_column(JSON)
    quiet_hours: Mapped[str | None] = mapped_column(String(20))
    # Argon2id hash (argon2-cffi); None until a password is set: such a member cannot log in.
    password_hash: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())

    unit: Mapped[Unit] = relationship(lazy="joined")


class ApiToken(Base):
    """A bearer token for the staff API; only its SHA-256 is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # None for tokens made before tokens expired: they count GRIDCASE_TOKEN_DAYS from created_at.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(lazy="joined")


class StaffSession(Base):
    """A member's login to the pages: the cookie carries a random key, the server only its SHA-256.

    A row, not a signed cookie alone, so that a session can be ended on the server: at
    logout, on a new password, when the member is deactivated, or by an administrator.
    """

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # logout, password, deactivated, administrator
    end_reason: Mapped[str | None] = mapped_column(String(20))

    user: Mapped[User] = relationship(lazy="joined")
