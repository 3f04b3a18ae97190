"""The notices' tables: subscriptions and deliveries (one per notice and recipient)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflow.base.db import Base, UTCDateTime
from workflow.base.vault import Encrypted
from workflow.cases.models import OutboxMessage
from workflow.org.models import Unit


class Subscription(Base):
    """Who hears of which events of a unit (or its whole subtree), and on which channel."""

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    topics: Mapped[list[str]] = mapped_column(JSON)
    subtree: Mapped[bool] = mapped_column(Boolean, default=False)
    categories: Mapped[list[str] | None] = mapped_column(JSON)
    severities: Mapped[list[str] | None] = mapped_column(JSON)
    # "members" reaches each member of the unit on their own channels; any other channel
    # (wecom, dingtalk, webhook, email, sms) goes to ``target`` (a robot URL, an address).
    channel: Mapped[str] = mapped_column(String(20))
    target: Mapped[str | None] = mapped_column(String(500))
    secret: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(10))

    unit: Mapped[Unit] = relationship(lazy="joined")


class Delivery(Base):
    """One notice to one recipient on one channel, with every attempt kept; sent once at most."""

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("outbox_id", "recipient"),
                      Index("ix_deliveries_due", "status", "next_attempt_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    recipient: Mapped[str] = mapped_column(String(300))
    channel: Mapped[str] = mapped_column(String(20))
    # A resident's phone for an SMS: encrypted at rest.
    target: Mapped[str] = mapped_column(Encrypted("deliveries.target"))
    secret: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(10))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    outbox: Mapped[OutboxMessage] = relationship(lazy="joined")
