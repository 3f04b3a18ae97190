"""Every request gets an id (``X-Request-Id``, ours or the caller's) on each of its log lines, and a line of its own."""

from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, Response, g, request

from workflow.base import logs
from workflow.base.metrics import (
    EVENTS_ACCEPTED,
    EVENTS_REFUSED,
    HTTP_RESPONSES,
    LOGIN_FAILURES,
    RATE_LIMITED,
)

logger = logging.getLogger(__name__)

HEADER = "X-Request-Id"
# A proxy's id is kept if it looks like one; anything else (too long, odd characters) is replaced.
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")
_QUIET = frozenset({"/metrics", "/healthz"})  # scraped every few seconds: counted, not logged


def init_request_log(app: Flask) -> None:
    """Bind a request id (and the case id of case routes) for the request's lines; log and count each answer."""
    app.before_request(_begin)
    app.after_request(_end)
    app.teardown_request(lambda _exc: logs.clear())


def _begin() -> None:
    logs.clear()
    incoming = request.headers.get(HEADER, "")
    g.request_id = incoming if _SANE_ID.match(incoming) else str(uuid.uuid4())
    g.request_started = time.perf_counter()
    fields: dict[str, object] = {"request_id": g.request_id}
    case_id = (request.view_args or {}).get("case_id")
    if case_id is not None:
        fields["case_id"] = case_id
    logs.bind(**fields)


def _end(response: Response) -> Response:
    request_id = g.get("request_id")
    if request_id:
        response.headers[HEADER] = request_id
    _count(response)
    if request.path not in _QUIET:
        elapsed = time.perf_counter() - g.get("request_started", time.perf_counter())
        # The path is scrubbed with the rest of the line: /track/<code> shows only the code's first group.
        logger.info("%s %s %s", request.method, request.path, response.status_code,
                    extra={"method": request.method, "path": request.path, "status": response.status_code,
                           "duration_ms": round(elapsed * 1000, 1), "remote_addr": request.remote_addr})
    return response


def _count(response: Response) -> None:
    status = response.status_code
    HTTP_RESPONSES.labels(f"{status // 100}xx").inc()
    endpoint = request.endpoint or "none"
    if status == 429:
        RATE_LIMITED.labels(endpoint).inc()
    if status == 401:
        LOGIN_FAILURES.labels("page" if endpoint == "accounts.login" else "token").inc()
    if request.path == "/api/v1/events" and request.method == "POST":
        if status == 202:
            # Told by the view rather than read back from the answer: no JSON decoding per event.
            EVENTS_ACCEPTED.inc(g.get("events_in_answer", 1))
        elif status >= 400:
            body = response.get_json(silent=True)
            reason = body.get("error") if isinstance(body, dict) else None
            EVENTS_REFUSED.labels(str(reason or status)).inc()
