"""Thin tasks: each takes ids, re-reads what it needs, calls one workflow service, commits."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.exc import OperationalError

from workers import kick
from workers.app import DELIVERIES, EVENTS, app
from workers.publish import publish_event, publish_notices
from workflow.db import unit_of_work
from workflow.delivery import deliver_due
from workflow.handling import BATCH_SIZE, handle_inbox_event, pending_ids, record_failure

logger = logging.getLogger(__name__)

# Only a database that is briefly away is worth retrying at once; any other error is
# counted on the row, and the relay publishes it again until it succeeds or is set aside.
_TRANSIENT = (OperationalError,)
NOTICE_BATCH = 200


@app.task(name="gridcase.handle_event", autoretry_for=_TRANSIENT, retry_backoff=1, retry_backoff_max=30,
          max_retries=8)
def handle_event(inbox_id: int) -> int:
    """Handle one inbox event and every other pending one, batch by batch; a second run finds it done."""

    def batch() -> int:
        try:
            with unit_of_work() as session:
                outcome = handle_inbox_event(session, inbox_id)
        except _TRANSIENT:
            raise
        except Exception:
            logger.exception("a batch with inbox %s failed; handling its rows one by one", inbox_id,
                             extra={"inbox_id": inbox_id})
            return one_by_one()
        publish_notices(outcome.notice_ids)
        return outcome.handled

    return _drain_events(inbox_id, batch)


def one_by_one() -> int:
    """Handle the pending rows each in its own transaction, so one bad row fails alone."""
    with unit_of_work() as session:
        ids = pending_ids(session)
    handled = 0
    for row_id in ids:
        try:
            with unit_of_work() as session:
                outcome = handle_inbox_event(session, row_id, batch=1)
        except _TRANSIENT:
            raise
        except Exception as exc:
            logger.exception("handling inbox %s failed", row_id, extra={"inbox_id": row_id})
            with unit_of_work() as session:
                record_failure(session, row_id, f"{exc.__class__.__name__}: {exc}")
            continue
        publish_notices(outcome.notice_ids)
        handled += outcome.handled
    return handled


def _drain_events(inbox_id: int, batch: Callable[[], int]) -> int:
    handled, unfinished = kick.drain(EVENTS, batch, full=BATCH_SIZE,
                                     on_backlog=lambda: publish_event(inbox_id, force=True))
    if unfinished:
        publish_event(inbox_id, force=True)
    return handled


@app.task(name="gridcase.deliver_notices", autoretry_for=_TRANSIENT, retry_backoff=1, retry_backoff_max=30,
          max_retries=8)
def deliver_notices(outbox_ids: list[int]) -> int:
    """Deliver every due notice (``outbox_ids`` are those that prompted the run); none is sent twice."""

    def batch() -> int:
        with unit_of_work() as session:
            return deliver_due(session, NOTICE_BATCH)

    sent, unfinished = kick.drain(DELIVERIES, batch, full=NOTICE_BATCH,
                                  on_backlog=lambda: publish_notices(outbox_ids, force=True))
    if unfinished:
        publish_notices(outbox_ids, force=True)
    return sent
