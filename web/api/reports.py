"""Residents reporting for themselves on the API: send a code to the phone, then submit the report with it.

The same rules as the page ``/report`` (``web/ui/self_report.py``): nothing is stored before the code
is right; codes are limited per phone (the domain) and per client address (shared with the page);
the same phone opens at most ``GRIDCASE_REPORT_DAILY_CAP`` cases a day; a report that repeats the
phone's open case (same category and building within 48 hours) is answered 409 until the client
says ``duplicate: add`` or ``duplicate: new``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from flask import Response
from flask_openapi3.blueprint import APIBlueprint
from flask_openapi3.models.tag import Tag
from pydantic import AwareDatetime, BaseModel, Field, StringConstraints

from schemas.api import Problem, Text
from schemas.text import NoNul, NoNulSchema
from schemas.vocabulary import Category, Channel
from web.api.errors import documented, error_response
from web.session import db_session, engine, publish_event, publish_notices
from web.ui.security import limiter
from web.ui.self_report import code_limit, confirm_limit
from workflow.base import config, wallclock
from workflow.base.errors import DomainError
from workflow.cases.tracking import display
from workflow.notices.channels.base import DeliveryError
from workflow.reports import codes, limits
from workflow.reports.filing import Report, add_to_case, file_report, filed_before
from workflow.reports.places import place_of, places

api = APIBlueprint("resident_reports", __name__, url_prefix="/api/v1/reports", abp_tags=[Tag(name="residents")])

# A mainland mobile as people write it: 13800138000, 138-0013-8000, +86 138 0013 8000.
PhoneText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=20,
                                             pattern=r"^(\+86|0086)?[ -]?1[3-9]([ -]?[0-9]){9}$")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64), NoNul, NoNulSchema]


class CodeRequest(BaseModel):
    """The resident's mobile number, and the language of the SMS."""

    phone: PhoneText = Field(description="A mainland mobile number, e.g. 13800138000 (+86 allowed)")
    language: Literal["zh_Hans", "zh_Hant", "en"] = "zh_Hans"


class CodeSent(BaseModel):
    """A code is on its way: how long it is valid and how many tries it allows."""

    sent: bool
    valid_seconds: int
    tries: int


class ReportRequest(BaseModel):
    """A resident's report with the code sent to their phone."""

    phone: PhoneText
    code: Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")] = Field(description="The six digits of the SMS")
    category: Category = Field(description="What happened (severity follows from it; P0 with danger)")
    building: Annotated[str, StringConstraints(min_length=2, max_length=80, pattern=r"^[bg][0-9A-Za-z-]+$")] = Field(
        description="A building's key from GET /api/v1/reports/places (the b= of a service card's link)")
    description: Text
    name: Name
    occurred_at: AwareDatetime | None = Field(default=None, description="When it happened, if known")
    danger: bool = Field(default=False, description="Someone is in danger now: logged P0 (call 110/119/120 first)")
    from_card: bool = Field(default=False, description="Opened from a service card's QR code (channel service_card)")
    submission_id: uuid.UUID | None = Field(default=None, description="The client's key: sending again answers "
                                            "the first case")
    duplicate: Literal["ask", "add", "new"] = Field(
        default="ask", description="What to do when the phone has an open case of the same category and building "
        "from the last 48 hours: ask (409), add to it, or open a new case")


class ReportAccepted(BaseModel):
    """The case the report made (or was added to)."""

    case_id: int
    tracking_code: str
    status_url: str
    added: bool = Field(description="True when the report was added to the phone's existing case")


class PlaceOut(BaseModel):
    """A building a resident can choose."""

    key: str
    compound: str
    building: str


class PlaceList(BaseModel):
    """Every building, by compound."""

    places: list[PlaceOut]


def _too_many(exc: codes.TooMany) -> Response:
    problems = [Problem(field=exc.field, problem=exc.message)] if exc.field else []
    return error_response(429, exc.code, exc.message, problems, headers={"Retry-After": str(exc.retry_after)})


def _status_url(code: str) -> str:
    return f"{config.public_base_url()}/track?code={display(code)}"


