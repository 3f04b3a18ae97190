"""The residents' door: lookups limited per address and per code, and a code locked after five wrong digits.

The page (``/track``) and the API (``/api/v1/track/…``) share it, so one cannot be used to get
round the other. A code is counted as the text typed (normalised), whether or not a case has it:
a locked unknown code answers like a locked real one, and so tells nothing.
"""

from __future__ import annotations

import logging
import math
import os
import time

from flask import request
from flask_limiter import RouteLimit

from web.ui.security import limiter, track_limit
from workflow.cases.tracking import normalize

logger = logging.getLogger(__name__)

# Four digits are 10,000 guesses: five wrong in a row lock the code, so a guesser gets at most
# five tries per quarter hour (about 0.05 % of the space) instead of the 5,679 requests that
# found a real resident's digits in 34 seconds before the lock existed.
LOCK_AFTER = 5
LOCK_SECONDS = 15 * 60
_FAILS = "gridcase:track-fail:"
_LOCK = "gridcase:track-lock:"


def track_code_limit() -> str:
    """Return the limit on lookups of one tracking code, from any address (``GRIDCASE_TRACK_CODE_LIMIT``)."""
    return os.environ.get("GRIDCASE_TRACK_CODE_LIMIT", "10 per minute")


def address_limit(methods: list[str] | None = None) -> RouteLimit:
    """Limit lookups per client address (``GRIDCASE_TRACK_LIMIT``): one count for the page and the API."""
    return limiter.shared_limit(track_limit, scope="track-address", methods=methods)


def code_limit(methods: list[str] | None = None) -> RouteLimit:
    """Limit lookups per tracking code from any address: one count for the page and the API."""
    return limiter.shared_limit(track_code_limit, scope="track-code", key_func=code_key, methods=methods)


def code_key() -> str:
    """Return the rate-limit key of the tracking code in the request (the URL's, else the form's)."""
    raw = (request.view_args or {}).get("tracking_code") or (request.view_args or {}).get("code") \
        or request.form.get("code", "")
    return "track-code:" + normalize(str(raw))[:40]


def locked_for(code: str) -> int:
    """Return how many seconds a code stays refused because of wrong digits (0: it is not)."""
    key = _LOCK + normalize(code)[:40]
    try:
        if not limiter.storage.get(key):
            return 0
        return max(1, math.ceil(limiter.storage.get_expiry(key) - time.time()))
    except Exception:  # a counter store that is away must not take the residents' page down
        logger.warning("tracking lock store unavailable; lookups are not locked", exc_info=True)
        return 0


def wrong_digits(code: str) -> None:
    """Count a wrong attempt on a code; the fifth within fifteen minutes locks it for fifteen minutes."""
    key = normalize(code)[:40]
    try:
        if limiter.storage.incr(_FAILS + key, LOCK_SECONDS) >= LOCK_AFTER:
            limiter.storage.incr(_LOCK + key, LOCK_SECONDS)
            limiter.storage.clear(_FAILS + key)
            logger.warning("tracking code %s… locked for %s s after %s wrong attempts", key[:4], LOCK_SECONDS,
                           LOCK_AFTER)
    except Exception:
        logger.warning("tracking lock store unavailable; wrong attempt not counted", exc_info=True)


def right_digits(code: str) -> None:
    """Forget the wrong attempts on a code once its resident has given the right digits."""
    try:
        limiter.storage.clear(_FAILS + normalize(code)[:40])
    except Exception:
        logger.warning("tracking lock store unavailable", exc_info=True)
