"""Reading CloudEvents from an HTTP request: structured, binary or batched mode (HTTP binding 1.0)."""

from __future__ import annotations

import json
from typing import Any

from flask import Request
from werkzeug.exceptions import RequestEntityTooLarge

STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"
# A batch may be larger than one event (the app's MAX_CONTENT_LENGTH, 64 KiB, fits one event
# with every field at its longest). 1 MiB holds 100 events of about 10 KiB each, far above
# a typical complaint (under 1 KiB), while a request still stays small enough to read whole.
MAX_BATCH_BODY_BYTES = 1024 * 1024


class UnreadableEvent(Exception):
    """The request does not carry a CloudEvent gridcase can read."""

    def __init__(self, status: int, message: str, field: str | None = None,
                 code: str = "unreadable_event") -> None:
        """Keep the status to answer with, the field at fault and the error code."""
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.code = code


def _json_body(request: Request, what: str) -> Any:
    try:
        return json.loads(request.get_data(cache=False) or b"null")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UnreadableEvent(400, f"{what} is not valid JSON: {exc}") from exc
    except RecursionError:
        raise UnreadableEvent(400, f"{what} is nested too deeply to read (at most a few hundred levels "
                              "of [ and {)") from None


def read_event(request: Request) -> dict[str, Any]:
    """Return the event's attributes and ``data`` as one dict, as structured mode writes them.

    Raises:
        UnreadableEvent: wrong content type, malformed JSON or missing ``ce-`` headers.
    """
    mimetype = request.mimetype
    if mimetype == BATCH:
        raise UnreadableEvent(415, "a batch is read with read_batch, not read_event")
    if mimetype == STRUCTURED:
        body = _json_body(request, "the event")
        if not isinstance(body, dict):
            raise UnreadableEvent(400, "a structured CloudEvent must be a JSON object")
        return body
    # Binary mode: the attributes travel as ce-* headers and the body is the data itself.
    attributes = {
        name[3:].lower(): value
        for name, value in request.headers.items()
        if name.lower().startswith("ce-")
    }
    if "specversion" not in attributes:
        raise UnreadableEvent(
            415,
            f"send the event as {STRUCTURED}, or in binary mode with ce-specversion, ce-id, "
            "ce-source and ce-type headers",
            field="ce-specversion",
        )
    if mimetype != "application/json":
        raise UnreadableEvent(415, "in binary mode the data must be application/json",
                              field="content-type")
    attributes["datacontenttype"] = "application/json"
    attributes["data"] = _json_body(request, "the data")
    return attributes


def is_batch(request: Request) -> bool:
    """Tell whether the request carries a batch (``application/cloudevents-batch+json``)."""
    return request.mimetype == BATCH


def read_batch(request: Request) -> list[Any]:
    """Return the events of a batched request, undecoded beyond JSON, with a larger body cap.

    Raises:
        UnreadableEvent: the body is over ``MAX_BATCH_BODY_BYTES``, not JSON, or not an array.
    """
    # Flask 3.1 lets a view raise the app's cap for its own request, before the body is read.
    request.max_content_length = MAX_BATCH_BODY_BYTES
    try:
        body = _json_body(request, "the batch")
    except RequestEntityTooLarge as exc:
        raise UnreadableEvent(413, f"a batch body may be at most {MAX_BATCH_BODY_BYTES // 1024} KiB; "
                              "split it into several requests", code="request_entity_too_large") from exc
    if not isinstance(body, list):
        raise UnreadableEvent(400, "a batch of CloudEvents must be a JSON array of structured events")
    return body
