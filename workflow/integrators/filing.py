"""Filing a request for an integrator: it becomes a CloudEvent through ``cases.intake``, once per retry window.

An Open311 request is one more way in, never a second path through the engine: it is turned
into the same ``org.gridcase.case.submitted`` event a CloudEvents client would send, with the
key's ``source``, and stored by ``intake.submit_case`` in the same transaction as the row that
remembers what the request carried beyond the case (place, contact, media, answers).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from schemas.events import SUBMITTED, CaseSubmittedEvent
from schemas.vocabulary import Category, Channel, Level
from workflow.base import wallclock
from workflow.base.db import unit_of_work
from workflow.base.errors import InvalidInput, NotFound
from workflow.cases.categories import CATEGORIES
from workflow.cases.intake import Accepted, answer_again, submit_case
from workflow.cases.models import Case
from workflow.integrators.catalogue import category_of, check_answers, summary
from workflow.integrators.keys import KeyHolder
from workflow.integrators.models import IntegratorRequest
from workflow.org.areas import grid_at
from workflow.org.models import Unit
from workflow.org.tree import unit_by_code


def retry_window() -> timedelta:
    """How long the same content from the same key is a retry (``GRIDCASE_OPEN311_RETRY_WINDOW`` seconds)."""
    return timedelta(seconds=float(os.environ.get("GRIDCASE_OPEN311_RETRY_WINDOW", "3600")))


@dataclass(frozen=True)
class Submission:
    """The fields of an Open311 POST requests, as sent (strings, before any check)."""

    service_code: str
    lat: str | None = None
    lon: str | None = None
    address_string: str | None = None
    address_id: str | None = None
    email: str | None = None
    device_id: str | None = None
    account_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    description: str | None = None
    media_url: str | None = None
    attributes: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Filed:
    """The answer to a filed request; a retry gets the first one again."""

    case_id: int
    inbox_id: int
    tracking_code: str
    token: str
    duplicate: bool


def _coordinate(value: str | None, name: str, limit: float) -> float | None:
    if value is None or not value.strip():
        return None
    try:
        number = float(value)
    except ValueError:
        raise InvalidInput(f"{name} must be a decimal number of degrees (WGS-84), not '{value}'", field=name) from None
    if not -limit <= number <= limit:
        raise InvalidInput(f"{name} must be between -{limit:g} and {limit:g}", field=name)
    return number


def _grid_of_unit(session: Session, code: str, field_name: str) -> Unit:
    try:
        unit = unit_by_code(session, code.strip())
    except NotFound:
        raise InvalidInput(f"{field_name} '{code}' is not a building or grid code", field=field_name) from None
    if unit.level == Level.HOUSEHOLD.value and unit.parent is not None:
        return unit.parent
    if unit.level != Level.GRID.value:
        raise InvalidInput(f"{field_name} '{code}' is a {unit.level}; give a building or grid code",
                           field=field_name)
    return unit


def _grid_by_address(session: Session, address: str) -> Unit | None:
    """Return the grid an address names by a building's or grid's name or code, the longest match first."""
    units = session.scalars(select(Unit).where(Unit.level.in_([Level.GRID.value, Level.HOUSEHOLD.value])))
    text = address.casefold()
    named = [u for u in units if u.name.casefold() in text or u.code.casefold() in text]
    if not named:
        return None
    best = max(named, key=lambda u: len(u.name))
    return best.parent if best.level == Level.HOUSEHOLD.value and best.parent is not None else best


def locate(session: Session, sub: Submission) -> tuple[Unit, float | None, float | None]:
    """Return the grid a request belongs to and its coordinates: address_id, then lat/long, then address_string.

    Raises:
        InvalidInput: no location given, half a coordinate pair, a point outside every grid,
            or an address that names no building or grid.
    """
    lat = _coordinate(sub.lat, "lat", 90)
    lon = _coordinate(sub.lon, "long", 180)
    if (lat is None) != (lon is None):
        missing = "long" if lon is None else "lat"
        raise InvalidInput(f"lat and long go together; {missing} is missing", field=missing)
    if sub.address_id and sub.address_id.strip():
        return _grid_of_unit(session, sub.address_id, "address_id"), lat, lon
    if lat is not None and lon is not None:
        grid = grid_at(session, lat, lon)
        if grid is None:
            raise InvalidInput(f"the point {lat}, {lon} (WGS-84) is outside every grid of this jurisdiction",
                               field="lat")
        return grid, lat, lon
    if sub.address_string and sub.address_string.strip():
        grid = _grid_by_address(session, sub.address_string)
        if grid is None:
            raise InvalidInput("address_string names no building or grid known here; send lat and long, "
                               "or address_id", field="address_string")
        return grid, None, None
    raise InvalidInput("a location is required: lat and long, address_string or address_id", field="lat")


def _check_contact(sub: Submission) -> None:
    media = (sub.media_url or "").strip()
    if media and (not media.startswith(("http://", "https://")) or len(media) > 1000
                  or any(c.isspace() for c in media)):
        raise InvalidInput("media_url must be an http(s) URL of at most 1000 characters", field="media_url")
    email = (sub.email or "").strip()
    if email and (len(email) > 200 or email.count("@") != 1 or any(c.isspace() for c in email)):
        raise InvalidInput(f"email '{email}' is not an email address", field="email")
    for name in ("device_id", "account_id", "first_name", "last_name"):
        if len((getattr(sub, name) or "").strip()) > 64:
            raise InvalidInput(f"{name} may be at most 64 characters", field=name)
    if len((sub.address_string or "").strip()) > 500:
        raise InvalidInput("address_string may be at most 500 characters", field="address_string")


def _reporter_name(sub: Submission) -> str | None:
    first, last = (sub.first_name or "").strip(), (sub.last_name or "").strip()
    if not first and not last:
        return None
    # Chinese names are written family name first, with no space; others given name first.
    if any("\u4e00" <= ch <= "\u9fff" for ch in first + last):
        return last + first
    return " ".join(p for p in (first, last) if p)


def _content(sub: Submission, answers: dict[str, Any]) -> dict[str, Any]:
    body = {k: (v.strip() if isinstance(v, str) else v) for k, v in vars(sub).items() if k != "attributes"}
    body["attributes"] = answers
    return {k: v for k, v in body.items() if v not in (None, "", {})}


_FIELD_NAMES = {"description": "description", "reporter.phone": "phone", "reporter.name": "last_name",
                "parties.0.name": "attribute[OTHER_PARTY]", "parties.0.phone": "attribute[OTHER_PARTY_PHONE]",
                "occurred_at": "attribute[STARTED]"}


def _event(holder: KeyHolder, event_id: str, category: Category, grid: Unit, sub: Submission,
           answers: dict[str, Any]) -> CaseSubmittedEvent:
    # The spec lets the description out; a case needs one: the service's name stands in.
    told = (sub.description or "").strip() or CATEGORIES[category].zh_hans
    answered = "\n".join(summary(answers))
    data: dict[str, Any] = {
        "category": category.value, "grid": grid.code, "channel": Channel.API.value,
        "description": f"{told}\n\n{answered}" if answered else told,
    }
    name = _reporter_name(sub)
    if name or (sub.phone and sub.phone.strip()):
        data["reporter"] = {"name": name or "—", "phone": (sub.phone or "").strip() or None}
    if "OTHER_PARTY" in answers:
        data["parties"] = [{"role": "respondent", "name": answers["OTHER_PARTY"],
                            "phone": answers.get("OTHER_PARTY_PHONE")}]
    if "STARTED" in answers:
        data["occurred_at"] = answers["STARTED"]
    raw = {"specversion": "1.0", "id": event_id, "source": holder.source, "type": SUBMITTED,
           "subject": f"open311/{category.value}", "data": data}
    try:
        return CaseSubmittedEvent.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"][1:])  # drop the leading "data"
        name_ = _FIELD_NAMES.get(where, where)
        raise InvalidInput(f"{name_}: {first['msg']}", field=name_) from exc


def _answer_again(session: Session, holder: KeyHolder, digest: str) -> Filed | None:
    since = wallclock.now() - retry_window()
    row = session.scalars(
        select(IntegratorRequest)
        .where(IntegratorRequest.integrator_id == holder.id, IntegratorRequest.digest == digest,
               IntegratorRequest.created_at >= since)
        .order_by(IntegratorRequest.id.desc())
    ).first()
    if row is None:
        return None
    return Filed(row.case_id, 0, row.case.tracking_code, row.token, duplicate=True)


def file_request(engine: Engine, holder: KeyHolder, sub: Submission) -> Filed:
    """File an Open311 request as a case; the same content from the same key within the window gets the first answer.

    Raises:
        NotFound: the service code names no service.
        InvalidInput: a location, contact field or attribute answer is missing or wrong;
            ``field`` names it as the Open311 client sent it.
    """
    category = category_of(sub.service_code)
    answers = check_answers(category, sub.attributes)
    _check_contact(sub)
    content = _content(sub, answers)
    digest = hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    window = retry_window().total_seconds() or 1.0
    # Two copies racing in the same window share an event id: the inbox's unique (source, id)
    # lets one in; the other reads its answer. A retry across windows is found by its digest.
    event_id = f"open311-{digest[:32]}-{int(wallclock.now().timestamp() // window)}"
    try:
        with unit_of_work(engine) as session:
            seen = _answer_again(session, holder, digest)
            if seen is not None:
                return seen
            grid, lat, lon = locate(session, sub)
            event = _event(holder, event_id, category, grid, sub, answers)
            accepted = submit_case(session, event)
            return _remember(session, holder, accepted, "open311", digest, sub, lat, lon, answers)
    except IntegrityError:
        with unit_of_work(engine) as session:
            seen = _answer_again(session, holder, digest)
        if seen is None:
            raise
        return seen


def _remember(session: Session, holder: KeyHolder, accepted: Accepted, via: str, digest: str,
              sub: Submission | None = None, lat: float | None = None, lon: float | None = None,
              answers: dict[str, Any] | None = None) -> Filed:
    assert accepted.case_id is not None and accepted.tracking_code is not None
    contact = {k: getattr(sub, k).strip() for k in ("email", "device_id", "account_id", "first_name", "last_name",
                                                     "phone") if sub and getattr(sub, k) and getattr(sub, k).strip()}
    token = secrets.token_hex(16)
    session.add(IntegratorRequest(
        integrator_id=holder.id, case_id=accepted.case_id, via=via, digest=digest, token=token, lat=lat, lon=lon,
        address=(sub.address_string or "").strip()[:500] or None if sub else None,
        address_id=(sub.address_id or "").strip()[:64] or None if sub else None,
        media_url=(sub.media_url or "").strip()[:1000] or None if sub else None,
        attributes=answers or None, contact=contact or None, created_at=wallclock.now()))
    # The case's steps now also go to the outbox for this integrator (its webhook decides who hears).
    session.execute(update(Case).where(Case.id == accepted.case_id).values(filed_by_integrator=True))
    session.flush()
    return Filed(accepted.case_id, accepted.inbox_id, accepted.tracking_code, token, duplicate=False)


def remember_event(session: Session, holder: KeyHolder, accepted: Accepted) -> None:
    """Record, in the caller's transaction, that a key filed a case through CloudEvents intake."""
    if accepted.case_id is None or accepted.duplicate:
        return
    if session.scalars(select(IntegratorRequest.id).where(IntegratorRequest.case_id == accepted.case_id)).first():
        return
    _remember(session, holder, accepted, "cloudevents", digest="")


def file_event(engine: Engine, holder: KeyHolder, event: CaseSubmittedEvent) -> Accepted:
    """Accept a CloudEvent sent with a key: the case and the record of who filed it in one transaction.

    The event's ``source`` is the key's (set by the caller); a repeat gets the first answer.

    Raises:
        InvalidInput: the grid does not exist or is not a grid.
        EventConflict: the event id was used before for different content.
    """
    try:
        with unit_of_work(engine) as session:
            accepted = submit_case(session, event)
            remember_event(session, holder, accepted)
            return accepted
    except IntegrityError:
        with unit_of_work(engine) as session:
            seen = answer_again(session, event)
        if seen is None:
            raise
        return seen


def case_for_token(session: Session, token: str) -> Case | None:
    """Return the case a token stands for, or None."""
    row = session.scalars(select(IntegratorRequest).where(IntegratorRequest.token == token.strip())).one_or_none()
    return row.case if row else None
