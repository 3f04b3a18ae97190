"""Abuse: how many cases one phone may open a day, and the duplicate offered as "add to your existing case"."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from schemas.vocabulary import State
from workflow.base.errors import N_
from workflow.cases.models import Case
from workflow.reports.codes import TooMany, phone_hash
from workflow.reports.models import ResidentReport

DUPLICATE_WINDOW = timedelta(hours=48)
_FINAL = {State.CLOSED.value, "rejected", "withdrawn", "merged"}


def daily_cap() -> int:
    """Return how many cases one phone may open in 24 hours (``GRIDCASE_REPORT_DAILY_CAP``, default 3)."""
    return int(os.environ.get("GRIDCASE_REPORT_DAILY_CAP", "3"))


def check_daily_cap(session: Session, phone: str, now: datetime) -> None:
    """Refuse a new case from a phone that opened the cap's number of cases in the last 24 hours.

    Raises:
        TooMany: the cap is reached; ``retry_after`` says when the oldest of them leaves the window.
    """
    since = now - timedelta(days=1)
    times = list(session.scalars(select(ResidentReport.at).where(
        ResidentReport.phone_hash == phone_hash(phone), ResidentReport.at > since).order_by(ResidentReport.at)))
    if len(times) >= daily_cap():
        wait = max(1, int((times[0] + timedelta(days=1) - now).total_seconds()))
        raise TooMany(N_("this phone has opened %(cap)s cases in the last 24 hours, the most allowed; "
                         "call your grid leader if it is urgent"), field="phone", retry_after=wait, cap=daily_cap())


@dataclass(frozen=True)
class Existing:
    """The resident's open case that a new report looks like: offered to add to instead."""

    case_id: int
    tracking_code: str
    submitted_at: datetime


def duplicate_of(session: Session, phone: str, category: str, place: str, now: datetime) -> Existing | None:
    """Return the same phone's open case of the same category and building from the last 48 hours, if any."""
    row = session.execute(
        select(Case.id, Case.tracking_code, Case.submitted_at).join(ResidentReport, ResidentReport.case_id == Case.id)
        .where(ResidentReport.phone_hash == phone_hash(phone), ResidentReport.category == category,
               ResidentReport.place == place, ResidentReport.at > now - DUPLICATE_WINDOW,
               Case.state.not_in(_FINAL))
        .order_by(ResidentReport.at.desc()).limit(1)).first()
    return Existing(row[0], row[1], row[2]) if row else None


def reports_today(session: Session, phone: str, now: datetime) -> int:
    """Return how many cases the phone opened in the last 24 hours."""
    return int(session.scalar(select(func.count()).select_from(ResidentReport).where(
        ResidentReport.phone_hash == phone_hash(phone), ResidentReport.at > now - timedelta(days=1))) or 0)
