"""Requests as anyone may read them through Open311: every case, masked as the public tracking view is."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from schemas.vocabulary import Category, State
from workflow.base import wallclock
from workflow.base.errors import InvalidInput, NotFound
from workflow.base.labels import LANGUAGES, state_label
from workflow.base.privacy import mask_name, scrub
from workflow.cases.categories import CATEGORIES
from workflow.cases.models import Case
from workflow.integrators.models import IntegratorRequest

# The spec's two statuses: "closed" once the case is resolved; a reopen makes it open again.
CLOSED_STATES = frozenset({State.RESOLVED, State.REPORTED_BACK, State.CLOSED, State.REJECTED, State.WITHDRAWN,
                           State.MERGED})
# The spec's limits for GET requests: a span of at most 90 days (the most recent 90 by
# default) and at most 1,000 requests; page and page_size are the common extension.
MAX_SPAN = timedelta(days=90)
MAX_PAGE_SIZE = 1000
# Public steps whose text is written for the resident (as on the tracking view).
_RESIDENT_TEXT = {"report_back", "reject"}


@dataclass(frozen=True)
class Query:
    """The filters of GET requests, checked."""

    ids: list[int] | None = None
    categories: list[str] | None = None
    start: datetime | None = None
    end: datetime | None = None
    statuses: list[str] | None = None
    page: int = 1
    page_size: int = MAX_PAGE_SIZE


@dataclass(frozen=True)
class RequestView:
    """One request as the public sees it."""

    case: Case
    extra: IntegratorRequest | None
    status: str
    status_notes: str
    service_name: str
    description: str


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def _when(value: str | None, name: str) -> datetime | None:
    if value is None or not value.strip():
        return None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f"{name} must be a w3 date and time such as 2026-01-01T00:00:00Z", field=name) from None
    if when.tzinfo is None:
        raise InvalidInput(f"{name} needs a time zone (Z or an offset such as +08:00)", field=name)
    return when


def _positive(value: str | None, name: str, default: int, top: int) -> int:
    if value is None or not value.strip():
        return default
    if not value.strip().isdigit() or not 1 <= int(value) <= top:
        raise InvalidInput(f"{name} must be a whole number from 1 to {top}", field=name)
    return int(value)


def parse_query(service_request_id: str | None = None, service_code: str | None = None,
                start_date: str | None = None, end_date: str | None = None, status: str | None = None,
                page: str | None = None, page_size: str | None = None) -> Query:
    """Check the filters of GET requests as sent.

    Raises:
        InvalidInput: a filter is malformed, names an unknown service or status, or the dates
            span more than 90 days or run backwards.
    """
    ids = _split(service_request_id)
    if any(not i.isdigit() or len(i) > 12 for i in ids):
        raise InvalidInput("service_request_id is a comma-separated list of request ids", field="service_request_id")
    codes = [c.upper() for c in _split(service_code)]
    unknown = [c for c in codes if c not in Category.__members__]
    if unknown:
        raise InvalidInput(f"service_code '{unknown[0]}' is not a service; GET services lists them",
                           field="service_code")
    statuses = [s.lower() for s in _split(status)]
    if any(s not in ("open", "closed") for s in statuses):
        raise InvalidInput("status is open, closed, or both comma-separated", field="status")
    start, end = _when(start_date, "start_date"), _when(end_date, "end_date")
    if start and end:
        if end < start:
            raise InvalidInput("end_date is before start_date", field="end_date")
        if end - start > MAX_SPAN:
            raise InvalidInput("start_date and end_date may span at most 90 days", field="end_date")
    return Query(ids=[int(i) for i in ids] or None, categories=codes or None, start=start, end=end,
                 statuses=statuses or None, page=_positive(page, "page", 1, 1_000_000),
                 page_size=_positive(page_size, "page_size", MAX_PAGE_SIZE, MAX_PAGE_SIZE))


def status_of(case: Case) -> str:
    """Return open or closed as the spec means them."""
    return "closed" if State(case.state) in CLOSED_STATES else "open"


def masked_description(case: Case) -> str:
    """Return the description with the parties' names masked and mobile and ID numbers scrubbed."""
    text = case.description
    for party in case.parties:
        if party.name and len(party.name) > 1:
            text = text.replace(party.name, mask_name(party.name) or "")
    return scrub(text)


def _view(case: Case, extra: IntegratorRequest | None, language: str) -> RequestView:
    info = CATEGORIES[Category(case.category)]
    name = (info.zh_hans, info.zh_hant, info.en)[LANGUAGES.index(language)]
    notes = state_label(case.state, language)
    last_public = next((e for e in reversed(case.events) if e.public), None)
    if last_public is not None and last_public.kind in _RESIDENT_TEXT and last_public.reason:
        notes = f"{notes}: {scrub(last_public.reason)}"
    return RequestView(case, extra, status_of(case), notes, name, masked_description(case))


def one(session: Session, request_id: str, language: str) -> RequestView:
    """Return one request.

    Raises:
        NotFound: no case has this id.
    """
    case = session.get(Case, int(request_id)) if request_id.isdigit() and len(request_id) <= 12 else None
    if case is None:
        raise NotFound(f"service_request_id '{request_id}' was not found", field="service_request_id")
    extra = session.scalars(select(IntegratorRequest).where(IntegratorRequest.case_id == case.id)).one_or_none()
    return _view(case, extra, language)


def search(session: Session, query: Query, language: str) -> list[RequestView]:
    """Return the requests the filters select, the most recent first, one page of them."""
    stmt = select(Case).options(selectinload(Case.parties), selectinload(Case.events))
    if query.ids:
        stmt = stmt.where(Case.id.in_(query.ids))  # the spec: ids override every other filter
    else:
        end = query.end or (query.start + MAX_SPAN if query.start else wallclock.now())
        start = query.start or end - MAX_SPAN
        stmt = stmt.where(Case.submitted_at >= start, Case.submitted_at <= end)
        if query.categories:
            stmt = stmt.where(Case.category.in_(query.categories))
        if query.statuses and len(query.statuses) == 1:
            closed = [s.value for s in CLOSED_STATES]
            stmt = stmt.where(Case.state.in_(closed) if query.statuses[0] == "closed" else Case.state.not_in(closed))
    stmt = stmt.order_by(Case.submitted_at.desc(), Case.id.desc())
    stmt = stmt.limit(query.page_size).offset((query.page - 1) * query.page_size)
    cases = list(session.scalars(stmt).unique())
    extras = {r.case_id: r for r in session.scalars(
        select(IntegratorRequest).where(IntegratorRequest.case_id.in_([c.id for c in cases])))} if cases else {}
    return [_view(c, extras.get(c.id), language) for c in cases]
