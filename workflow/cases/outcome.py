"""What the resident is told of the outcome: what was done, the message to them, and the answer they gave."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.base.privacy import scrub
from workflow.cases.models import Case, Evaluation


@dataclass(frozen=True)
class Answer:
    """The resident's evaluation as they gave it."""

    resolved: str
    satisfaction: int
    comment: str | None
    at: datetime


@dataclass(frozen=True)
class Outcome:
    """The latest round of a case's handling as the resident may read it; numbers in staff text masked."""

    summary: str | None  # what was done (the resolve step), masked
    message: str | None  # the report back to the resident, masked
    answer: Answer | None  # the resident's answer to that report back, once given


def outcome_of(session: Session, case: Case) -> Outcome:
    """Return the latest resolution, report back and the resident's answer to it (a reopen starts a new round)."""
    resolve = next((e for e in reversed(case.events) if e.kind == "resolve"), None)
    report = next((e for e in reversed(case.events) if e.kind == "report_back"), None)
    latest = session.scalars(select(Evaluation).where(Evaluation.case_id == case.id)
                             .order_by(Evaluation.at.desc(), Evaluation.id.desc()).limit(1)).first()
    answer = None
    if latest is not None and report is not None and latest.at >= report.at:
        answer = Answer(latest.resolved, latest.satisfaction, scrub(latest.comment) if latest.comment else None,
                        latest.at)
    return Outcome(
        summary=scrub(resolve.reason) if resolve and resolve.reason else None,
        message=scrub(report.reason) if report and report.reason else None,
        answer=answer,
    )
