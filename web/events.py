"""Intake: ``POST /api/v1/events`` takes a CloudEvent and answers 202 with where to follow it."""

from __future__ import annotations

from typing import Any

from flask import request, url_for
from flask_openapi3.blueprint import APIBlueprint
from flask_openapi3.models.tag import Tag
from pydantic import ValidationError

from schemas.api import Problem, SubmitAccepted
from schemas.events import SUBMITTED, CaseSubmittedEvent, CloudEvent
from web.cloudevents import STRUCTURED, UnreadableEvent, read_event
from web.errors import documented, error_response, validation_error
from web.session import engine, publish_event
from workflow.intake import accept_submission
from workflow.tracking import display

api = APIBlueprint("events", __name__, url_prefix="/api/v1", abp_tags=[Tag(name="events")])

_EVENT_REF = {"$ref": "#/components/schemas/CaseSubmittedEvent"}
_REQUEST_BODY = {
    "requestBody": {
        "required": True,
        "description": (
            f"A CloudEvent 1.0 of type {SUBMITTED}: structured mode as {STRUCTURED}, or binary "
            "mode with ce-specversion, ce-id, ce-source and ce-type headers and the data as the "
            "application/json body."
        ),
        "content": {
            STRUCTURED: {"schema": _EVENT_REF},
            "application/json": {"schema": {"$ref": "#/components/schemas/CaseSubmitted"}},
        },
    }
}


@api.post(
    "/events",
    summary="Submit an event",
    responses={202: SubmitAccepted, **documented(400, 409, 413, 415, 422)},
    openapi_extensions=_REQUEST_BODY,
)
def post_event() -> Any:
    """Accept a CloudEvent; the same event id from the same source gets the same answer."""
    try:
        raw = read_event(request)
    except UnreadableEvent as exc:
        problems = [Problem(field=exc.field, problem=exc.message)] if exc.field else []
        return error_response(exc.status, "unreadable_event", exc.message, problems)
    if raw.get("type") != SUBMITTED:
        # Validate the envelope first so that its own faults are named before the type's.
        try:
            CloudEvent.model_validate(raw)
        except ValidationError as exc:
            return validation_error(exc)
        problem = f"event type '{raw.get('type')}' is not accepted here; send {SUBMITTED}"
        return error_response(422, "unknown_type", problem, [Problem(field="type", problem=problem)])
    try:
        event = CaseSubmittedEvent.model_validate(raw)
    except ValidationError as exc:
        return validation_error(exc)
    accepted = accept_submission(engine(), event)
    if not accepted.duplicate:
        publish_event(accepted.inbox_id)
    assert accepted.case_id is not None and accepted.tracking_code is not None
    code = display(accepted.tracking_code)
    body = SubmitAccepted(
        case_id=accepted.case_id, tracking_code=code,
        status_url=url_for("track.get_track", tracking_code=code, _external=True),
    )
    return body.model_dump(), 202