@api.get("/places", summary="Buildings a resident can choose", responses={200: PlaceList})
def get_places() -> Any:
    """Return the buildings (the register's, else the org tree's grids), by compound."""
    with db_session() as session:
        found = places(session)
    return PlaceList(places=[PlaceOut(key=p.key, compound=p.compound, building=p.building) for p in found]).model_dump()


@api.post("/code", summary="Send a code to the resident's phone",
          responses={202: CodeSent, **documented(400, 413, 422, 429, 503)})
@limiter.shared_limit(code_limit, scope="report-code")
def post_code(body: CodeRequest) -> Any:
    """Send a six-digit code by SMS: valid ten minutes, three tries; one a minute and five an hour per phone."""
    try:
        with db_session() as session:
            codes.send_code(session, body.phone, wallclock.now(), body.language)
    except codes.TooMany as exc:
        return _too_many(exc)
    except DeliveryError:
        return error_response(503, "unavailable", "the SMS could not be sent just now; try again in a minute",
                              headers={"Retry-After": "60"})
    return CodeSent(sent=True, valid_seconds=int(codes.CODE_LIFETIME.total_seconds()),
                    tries=codes.MAX_TRIES).model_dump(), 202


@api.post("", summary="Submit a resident's report with the code",
          responses={201: ReportAccepted, 200: ReportAccepted, **documented(400, 404, 409, 413, 422, 429)})
@limiter.shared_limit(confirm_limit, scope="report-confirm")
def post_report(body: ReportRequest) -> Any:
    """Check the code, then store the report as a case on channel web (or service_card) as intake does for all.

    201 with a new case; 200 when added to the phone's existing case (``duplicate: add``) or when the
    same ``submission_id`` was sent before; 409 when it repeats the phone's open case and
    ``duplicate`` is ``ask``; 429 over the daily cap; 422 for a wrong, expired or spent code.
    """
    now = wallclock.now()
    refusal: DomainError | None = None
    with db_session() as session:
        try:
            codes.confirm_code(session, body.phone, body.code, now, again=True)
        except DomainError as exc:
            refusal = exc  # the wrong try is kept: the transaction commits
    if refusal is not None:
        raise refusal
    phone = codes.normalize_phone(body.phone)
    source = "/api/reports/card" if body.from_card else "/api/reports"
    submission_id = str(body.submission_id or uuid.uuid4())
    with db_session() as session:
        # Sent again (a lost answer): the first answer, before the duplicate check would take it for a repeat.
        first = filed_before(session, source, submission_id)
        if first is not None:
            return ReportAccepted(case_id=first[0], tracking_code=display(first[1]), status_url=_status_url(first[1]),
                                  added=False).model_dump(), 200
        place = place_of(session, body.building)
        existing = limits.duplicate_of(session, phone, body.category.value, place.key, now)
    if existing is not None and body.duplicate == "ask":
        message = (f"this phone reported the same problem at this building on {existing.submitted_at:%Y-%m-%d} "
                   f"(case {display(existing.tracking_code)}); send duplicate: add to add to it, or new")
        return error_response(409, "duplicate", message, [Problem(field="duplicate", problem=message)])
    if existing is not None and body.duplicate == "add":
        with db_session() as session:
            applied = add_to_case(session, existing.case_id, phone, body.description, [])
            notice_ids = applied.notice_ids
        publish_notices(notice_ids)
        return ReportAccepted(case_id=existing.case_id, tracking_code=display(existing.tracking_code),
                              status_url=_status_url(existing.tracking_code), added=True).model_dump(), 200
    report = Report(
        submission_id=submission_id, category=body.category, place=place,
        description=body.description, name=body.name, phone=phone,
        channel=Channel.SERVICE_CARD if body.from_card else Channel.WEB,
        source=source, danger=body.danger,
        occurred_at=body.occurred_at if isinstance(body.occurred_at, datetime) else None)
    try:
        accepted = file_report(engine(), report, now)
    except codes.TooMany as exc:
        return _too_many(exc)
    if not accepted.duplicate:
        publish_event(accepted.inbox_id)
    assert accepted.case_id is not None and accepted.tracking_code is not None
    answer = ReportAccepted(case_id=accepted.case_id, tracking_code=display(accepted.tracking_code),
                            status_url=_status_url(accepted.tracking_code), added=False)
    return answer.model_dump(), 200 if accepted.duplicate else 201
