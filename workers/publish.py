"""Publishing task messages after a commit; a failure here is covered by the relay."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from workers.app import app

logger = logging.getLogger(__name__)

HANDLE_EVENT = "gridcase.handle_event"
DELIVER_NOTICE = "gridcase.deliver_notice"


def publish_event(inbox_id: int) -> bool:
    """Publish the handling task for an inbox row; return False if the broker refused it."""
    return _send(HANDLE_EVENT, inbox_id)


def publish_notices(outbox_ids: Iterable[int]) -> None:
    """Publish a delivery task for each outbox row."""
    for outbox_id in outbox_ids:
        _send(DELIVER_NOTICE, outbox_id)


def _send(task: str, row_id: int) -> bool:
    try:
        app.send_task(task, (row_id,))
    except Exception:  # noqa: BLE001 - any broker failure: the row stays pending for the relay
        logger.warning("could not publish %s(%s); the relay will", task, row_id, exc_info=True)
        return False
    return True
