"""The intake limit: ``POST /api/v1/events`` per client address, refused with 429 and ``Retry-After``.

Counted in each web process's memory, not in the shared store the login and look-up limits
use: the check is on the hot path of every event, and a round trip to Redis (about 0.25 ms
here, ``bench/intake_limit.py``) would cost it more than everything else the check does
(about 0.03 ms). A flood limit need not be exact: with N web processes an address may send
up to N times the limit. Checked by hand rather than with Flask-Limiter's decorator, which
adds ``X-RateLimit-*`` headers to every answer (a second look-up per event) and replaces
the ``Retry-After`` of a 503 with the limit's reset time.
"""

from __future__ import annotations

import functools
import math
import time

from flask import Flask, Response, current_app
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter

from web.api.errors import error_response
from web.ui.security import intake_limit, limiter

_EXTENSION = "gridcase_intake_limit"


@functools.lru_cache(maxsize=8)
def _parsed(text: str) -> RateLimitItem:
    return parse(text)


def _counter(app: Flask) -> FixedWindowRateLimiter:
    # Made on first use, in the process that serves (after gunicorn forks its workers).
    counter = app.extensions.get(_EXTENSION)
    if counter is None:
        counter = app.extensions[_EXTENSION] = FixedWindowRateLimiter(MemoryStorage())
    return counter


def refuse_over_limit() -> Response | None:
    """Count this request against its address's intake limit; return the 429 to send, or None."""
    if not limiter.enabled:  # RATELIMIT_ENABLED=False turns every limit off
        return None
    counter = _counter(current_app)
    limit, address = _parsed(intake_limit()), get_remote_address()
    if counter.hit(limit, "intake", address):
        return None
    wait = max(1, math.ceil(counter.get_window_stats(limit, "intake", address).reset_time - time.time()))
    return error_response(429, "too_many_requests",
                          f"this address is over the limit of {limit} on POST /api/v1/events; retry in {wait} s",
                          headers={"Retry-After": str(wait)})
