"""Per-destination rate limits that hold across all workers (Redis when it is the broker).

A send is counted when it has finished, and sends to one destination go one at a time
under a short lock: so the far end, counting what arrives, never sees more than the limit
in any window, even when sends take a while or several workers try at once.
"""

from __future__ import annotations

import functools
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import redis
from limits import parse, storage, strategies

from workflow.base import config

LOCK_SECONDS = 30  # longer than any send's timeout


@functools.cache
def _limiter(url: str) -> strategies.MovingWindowRateLimiter:
    uri = url if url.startswith(("redis://", "rediss://")) else "memory://"
    return strategies.MovingWindowRateLimiter(storage.storage_from_string(uri))


@functools.cache
def _redis(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


_local_locks: dict[str, threading.Lock] = {}
_local_guard = threading.Lock()


@contextmanager
def _one_at_a_time(key: str) -> Iterator[bool]:
    url = config.broker_url()
    if url.startswith(("redis://", "rediss://")):
        client, token = _redis(url), uuid.uuid4().hex
        got = bool(client.set(f"gridcase:sending:{key}", token, nx=True, ex=LOCK_SECONDS))
        try:
            yield got
        finally:
            if got and client.get(f"gridcase:sending:{key}") == token.encode():
                client.delete(f"gridcase:sending:{key}")
        return
    with _local_guard:
        lock = _local_locks.setdefault(key, threading.Lock())
    got = lock.acquire(blocking=False)
    try:
        yield got
    finally:
        if got:
            lock.release()


@contextmanager
def gate(channel: str, target: str, rate: str | None, now: datetime) -> Iterator[datetime | None]:
    """Yield None when a send to this destination may go now (and count it when done), else when to retry."""
    if not rate:
        yield None
        return
    key = f"{channel}:{target}"
    with _one_at_a_time(key) as mine:
        if not mine:
            yield now + timedelta(milliseconds=200)  # another worker is sending there right now
            return
        limiter, item = _limiter(config.broker_url()), parse(rate)
        if not limiter.test(item, "gridcase-rate", key):
            reset = limiter.get_window_stats(item, "gridcase-rate", key).reset_time
            yield max(now + timedelta(milliseconds=200), datetime.fromtimestamp(reset, now.tzinfo))
            return
        yield None
        limiter.hit(item, "gridcase-rate", key)  # counted once it has arrived
