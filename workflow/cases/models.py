"""The cases' tables: cases, their parties, timeline, evaluations and attachments; the inbox and outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflow.base.db import Base, UTCDateTime
from workflow.base.vault import Encrypted, EncryptedJSON
from workflow.org.models import Unit

# The enumerations of schemas.vocabulary are stored as plain strings: a new state or
# category is then a code change, not a migration that rewrites a native enum type.


class Case(Base):
    """A complaint or dispute moving through the state machine."""

    __tablename__ = "cases"
    __table_args__ = (Index("ix_cases_open_deadline", "state", "deadline_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tracking_code: Mapped[str] = mapped_column(String(32), unique=True)
    state: Mapped[str] = mapped_column(String(40))
    level: Mapped[str] = mapped_column(String(20))
    grid_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    holding_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    category: Mapped[str] = mapped_column(String(8))
    severity: Mapped[str] = mapped_column(String(4))
    channel: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(Text)
    occurred_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state_entered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_level: Mapped[str | None] = mapped_column(String(20))
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    supervised: Mapped[bool] = mapped_column(Boolean, default=False)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer)
    # The clock (issue: deadlines): the policy recorded when the clock first started, a
    # token that every re-arming bumps (a deadline row of an older token is stale), when
    # the holding level signed for the case, and a pause or a request awaiting approval.
    policy_id: Mapped[int | None] = mapped_column(ForeignKey("policies.id"))
    clock_token: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    supervised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_left: Mapped[float | None] = mapped_column(Float)
    request: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Filed with an integrator key (Open311 or CloudEvents): each of its steps also goes to
    # the outbox for that integrator's webhook (the integrators package sets it at filing).
    filed_by_integrator: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    # Each step sets version + 1 itself (a batch may step one case twice before a flush);
    # SQLAlchemy adds "AND version = :loaded" to the UPDATE: the optimistic check that
    # stands in for a row lock on SQLite.
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}

    grid_unit: Mapped[Unit] = relationship(foreign_keys=[grid_unit_id], lazy="joined")
    holding_unit: Mapped[Unit] = relationship(foreign_keys=[holding_unit_id], lazy="joined")
    parties: Mapped[list[CaseParty]] = relationship(
        back_populates="case", order_by="CaseParty.id", cascade="all, delete-orphan"
    )
    events: Mapped[list[CaseEvent]] = relationship(
        back_populates="case", order_by="CaseEvent.seq", cascade="all, delete-orphan"
    )


class CaseParty(Base):
    """A person in a case: the reporter or a party to the dispute."""

    __tablename__ = "case_parties"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    # Encrypted at rest (workflow/base/vault.py); the tracking check decrypts the one reporter's phone.
    name: Mapped[str] = mapped_column(Encrypted("case_parties.name"))
    phone: Mapped[str | None] = mapped_column(Encrypted("case_parties.phone"))

    case: Mapped[Case] = relationship(back_populates="parties")


class CaseEvent(Base):
    """One immutable step on a case's timeline."""

    __tablename__ = "case_events"
    # (case_id, seq) unique: two writers racing on one case cannot both append step n.
    __table_args__ = (UniqueConstraint("case_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(64))
    actor_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    from_state: Mapped[str | None] = mapped_column(String(40))
    to_state: Mapped[str] = mapped_column(String(40))
    from_level: Mapped[str | None] = mapped_column(String(20))
    to_level: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The inbox row that caused this step: unique, so an event handled twice cannot add it twice.
    inbox_id: Mapped[int | None] = mapped_column(ForeignKey("inbox.id"), unique=True)
    # The tamper-evident chain (workflow/cases/chain.py): the hash of the case's step before this
    # one, and this step's own hash over its content and that link; set when the step is written.
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    row_hash: Mapped[str | None] = mapped_column(String(64))

    case: Mapped[Case] = relationship(back_populates="events")
    # Loaded on access: the units of a timeline are those on the case's path, already in the session.
    actor_unit: Mapped[Unit | None] = relationship()


class Evaluation(Base):
    """A resident's answer after report back: resolved? satisfied?"""

    __tablename__ = "evaluations"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    resolved: Mapped[str] = mapped_column(String(10))
    satisfaction: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class Attachment(Base):
    """A photo taken with a case; the file lives in the data folder, never served without a login."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    file_name: Mapped[str] = mapped_column(String(100))  # the downscaled copy shown, without EXIF
    content_type: Mapped[str] = mapped_column(String(40))
    # The file as uploaded, kept only where GRIDCASE_PHOTO_KEEP_ORIGINAL says so.
    original_file_name: Mapped[str | None] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    uploaded_by: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class InboxEvent(Base):
    """An accepted event, stored before anything acts on it; unique per (source, id)."""

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("source", "event_id"),
        Index("ix_inbox_pending", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(500))
    event_id: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(100))
    # The event as received carries the reporter's name and phone: encrypted at rest.
    data: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON("inbox.data"))
    digest: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)

    case: Mapped[Case | None] = relationship()


class OutboxMessage(Base):
    """Something to do after a commit (a notice to a unit), delivered by the relay and a worker."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    topic: Mapped[str] = mapped_column(String(60))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    case_event_id: Mapped[int | None] = mapped_column(ForeignKey("case_events.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)

    case_event: Mapped[CaseEvent | None] = relationship()
