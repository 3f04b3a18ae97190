"""The periodic relay: publishes again what is pending too long, so a lost message only delays work."""

from __future__ import annotations

import logging
from datetime import timedelta

from workers.app import app
from workers.publish import publish_event, publish_notices
from workflow.base import config
from workflow.base.db import unit_of_work
from workflow.notices.relay import claim_stale

logger = logging.getLogger(__name__)


@app.task(name="gridcase.relay")
def relay() -> int:
    """Re-publish inbox and outbox rows whose task may have been lost; return how many."""
    with unit_of_work() as session:
        stale = claim_stale(session, timedelta(seconds=config.relay_grace_seconds()))
    # A task takes every pending row, so one forced task per queue is enough; the kick flag
    # is ignored here, as it may belong to a message the broker lost.
    if stale.inbox_ids:
        publish_event(stale.inbox_ids[0], force=True)
    if stale.outbox_ids or stale.deliveries_due:
        # Retries and sends that waited (quiet hours, a robot's rate limit) come due here too.
        publish_notices(stale.outbox_ids or [0], force=True)
    count = len(stale.inbox_ids) + len(stale.outbox_ids)
    if count:
        logger.info("relay published %d stale rows again", count)
    return count
