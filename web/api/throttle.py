"""The intake limit: ``POST /api/v1/events`` per client address, refused with 429 and ``Retry-After``.

Counted in each web process's memory, not in the shared store the login and look-up limits
use: the check is on the hot path of every event, and a round trip to Redis (about 0.25 ms
here, ``bench/intake_limit.py``) would cost it more than everything else the check does
(about 0.03 ms). A flood limit need not be exact: with N web processes an address may send
up to N times the limit. Checked by hand rather than with Flask-Limiter's decorator, which
adds ``X-RateLimit-*`` headers to every answer (a second look-up per event) and replaces
the ``Retry-After`` of a 503 with the limit's reset time.

The count is a fixed window per address, as ``limits``' FixedWindowRateLimiter keeps it, but
in a dict of this module: ``limits``' MemoryStorage starts a timer thread on a hit whenever
its last one (10 ms of life) has ended, which under a steady load is a new thread for almost
every event, and the request waits for it to start (``bench/intake.py --profile``:
``Thread.start`` was the largest single item of intake's CPU).
"""

from __future__ import annotations

import functools
import math
import threading
import time

from flask import Flask, Response, current_app
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse

from web.api.errors import error_response
from web.ui.security import intake_limit, limiter

_EXTENSION = "gridcase_intake_limit"


@functools.lru_cache(maxsize=8)
def _parsed(text: str) -> RateLimitItem:
    return parse(text)


class WindowCounter:
    """Hits per key in fixed windows of one limit's length, with no thread of its own."""

    def __init__(self) -> None:
        """Start with no counts."""
        self._lock = threading.Lock()
        self._windows: dict[tuple[str, str], tuple[float, int]] = {}  # (limit, key) -> (window end, hits)
        self._swept = time.monotonic()

    def hit(self, limit: RateLimitItem, key: str) -> float | None:
        """Count one hit of ``key``; return None if it is within ``limit``, else the seconds until its window ends."""
        now = time.monotonic()
        slot = (str(limit), key)
        with self._lock:
            if now - self._swept > limit.get_expiry():
                # Windows of addresses gone quiet are dropped once a window, so the dict stays small.
                self._windows = {k: w for k, w in self._windows.items() if w[0] > now}
                self._swept = now
            end, hits = self._windows.get(slot, (0.0, 0))
            if end <= now:
                end, hits = now + limit.get_expiry(), 0
            if hits >= limit.amount:
                return end - now
            self._windows[slot] = (end, hits + 1)
            return None


def _counter(app: Flask) -> WindowCounter:
    # Made on first use, in the process that serves (after gunicorn forks its workers).
    counter = app.extensions.get(_EXTENSION)
    if counter is None:
        counter = app.extensions[_EXTENSION] = WindowCounter()
    return counter


def refuse_over_limit() -> Response | None:
    """Count this request against its address's intake limit; return the 429 to send, or None."""
    if not limiter.enabled:  # RATELIMIT_ENABLED=False turns every limit off
        return None
    limit = _parsed(intake_limit())
    over = _counter(current_app).hit(limit, get_remote_address())
    if over is None:
        return None
    wait = max(1, math.ceil(over))
    return error_response(429, "too_many_requests",
                          f"this address is over the limit of {limit} on POST /api/v1/events; retry in {wait} s",
                          headers={"Retry-After": str(wait)})
