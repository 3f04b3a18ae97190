"""The clock's tables: stored deadline policies, deadlines, and the heartbeats of periodic jobs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from workflow.base.db import Base, UTCDateTime


class Policy(Base):
    """A deadline policy as it was when some case's clock started; cases keep theirs."""

    __tablename__ = "policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    source: Mapped[str] = mapped_column(String(500))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Deadline(Base):
    """A moment when the clock must act on a subject (a case, a mediation...); stale once its token moved on."""

    __tablename__ = "deadlines"
    __table_args__ = (Index("ix_deadlines_due", "status", "due_at"),
                      Index("ix_deadlines_subject", "subject", "subject_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    # The machine kind (workflow/clock/kinds.py) and the row of that kind the deadline is for.
    subject: Mapped[str] = mapped_column(String(20), default="case", server_default="case")
    subject_id: Mapped[int] = mapped_column(Integer)
    # The case the subject belongs to, if any (a case's own deadlines, a mediation's); NULL for a decision.
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    level: Mapped[str] = mapped_column(String(20))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    token: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12), default="armed")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Heartbeat(Base):
    """When a periodic job last ran and what it found, for the health endpoint."""

    __tablename__ = "heartbeats"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
