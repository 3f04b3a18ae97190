"""The decision tables: decisions, their timeline, meetings, objections and attachments."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflow.base.db import Base, UTCDateTime
from workflow.base.vault import Encrypted
from workflow.org.models import Unit


class Decision(Base):
    """A community matter decided by 四议两公开, held by the community (general branch) unit."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The community (general branch) whose matter it is; its public page lists it.
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    # The branch or general branch committee that proposed it (党支部提议).
    proposing_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    state: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(200))
    matter: Mapped[str] = mapped_column(Text)
    reasons: Mapped[str] = mapped_column(Text)
    options: Mapped[list[str]] = mapped_column(JSON, default=list)
    budget: Mapped[str | None] = mapped_column(String(200))
    # A GOV case this proposal came from (linked both ways: the case's timeline says so too).
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    proposed_by: Mapped[str] = mapped_column(String(64))
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # What is posted: the resolution (决议公开), then the result (结果公开); checked for numbers first.
    resolution_text: Mapped[str | None] = mapped_column(Text)
    result_text: Mapped[str | None] = mapped_column(Text)
    # The publication period running now, if any: "resolution" or "result".
    period_kind: Mapped[str | None] = mapped_column(String(12))
    period_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    period_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # How the period counts ("working" or "calendar"), so a pause keeps what was left the same way.
    period_counts: Mapped[str | None] = mapped_column(String(10))
    # An open objection pauses the period: when, and how much of it was left (seconds).
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_left: Mapped[float | None] = mapped_column(Float)
    # Bumped whenever the period is armed again, paused or ended: an older deadline row is stale.
    clock_token: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}

    unit: Mapped[Unit] = relationship(foreign_keys=[unit_id], lazy="joined")
    proposing_unit: Mapped[Unit] = relationship(foreign_keys=[proposing_unit_id], lazy="joined")
    events: Mapped[list[DecisionEvent]] = relationship(order_by="DecisionEvent.seq", cascade="all, delete-orphan")
    meetings: Mapped[list[DecisionMeeting]] = relationship(order_by="DecisionMeeting.id",
                                                           cascade="all, delete-orphan")
    objections: Mapped[list[DecisionObjection]] = relationship(order_by="DecisionObjection.id",
                                                               cascade="all, delete-orphan")
    attachments: Mapped[list[DecisionAttachment]] = relationship(order_by="DecisionAttachment.id",
                                                                 cascade="all, delete-orphan")


class DecisionEvent(Base):
    """One immutable step on a decision's timeline (the shape of ``case_events``)."""

    __tablename__ = "decision_events"
    __table_args__ = (UniqueConstraint("decision_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(64))
    actor_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    from_state: Mapped[str | None] = mapped_column(String(30))
    to_state: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str | None] = mapped_column(Text)
    # Shown on the community's public page (publication, answers to objections, the result).
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The inbox row that caused this step (a clock deadline): unique, so it cannot be added twice.
    inbox_id: Mapped[int | None] = mapped_column(ForeignKey("inbox.id"), unique=True)


class DecisionMeeting(Base):
    """A meeting on the decision: the joint meeting, the party members' or the residents' meeting."""

    __tablename__ = "decision_meetings"

    id: Mapped[int] = mapped_column(primary_key=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # joint, party, residents
    held_on: Mapped[date] = mapped_column(Date)
    place: Mapped[str] = mapped_column(String(200))
    entitled: Mapped[list[str]] = mapped_column(JSON)
    present: Mapped[list[str]] = mapped_column(JSON)
    votes_for: Mapped[int | None] = mapped_column(Integer)
    votes_against: Mapped[int | None] = mapped_column(Integer)
    votes_abstaining: Mapped[int | None] = mapped_column(Integer)
    minutes: Mapped[str] = mapped_column(Text)
    passed: Mapped[bool] = mapped_column(Boolean)
    # "register" when the entitled list came from the party-member register, "list" when typed.
    entitled_from: Mapped[str] = mapped_column(String(10))
    recorded_by: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class DecisionObjection(Base):
    """A resident's objection during a publication period; their name and phone are never published."""

    __tablename__ = "decision_objections"

    id: Mapped[int] = mapped_column(primary_key=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id", ondelete="CASCADE"), index=True)
    stage: Mapped[str] = mapped_column(String(12))  # resolution or result
    # Encrypted at rest like a case's parties (workflow/base/vault.py): only the committee calls back.
    name: Mapped[str] = mapped_column(Encrypted("decision_objections.name"))
    phone: Mapped[str] = mapped_column(Encrypted("decision_objections.phone"))
    text: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str | None] = mapped_column(String(64))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DecisionAttachment(Base):
    """A document of the decision (plan, budget, photo of the posted notice), kept in the data folder."""

    __tablename__ = "decision_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # plan, budget, notice_photo, other
    title: Mapped[str] = mapped_column(String(200))
    file_name: Mapped[str] = mapped_column(String(100))
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    uploaded_by: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
