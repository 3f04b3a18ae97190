"""The analysis tables: one row of derived facts per case, and the monthly report snapshots."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Index, Integer, LargeBinary, String, false
from sqlalchemy.orm import Mapped, mapped_column

from workflow.base.db import Base, UTCDateTime


class CaseFacts(Base):
    """What a case's timeline says happened, in the columns the figures filter on.

    Each dated column places the case in the period of one figure (see ``definitions``); each
    has an index with the grid, so a figure for a month reads that month's rows only.
    """

    __tablename__ = "analysis_case_facts"
    # On PostgreSQL the indexes read for a month's medians and breakdowns also hold the values
    # read (INCLUDE): an index-only scan instead of a heap fetch per case.
    __table_args__ = tuple(
        Index(f"ix_analysis_facts_{column}", column, "grid_unit_id", postgresql_include=list(include))
        for column, include in (
            ("received_at", ("channel", "category", "severity")), ("ended_at", ()), ("contact_due_at", ()),
            ("contact_at", ("contact_work_s",)), ("resolved_at", ("resolution_work_s",)), ("settled_at", ()),
            ("overdue_at", ()), ("supervised_at", ()), ("closed_at", ()), ("answered_at", ()), ("reopened_at", ()),
            ("mediation_ended_at", ()))
    )

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    grid_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    channel: Mapped[str] = mapped_column(String(40))
    category: Mapped[str] = mapped_column(String(8))
    severity: Mapped[str] = mapped_column(String(4))
    state: Mapped[str] = mapped_column(String(40))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    contact_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    contact_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    responded: Mapped[bool] = mapped_column(Boolean, default=False)
    contact_work_s: Mapped[float | None] = mapped_column(Float)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    in_grid: Mapped[bool] = mapped_column(Boolean, default=False)
    resolution_work_s: Mapped[float | None] = mapped_column(Float)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    on_time: Mapped[bool] = mapped_column(Boolean, default=False)
    overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    supervised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_resident: Mapped[bool] = mapped_column(Boolean, default=False)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    reopened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answer_resolved: Mapped[str | None] = mapped_column(String(10))
    answer_satisfaction: Mapped[int | None] = mapped_column(Integer)
    # When the case's mediation first concluded (an agreement took effect, or it failed or was
    # withdrawn with none left open), and whether an agreement took effect.
    mediation_ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    mediation_agreed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    derived_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Report(Base):
    """A monthly 民意分析 workbook as it was made: when, from facts of when, and the file itself."""

    __tablename__ = "analysis_reports"
    __table_args__ = (Index("ix_analysis_reports_unit_month", "unit_id", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    month: Mapped[str] = mapped_column(String(7))
    requested_by: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12), default="pending")
    progress: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    facts_as_of: Mapped[datetime | None] = mapped_column(UTCDateTime)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    error: Mapped[str | None] = mapped_column(String(500))


class ExportLog(Base):
    """One export of a case list: who took which cases out, when, in which format (every export is on record)."""

    __tablename__ = "analysis_exports"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_name: Mapped[str] = mapped_column(String(64))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    kind: Mapped[str] = mapped_column(String(20))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    file_format: Mapped[str] = mapped_column(String(8))
    case_count: Mapped[int] = mapped_column(Integer)
    case_ids: Mapped[list[int]] = mapped_column(JSON)
    unmasked: Mapped[int] = mapped_column(Integer, default=0)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class DailyTally(Base):
    """How many cases each fact placed on one local day of one grid, per measure (``rollup``).

    Kept in step with ``analysis_case_facts`` in the same transaction (each refreshed case
    takes back what its old row gave and adds what its new row gives), and rebuilt from the
    facts by ``gridcase analysis refresh --all``: a sum over a period's days is then a few
    thousand rows, whatever the number of cases.
    """

    __tablename__ = "analysis_daily"
    # By measure first: the cases open in a period sum two measures over a year of days, the weekly
    # trend eight over six months, the hot spots one per category; the primary key (by day) would
    # read every measure of those days.
    __table_args__ = (Index("ix_analysis_daily_measure", "measure", "grid_unit_id", "day",
                            postgresql_include=["value"]),)

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    grid_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True)
    measure: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


class DailyDigest(Base):
    """The working times one figure measured on one local day of one grid, as a log-bucket histogram (``digest``).

    ``bins`` maps a bucket key to how many cases fell in it; like the daily tallies, kept in
    step with the facts by deltas in the refresh's transaction and rebuilt from them, so a
    month's median reads about 30 rows a grid instead of every case's value.
    """

    __tablename__ = "analysis_daily_digests"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    grid_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True)
    figure: Mapped[str] = mapped_column(String(40), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    bins: Mapped[dict[str, int]] = mapped_column(JSON)
