"""The administrators' audit log: one append-only, hash-chained row per administrative act."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from workflow.base.db import Base, UTCDateTime


class AdminAuditEntry(Base):
    """Who did what in administration, when, to what; chained to the entry before it."""

    __tablename__ = "admin_audit"
    __table_args__ = (Index("ix_admin_audit_actor_at", "actor", "at"),
                      Index("ix_admin_audit_action_at", "action", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    # The place in the one chain of the log: unique, so two writers cannot both append entry n.
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(64))  # a member's login name, or "cli" for the command line
    actor_unit: Mapped[str | None] = mapped_column(String(64))  # the member's unit code
    action: Mapped[str] = mapped_column(String(60))  # "member.role", "token.revoke", "reveal.party", ...
    target: Mapped[str] = mapped_column(String(200))  # what it was done to: "member xy01a1.leader", "case 12"
    # What changed, as names and values that say nothing private: personal data is never copied here.
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64))
