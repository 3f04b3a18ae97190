"""Intake: ``POST /api/v1/events`` takes a CloudEvent, or a batch of them, and answers 202 with where to follow it."""

from __future__ import annotations

from typing import Any

from flask import g, request, url_for
from flask_openapi3.blueprint import APIBlueprint
from flask_openapi3.models.tag import Tag
from pydantic import ValidationError

from schemas.api import Problem, SubmitAccepted, SubmitAnswer
from schemas.events import SUBMITTED, CaseSubmittedEvent, CloudEvent
from web.api.cloudevents import (
    BATCH,
    MAX_BATCH_BODY_BYTES,
    STRUCTURED,
    UnreadableEvent,
    is_batch,
    read_batch,
    read_event,
)
from web.api.errors import documented, error_response, validation_error
from web.api.integrator_keys import Refusal, check_key, events_require_key, key_of
from web.api.registry import link_cases, route_by_address
from web.api.throttle import refuse_over_limit
from web.session import db_session, engine, publish_event
from workflow.cases.intake import (
    MAX_BATCH_EVENTS,
    Accepted,
    BatchTooLarge,
    InvalidBatch,
    OversizedEvents,
    accept_batch,
    accept_submission,
    parse_batch,
)
from workflow.cases.tracking import display
from workflow.integrators.filing import file_event, remember_event
from workflow.integrators.keys import KeyHolder

api = APIBlueprint("events", __name__, url_prefix="/api/v1", abp_tags=[Tag(name="events")])

_EVENT_REF = {"$ref": "#/components/schemas/CaseSubmittedEvent"}
_REQUEST_BODY = {
    "requestBody": {
        "required": True,
        "description": (
            f"A CloudEvent 1.0 of type {SUBMITTED}: structured mode as {STRUCTURED}, or binary "
            "mode with ce-specversion, ce-id, ce-source and ce-type headers and the data as the "
            f"application/json body. Or a batch as {BATCH}: a JSON array of 1 to {MAX_BATCH_EVENTS} "
            f"structured events, at most {MAX_BATCH_BODY_BYTES // 1024} KiB (one event: 64 KiB). "
            "A batch is stored whole or not at all: if any event is invalid the answer is 422 "
            "naming each field as [index].field (e.g. [3].data.category) and nothing is stored; "
            "otherwise the 202 answer is an array of one answer per event, in order, a repeat "
            "(stored before, or earlier in the batch) getting the first copy's answer."
        ),
        "content": {
            STRUCTURED: {"schema": _EVENT_REF},
            "application/json": {"schema": {"$ref": "#/components/schemas/CaseSubmitted"}},
            BATCH: {"schema": {"type": "array", "items": _EVENT_REF, "minItems": 1,
                               "maxItems": MAX_BATCH_EVENTS}},
        },
    }
}


@api.post(
    "/events",
    summary="Submit an event or a batch of events",
    responses={202: SubmitAnswer, **documented(400, 401, 403, 409, 413, 415, 422, 429)},
    openapi_extensions=_REQUEST_BODY,
)
def post_event() -> Any:
    """Accept a CloudEvent (or a batch); the same event id from the same source gets the same answer.

    With an integrator key (``X-Api-Key`` or ``Authorization: Bearer``) the key's source replaces
    the event's, so the case says who filed it; ``GRIDCASE_EVENTS_REQUIRE_KEY`` makes a key required.
    """
    refused = refuse_over_limit()
    if refused is not None:
        return refused
    key = key_of(request)
    holder: KeyHolder | None = None
    if key or events_require_key():
        checked = check_key(key, "submit")
        if isinstance(checked, Refusal):
            status = 401 if checked.status == 403 and not key else checked.status
            headers = {"Retry-After": str(checked.retry_after)} if checked.retry_after else None
            return error_response(status, "rate_limited" if status == 429 else "unauthorized" if status == 401
                                  else "forbidden", checked.message, headers=headers)
        holder = checked
    if is_batch(request):
        return _post_batch(holder)
    try:
        raw = read_event(request)
    except UnreadableEvent as exc:
        return _unreadable(exc)
    if raw.get("type") == SUBMITTED and (unrouted := route_by_address(raw)) is not None:
        return error_response(422, "invalid", unrouted.problem, [unrouted])
    if raw.get("type") != SUBMITTED:
        # Validate the envelope first so that its own faults are named before the type's.
        try:
            CloudEvent.model_validate(raw)
        except ValidationError as exc:
            return validation_error(exc)
        problem = f"event type '{raw.get('type')}' is not accepted here; send {SUBMITTED}"
        return error_response(422, "unknown_type", problem, [Problem(field="type", problem=problem)])
    if holder is not None:
        raw["source"] = holder.source
    try:
        event = CaseSubmittedEvent.model_validate(raw)
    except ValidationError as exc:
        return validation_error(exc)
    accepted = file_event(engine(), holder, event) if holder else accept_submission(engine(), event)
    link_cases([(accepted, event)])
    if not accepted.duplicate:
        publish_event(accepted.inbox_id)
    return _answer(accepted).model_dump(), 202


def _post_batch(holder: KeyHolder | None) -> Any:
    """Accept a batch: every event checked first, all stored in one transaction, one task published."""
    try:
        items = read_batch(request)
        if holder is not None:
            for item in items:
                if isinstance(item, dict):
                    item["source"] = holder.source
        routed = [route_by_address(raw, f"[{i}].") if isinstance(raw, dict) and raw.get("type") == SUBMITTED
                  else None for i, raw in enumerate(items[:MAX_BATCH_EVENTS])]
        if problems := [p for p in routed if p is not None]:
            return error_response(422, "invalid", problems[0].problem, problems)
        events = parse_batch(items)
        answers = accept_batch(engine(), events)
    except UnreadableEvent as exc:
        return _unreadable(exc)
    except OversizedEvents as exc:
        return error_response(413, exc.code, exc.message,
                              [Problem(field=field, problem=problem) for field, problem in exc.problems])
    except BatchTooLarge as exc:
        return error_response(413, exc.code, exc.message)
    except InvalidBatch as exc:
        return error_response(422, exc.code, exc.message,
                              [Problem(field=field, problem=problem) for field, problem in exc.problems])
    new = [a.inbox_id for a in answers if not a.duplicate]
    link_cases(list(zip(answers, events, strict=True)))
    if holder is not None and new:
        # Who filed them, for the key's webhook: recorded just after the batch's own transaction.
        with db_session() as session:
            for accepted in answers:
                remember_event(session, holder, accepted)
    if new:
        # One task drains every pending row (workers/kick.py): the batch needs only one.
        publish_event(min(new))
    g.events_in_answer = len(answers)  # counted by web/request_log.py
    return [_answer(a).model_dump() for a in answers], 202


def _unreadable(exc: UnreadableEvent) -> Any:
    problems = [Problem(field=exc.field, problem=exc.message)] if exc.field else []
    return error_response(exc.status, exc.code, exc.message, problems)


def _answer(accepted: Accepted) -> SubmitAccepted:
    assert accepted.case_id is not None and accepted.tracking_code is not None
    code = display(accepted.tracking_code)
    return SubmitAccepted(
        case_id=accepted.case_id, tracking_code=code,
        status_url=url_for("track.get_track", tracking_code=code, _external=True),
    )
