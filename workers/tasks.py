"""Thin tasks: each takes ids, re-reads what it needs, calls one workflow service, commits."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.exc import OperationalError

from workers import kick
from workers.app import DELIVERIES, EVENTS, app
from workers.publish import publish_event, publish_notices
from workflow.base.db import unit_of_work
from workflow.base.metrics import HANDLING_SECONDS
from workflow.cases.handling import BATCH_SIZE, handle_inbox_event, pending_ids, record_failure
from workflow.notices.delivery import deliver_due

logger = logging.getLogger(__name__)

# Only a database that is briefly away is worth retrying at once; any other error is
# counted on the row, and the relay publishes it again until it succeeds or is set aside.
_TRANSIENT = (OperationalError,)
NOTICE_BATCH = 200
# How long one task drains before it hands over to a fresh task of its queue (a worker
# serves three queues, one task at a time). Events under a backlog (full batches) keep the
# worker up to EVENTS_DRAIN_SECONDS: dispatching comes first, notices follow. A steady
# stream of events hands over after SHARE_SECONDS: with one worker, a 5-second drain left
# the notices it wrote waiting 5 s, and their catch-up then held the next events ~0.5 s
# (p99 850 ms at half the peak rate, bench/throughput.py --workers 1; 320 ms with this).
# Notices always hand over after SHARE_SECONDS, so a notice backlog never holds up events.
EVENTS_DRAIN_SECONDS = 5.0
SHARE_SECONDS = 1.0


@app.task(name="gridcase.handle_event", autoretry_for=_TRANSIENT, retry_backoff=1, retry_backoff_max=30,
          max_retries=8)
def handle_event(inbox_id: int) -> int:
    """Handle one inbox event and every other pending one, batch by batch; a second run finds it done."""
    helped = False

    def call_help() -> None:
        # One more task per drain, as soon as a claim comes back full: the next worker
        # takes the rows beyond this batch while this one handles its own.
        nonlocal helped
        if not helped:
            helped = True
            publish_event(inbox_id, force=True)

    def batch() -> int:
        try:
            with HANDLING_SECONDS.time(), unit_of_work() as session:
                outcome = handle_inbox_event(session, inbox_id, on_full=call_help)
        except _TRANSIENT:
            raise
        except Exception:
            logger.exception("a batch with inbox %s failed; handling its rows one by one", inbox_id,
                             extra={"inbox_id": inbox_id})
            return one_by_one()
        publish_notices(outcome.notice_ids)
        return outcome.handled

    return _drain_events(inbox_id, batch, call_help)


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


def _drain_events(inbox_id: int, batch: Callable[[], int], call_help: Callable[[], None]) -> int:
    handled, unfinished = kick.drain(EVENTS, batch, full=BATCH_SIZE, max_seconds=EVENTS_DRAIN_SECONDS,
                                     share_after=SHARE_SECONDS, on_backlog=call_help)
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

    sent, unfinished = kick.drain(DELIVERIES, batch, full=NOTICE_BATCH, max_seconds=SHARE_SECONDS,
                                  on_backlog=lambda: publish_notices(outbox_ids, force=True))
    if unfinished:
        publish_notices(outbox_ids, force=True)
    return sent
