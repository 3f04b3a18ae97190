"""celery-redbeat's scheduler, made to ride out a Redis restart instead of exiting or going silent.

redbeat keeps both its lock and the schedule in Redis. When Redis restarts empty, its own
``tick`` raises: first ``ConnectionError`` while Redis is away (celery beat then exits), then
``LockNotOwnedError`` because the lock key is gone, and even a beat that survived would send
nothing more, because the static schedule (sweeper, relay, audit) went with the old Redis.
This scheduler waits out the first, and on the second takes the lock again (waiting, as a
standby would, if another beat holds it now) and puts the static schedule back.
"""

from __future__ import annotations

import logging
from typing import Any

from redbeat import RedBeatScheduler
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import LockError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

RETRY_SECONDS = 2.0  # while Redis is away: as often as a restart is worth noticing, not a busy loop


class ResilientRedBeatScheduler(RedBeatScheduler):  # type: ignore[misc]
    """redbeat's scheduler that survives Redis going away and coming back empty."""

    def tick(self, *args: Any, **kwargs: Any) -> float:
        """Send what is due; while Redis is away, wait; when its lock was lost, take it back first."""
        try:
            return float(super().tick(*args, **kwargs))
        except (RedisConnectionError, RedisTimeoutError) as exc:
            logger.warning("beat: Redis does not answer (%s); trying again in %s s", exc, RETRY_SECONDS)
            return RETRY_SECONDS
        except LockError:
            logger.warning("beat: the lock is no longer ours (Redis restarted, or another beat took over); "
                           "taking it again before sending anything")
            try:
                self.lock.acquire()  # blocks while another beat holds it: this one is then the standby
                self.setup_schedule()  # a Redis that restarted empty lost the static entries too
            except (RedisConnectionError, RedisTimeoutError) as exc:
                logger.warning("beat: Redis does not answer (%s); trying again in %s s", exc, RETRY_SECONDS)
            return RETRY_SECONDS
