"""Deadline rows and the time between two moments, counted as a policy counts it (working or calendar)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.clock.models import Deadline
from workflow.clock.policy import Policy


def remaining(policy: Policy, counts: str, start: datetime, end: datetime) -> timedelta:
    """Return the time left from ``start`` to ``end``, counted as the duration that set ``end`` counts."""
    if counts == "calendar":
        return max(end - start, timedelta(0))
    return policy.calendar().working_between(start, end)


def add(policy: Policy, counts: str, start: datetime, span: timedelta) -> datetime:
    """Return ``start`` plus ``span`` of working or calendar time."""
    if counts == "calendar":
        return start + span
    return policy.calendar().add_working(start, span)


def arm(session: Session, case_id: int, kind: str, level: str, due: datetime, token: int, now: datetime) -> None:
    """Add an armed deadline row; it fires at ``due`` and does something only while ``token`` is current."""
    session.add(Deadline(case_id=case_id, kind=kind, level=level, due_at=due, token=token, status="armed",
                         created_at=now))


def history(session: Session, case_id: int) -> list[Deadline]:
    """Return every deadline ever armed for a case, oldest first."""
    return list(session.scalars(select(Deadline).where(Deadline.case_id == case_id).order_by(Deadline.id)))
