"""Reading a CloudEvent from an HTTP request, in structured or binary mode (HTTP binding 1.0)."""

from __future__ import annotations

import json
from typing import Any

from flask import Request

STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"


class UnreadableEvent(Exception):
    """The request does not carry a CloudEvent gridcase can read."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        """Keep the status to answer with and the field at fault."""
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field


def _json_body(request: Request, what: str) -> Any:
    try:
        return json.loads(request.get_data(cache=False) or b"null")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UnreadableEvent(400, f"{what} is not valid JSON: {exc}") from exc


def read_event(request: Request) -> dict[str, Any]:
    """Return the event's attributes and ``data`` as one dict, as structured mode writes them.

    Raises:
        UnreadableEvent: wrong content type, malformed JSON or missing ``ce-`` headers.
    """
    mimetype = request.mimetype
    if mimetype == BATCH:
        raise UnreadableEvent(415, "batched CloudEvents are not accepted; send one event per request")
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
