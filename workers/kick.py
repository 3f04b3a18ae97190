"""Publishing a batch task only when none is queued or draining, so a burst shares one task.

A task drains: it takes every pending row, batch after batch, and stops only after it has
cleared the flag and then found nothing pending. So while the flag is set, a new row needs
no task of its own: it was committed before the flag was cleared, and the claim that
follows the clearing sees it. The flag lives in Redis (SET NX by producers); with another
broker every row gets its task, which is correct, only slower. The flag expires, so a task
lost with its worker costs at most KICK_TTL seconds; the relay covers the rest.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable

import redis

from workflow.base import config

logger = logging.getLogger(__name__)

KICK_TTL = 10


@functools.cache
def _redis(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def _client() -> redis.Redis | None:
    url = config.broker_url()
    return _redis(url) if url.startswith(("redis://", "rediss://")) else None


def _key(queue: str) -> str:
    return f"gridcase:kick:{queue}"


def arm(queue: str) -> bool:
    """Tell whether to publish a task for ``queue`` now: True unless one is queued and not started."""
    client = _client()
    if client is None:
        return True
    try:
        return bool(client.set(_key(queue), "1", nx=True, ex=KICK_TTL))
    except redis.RedisError:
        logger.warning("kick flag for %s unreadable; publishing anyway", queue, exc_info=True)
        return True


def hold(queue: str) -> None:
    """Set the flag while a task drains, so producers leave the new rows to it."""
    client = _client()
    if client is None:
        return
    try:
        client.set(_key(queue), "1", ex=KICK_TTL)
    except redis.RedisError:
        logger.warning("kick flag for %s not set; producers will publish", queue, exc_info=True)


def disarm(queue: str) -> None:
    """Clear the flag, before a last look for pending rows."""
    client = _client()
    if client is None:
        return
    try:
        client.delete(_key(queue))
    except redis.RedisError:
        logger.warning("kick flag for %s not cleared; it expires in %s s", queue, KICK_TTL, exc_info=True)


def drain(queue: str, run_batch: Callable[[], int], *, linger: float = 0.05, full: int = 50,
          max_seconds: float = 5.0, share_after: float | None = None,
          on_backlog: Callable[[], object] | None = None) -> tuple[int, bool]:
    """Run batches until one after clearing the flag finds nothing; return (rows handled, time ran out).

    After a batch that was not full the task lingers a moment (the flag held) so that the
    rows arriving meanwhile share the next transaction instead of each paying for one.
    The first full batch means a backlog: ``on_backlog`` then publishes one more task, so
    another worker drains beside this one (rows are claimed with SKIP LOCKED); that task
    may call in a third, and so on while the backlog lasts.
    When time runs out with work left the caller hands over to a fresh task, so one task
    does not keep a worker from its other queues. ``share_after`` hands over sooner in a
    steady flow (a batch that was not full, after that many seconds): a backlog keeps the
    worker up to ``max_seconds``, while rows that merely keep trickling in do not keep the
    worker's other queues waiting that long.
    """
    started = time.monotonic()
    total, deadline, helped = 0, started + max_seconds, False
    while time.monotonic() < deadline:
        hold(queue)
        handled = run_batch()
        total += handled
        if handled >= full and on_backlog is not None and not helped:
            on_backlog()
            helped = True
        if handled:
            if handled < full:
                if share_after is not None and time.monotonic() - started >= share_after:
                    return total, True  # the flag stays held: the caller's fresh task takes over
                time.sleep(linger)
            continue
        disarm(queue)
        handled = run_batch()  # rows committed before the flag was cleared
        total += handled
        if not handled:
            return total, False
    return total, True
