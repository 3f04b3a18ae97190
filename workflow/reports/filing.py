"""A resident's report becomes a case through intake, like every other way in; or a note on their open case."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from schemas.events import SUBMITTED, CaseSubmittedEvent
from schemas.vocabulary import Category, Channel, Severity
from workflow.base.db import unit_of_work
from workflow.base.errors import N_, NotFound
from workflow.cases.attachments import Photo, add_photo
from workflow.cases.intake import Accepted, answer_again, case_of_event, submit_case
from workflow.cases.models import Case
from workflow.cases.steps import ActorContext, Applied, apply_trigger, load_case_for_update
from workflow.reports.codes import phone_hash
from workflow.reports.limits import check_daily_cap
from workflow.reports.models import ResidentReport
from workflow.reports.places import Place

MAX_PHOTOS = 3  # a resident's report: the staff form takes six


@dataclass(frozen=True)
class Report:
    """What a resident reported, with a phone that has been confirmed."""

    submission_id: str  # the form's own key: sending it again lands on the case it made
    category: Category
    place: Place
    description: str
    name: str
    phone: str
    channel: Channel
    source: str  # "/report", "/report/card", "/kiosk/<unit>", "/api/reports"
    danger: bool = False
    occurred_at: datetime | None = None
    photos: list[Photo] = field(default_factory=list)


def report_event(report: Report, now: datetime) -> CaseSubmittedEvent:
    """Return the CloudEvent of a report: the building's grid, P0 when someone is in danger, else the category's."""
    data = {
        "category": report.category.value, "grid": report.place.grid_code, "channel": report.channel.value,
        # Where in the building is in the description: the case has no address column of its own.
        "description": f"【{report.place.label}】{report.description}",
        "reporter": {"name": report.name, "phone": report.phone},
    }
    if report.danger:
        data["severity"] = Severity.P0.value
    if report.occurred_at is not None:
        data["occurred_at"] = report.occurred_at.isoformat()
    return CaseSubmittedEvent.model_validate({
        "specversion": "1.0", "id": report.submission_id, "source": report.source, "type": SUBMITTED,
        "time": now.isoformat(), "datacontenttype": "application/json", "data": data})


def file_report(engine: Engine, report: Report, now: datetime) -> Accepted:
    """Store the case, its photos and the report's row in one transaction; a repeat gets the first answer.

    Raises:
        TooMany: the phone reached the daily cap.
        InvalidInput: the grid is unknown (the place changed under the form).
    """
    event = report_event(report, now)
    try:
        with unit_of_work(engine) as session:
            seen = answer_again(session, event)
            if seen is not None:
                return seen
            check_daily_cap(session, report.phone, now)
            accepted = submit_case(session, event)
            assert accepted.case_id is not None
            session.add(ResidentReport(case_id=accepted.case_id, phone_hash=phone_hash(report.phone),
                                       category=report.category.value, place=report.place.key,
                                       channel=report.channel.value, at=now))
            _attach(session, accepted.case_id, report.photos)
            return accepted
    except IntegrityError:
        # Two copies of the same form at once: the second finds the first's answer.
        with unit_of_work(engine) as session:
            again = answer_again(session, event)
        if again is None:
            raise
        return again


def filed_before(session: Session, source: str, submission_id: str) -> tuple[int, str] | None:
    """Return the case and tracking code a form or request already made (sent again), or None."""
    case_id = case_of_event(session, source, submission_id)
    case = session.get(Case, case_id) if case_id is not None else None
    return (case.id, case.tracking_code) if case is not None else None


def _attach(session: Session, case_id: int, photos: list[Photo]) -> None:
    if not photos:
        return
    session.flush()
    case = session.get(Case, case_id)
    assert case is not None
    for photo in photos:
        add_photo(session, case, photo, "resident")


def add_to_case(session: Session, case_id: int, phone: str, text: str, photos: list[Photo]) -> Applied:
    """Add what the resident wrote (and photos) to their own open case, as a note on its timeline.

    Raises:
        NotFound: the case is not one this phone reported.
        InvalidTransition: the case is closed.
    """
    case = load_case_for_update(session, case_id)
    if not any(p.phone == phone for p in case.parties):
        raise NotFound(N_("no case %(case_id)s reported from this phone"), field="existing", case_id=str(case_id))
    applied = apply_trigger(session, case, "note", ActorContext.resident(),
                            {"message": f"居民补充：{text}"})
    _attach(session, case.id, photos)
    session.flush()
    return applied
