"""Finding work whose broker message may be lost, and delivering outbox notices."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow import clock, db
from workflow.models import InboxEvent, OutboxMessage

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Stale:
    """Rows the relay must publish again."""

    inbox_ids: list[int]
    outbox_ids: list[int]


def claim_stale(session: Session, grace: timedelta, limit: int = 500) -> Stale:
    """Claim pending inbox and outbox rows nobody published for ``grace``, and stamp them as published now."""
    now = clock.now()
    cutoff = now - grace
    skip = not db.is_sqlite(session.get_bind().engine)
    inbox_q = (
        select(InboxEvent)
        .where(InboxEvent.status == "pending",
               func.coalesce(InboxEvent.last_published_at, InboxEvent.received_at) < cutoff)
        .order_by(InboxEvent.id).limit(limit)
    )
    outbox_q = (
        select(OutboxMessage)
        .where(OutboxMessage.status == "pending",
               func.coalesce(OutboxMessage.last_published_at, OutboxMessage.created_at) < cutoff)
        .order_by(OutboxMessage.id).limit(limit)
    )
    if skip:
        # Two relays (two beats by mistake) then split the rows instead of publishing each twice.
        inbox_q = inbox_q.with_for_update(skip_locked=True)
        outbox_q = outbox_q.with_for_update(skip_locked=True)
    inbox = list(session.scalars(inbox_q))
    outbox = list(session.scalars(outbox_q))
    for inbox_row in inbox:
        inbox_row.last_published_at = now
    for outbox_row in outbox:
        outbox_row.last_published_at = now
    return Stale([r.id for r in inbox], [r.id for r in outbox])


def deliver_notices(session: Session, outbox_ids: list[int], batch: int = 200) -> int:
    """Deliver the pending notices among ``outbox_ids`` and whatever else is pending; return how many.

    A notice sent before, or held by another worker, is left alone: a task run twice sends
    nothing twice.
    """
    skip = not db.is_sqlite(session.get_bind().engine)
    pending = select(OutboxMessage).where(OutboxMessage.status == "pending")
    backlog = pending.order_by(OutboxMessage.id).limit(batch)
    asked = pending.where(OutboxMessage.id.in_(sorted(set(outbox_ids))))
    if skip:
        backlog, asked = backlog.with_for_update(skip_locked=True), asked.with_for_update(skip_locked=True)
    rows = {row.id: row for row in session.scalars(backlog)}
    if outbox_ids and not set(outbox_ids) <= set(rows):
        rows.update((row.id, row) for row in session.scalars(asked))
    for row in sorted(rows.values(), key=lambda r: r.id):
        row.attempts += 1
        # Channels (WeCom, DingTalk, SMS, email) arrive with the notifications issue; until
        # then a notice goes to the log, where an operator running `gridcase up` sees it.
        logger.info("notice %s for case %s to %s: %s", row.topic, row.case_id,
                    row.payload.get("unit", "resident"), row.payload,
                    extra={"case_id": row.case_id, "outbox_id": row.id})
        row.status, row.sent_at = "sent", clock.now()
    return len(rows)
