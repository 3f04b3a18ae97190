"""How many messages wait in each broker queue (Redis LLEN, files on the embedded broker, AMQP's count)."""

from __future__ import annotations

import logging
from typing import Any

from workers.app import QUEUES, app

logger = logging.getLogger(__name__)


def depths() -> dict[str, int] | None:
    """Return the messages waiting per queue, or None when the broker does not answer."""
    try:
        with app.connection_for_read() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            channel: Any = conn.default_channel  # a transport channel: StdChannel lacks queue_declare
            # A passive declare asks the transport for its size: LLEN over the priority lists on
            # Redis, the queue's files on the filesystem broker, the server's count on AMQP.
            return {queue: int(channel.queue_declare(queue=queue, passive=True).message_count)
                    for queue in QUEUES}
    except Exception:  # noqa: BLE001 - a scrape reports the broker missing, it does not fail
        logger.warning("broker queue depths unavailable", exc_info=True)
        return None
