"""Thin tasks: each takes an id, re-reads what it needs, calls one workflow service, commits."""

from __future__ import annotations

import logging

from sqlalchemy.exc import OperationalError

from workers.app import app
from workers.publish import publish_notices
from workflow.db import unit_of_work
from workflow.handling import handle_inbox_event
from workflow.outbox import deliver_notice as deliver

logger = logging.getLogger(__name__)

# Only a database that is briefly away is worth retrying; anything else is a bug, and the
# relay will publish the row again once it is fixed.
_TRANSIENT = (OperationalError,)


@app.task(name="gridcase.handle_event", autoretry_for=_TRANSIENT, retry_backoff=1, retry_backoff_max=30,
          max_retries=8)
def handle_event(inbox_id: int) -> str:
    """Handle one inbox event; a second run finds it done and does nothing."""
    with unit_of_work() as session:
        outcome = handle_inbox_event(session, inbox_id)
    publish_notices(outcome.notice_ids)
    return outcome.status


@app.task(name="gridcase.deliver_notice", autoretry_for=_TRANSIENT, retry_backoff=1, retry_backoff_max=30,
          max_retries=8)
def deliver_notice(outbox_id: int) -> bool:
    """Deliver one outbox notice; a second run finds it sent and does nothing."""
    with unit_of_work() as session:
        return deliver(session, outbox_id)

