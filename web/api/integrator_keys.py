"""Integrator keys on a request: where a key is read from, whether it may act, and its rate limit."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import Request
from limits import parse, storage, strategies

from web.session import db_session
from web.ui.security import ratelimit_storage
from workflow.integrators.keys import KeyHolder, authenticate, hash_key
from workflow.org.members import TOKEN_PREFIX


def events_require_key() -> bool:
    """Tell whether CloudEvents intake refuses events sent without a key (``GRIDCASE_EVENTS_REQUIRE_KEY``)."""
    return os.environ.get("GRIDCASE_EVENTS_REQUIRE_KEY", "").lower() in ("1", "true", "yes", "on")


def key_of(request: Request, form_field: str | None = None) -> str | None:
    """Return the key a request carries: ``X-Api-Key``, ``Authorization: Bearer``, or a form field (Open311)."""
    header = request.headers.get("X-Api-Key", "").strip()
    if header:
        return header
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    # A staff member's token is no integrator key: the staff routes take it, intake ignores it.
    if scheme.lower() == "bearer" and value.strip() and not value.strip().startswith(TOKEN_PREFIX):
        return value.strip()
    if form_field:
        value = (request.form.get(form_field) or request.args.get(form_field) or "").strip()
        return value or None
    return None


@dataclass(frozen=True)
class Refusal:
    """Why a key may not act now: status, a sentence, and for a rate limit the seconds to wait."""

    status: int
    message: str
    retry_after: int | None = None


@functools.cache
def _limiter(uri: str) -> strategies.MovingWindowRateLimiter:
    return strategies.MovingWindowRateLimiter(storage.storage_from_string(uri))


def check_key(key: str | None, scope: str) -> KeyHolder | Refusal:
    """Return the holder of a key allowed ``scope`` and within its rate, or why it is refused (403 or 429)."""
    if not key:
        return Refusal(403, "an api_key is required: ask the operator for one ('gridcase integrator add')")
    with db_session() as session:
        holder = authenticate(session, key)
    if holder is None:
        return Refusal(403, "the api_key is not valid (unknown or revoked)")
    if scope not in holder.scopes:
        return Refusal(403, f"this api_key may not {scope}; its scopes are {', '.join(holder.scopes)}")
    # Counted per key (its hash), not per row id: ids repeat across databases sharing a Redis.
    limiter, item, counter = _limiter(ratelimit_storage()), parse(holder.rate), hash_key(key)
    if not limiter.hit(item, "gridcase-integrator", counter):
        reset = limiter.get_window_stats(item, "gridcase-integrator", counter).reset_time
        wait = max(1, int(reset - datetime.now(UTC).timestamp()) + 1)
        return Refusal(429, f"this api_key may send {holder.rate}; wait {wait} s", retry_after=wait)
    return holder
