"""The intake limit: ``POST /api/v1/events`` per client address, refused with 429 and ``Retry-After``.

Checked by hand on Flask-Limiter's storage rather than with its decorator: the decorator adds
``X-RateLimit-*`` headers to every answer, which costs a second storage round trip on each
accepted event (intake is the hot path) and replaces the ``Retry-After`` of a 503 with the
limit's reset time. Here an accepted request costs one hit, and only a refusal asks when the
window resets.
"""

from __future__ import annotations

import functools
import logging
import math
import time

from flask import Response
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse

from web.api.errors import error_response
from web.ui.security import intake_limit, limiter

logger = logging.getLogger(__name__)


@functools.lru_cache(maxsize=8)
def _parsed(text: str) -> RateLimitItem:
    return parse(text)


def refuse_over_limit() -> Response | None:
    """Count this request against its address's intake limit; return the 429 to send, or None."""
    if not limiter.enabled:
        return None
    limit, address = _parsed(intake_limit()), get_remote_address()
    try:
        if limiter.limiter.hit(limit, "intake", address):
            return None
        reset = limiter.limiter.get_window_stats(limit, "intake", address).reset_time
    except Exception:  # the counters' store (Redis) is away: take the event rather than lose it
        logger.warning("intake limit not checked: the rate-limit storage is not reachable", exc_info=True)
        return None
    wait = max(1, math.ceil(reset - time.time()))
    return error_response(429, "too_many_requests",
                          f"this address is over the limit of {limit} on POST /api/v1/events; retry in {wait} s",
                          headers={"Retry-After": str(wait)})
