"""Deadline rows and the time between two moments, counted as a policy counts it (working or calendar)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
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
    """Add an armed deadline row of a case; it fires at ``due`` and does something only while ``token`` is current."""
    arm_subject(session, "case", case_id, kind, level, due, token, now, case_id=case_id)


def arm_subject(session: Session, subject: str, subject_id: int, kind: str, level: str, due: datetime, token: int,
                now: datetime, case_id: int | None = None) -> Deadline:
    """Add an armed deadline row for any machine kind's subject (``case_id`` if it belongs to a case)."""
    row = Deadline(subject=subject, subject_id=subject_id, case_id=case_id, kind=kind, level=level, due_at=due,
                   token=token, status="armed", created_at=now)
    session.add(row)
    return row


def disarm(session: Session, subject: str, subject_id: int, now: datetime) -> int:
    """Mark a subject's armed deadlines stale at once (bumping its token does the same, lazily); return how many."""
    result = session.execute(update(Deadline).where(
        Deadline.subject == subject, Deadline.subject_id == subject_id, Deadline.status == "armed",
    ).values(status="stale", fired_at=now))
    return int(getattr(result, "rowcount", 0) or 0)


def armed(session: Session, subject: str, subject_id: int) -> list[Deadline]:
    """Return a subject's armed deadlines, soonest first."""
    return list(session.scalars(select(Deadline).where(
        Deadline.subject == subject, Deadline.subject_id == subject_id, Deadline.status == "armed",
    ).order_by(Deadline.due_at, Deadline.id)))


def history(session: Session, case_id: int) -> list[Deadline]:
    """Return every deadline ever armed for a case itself, oldest first."""
    return list(session.scalars(select(Deadline).where(
        Deadline.subject == "case", Deadline.subject_id == case_id).order_by(Deadline.id)))
