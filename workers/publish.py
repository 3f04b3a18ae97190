"""Publishing task messages after a commit; a failure here is covered by the relay."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from workers import kick
from workers.app import DELIVERIES, EVENTS, app

logger = logging.getLogger(__name__)

HANDLE_EVENT = "gridcase.handle_event"
DELIVER_NOTICES = "gridcase.deliver_notices"


def publish_event(inbox_id: int, *, force: bool = False) -> bool:
    """Publish the handling task for an inbox row, unless a queued task will take it anyway."""
    if not force and not kick.arm(EVENTS):
        return True
    return _send(HANDLE_EVENT, inbox_id, EVENTS)


def publish_notices(outbox_ids: Iterable[int], *, force: bool = False) -> bool:
    """Publish a delivery task for outbox rows, unless a queued one will take them anyway."""
    ids = list(outbox_ids)
    if not ids or (not force and not kick.arm(DELIVERIES)):
        return True
    return _send(DELIVER_NOTICES, ids, DELIVERIES)


def _send(task: str, arg: Any, queue: str) -> bool:
    try:
        app.send_task(task, (arg,))
    except Exception:  # noqa: BLE001 - any broker failure: the rows stay pending for the relay
        kick.disarm(queue)  # nothing is queued after all: the next row must publish
        logger.warning("could not publish %s(%s); the relay will", task, arg, exc_info=True)
        return False
    return True
