"""Finding work whose broker message may be lost: inbox and outbox rows, and due deliveries."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow.base import db, wallclock
from workflow.cases.models import InboxEvent, OutboxMessage
from workflow.notices.models import Delivery

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Stale:
    """Rows the relay must publish again, and whether deliveries are due (retries, waits)."""

    inbox_ids: list[int]
    outbox_ids: list[int]
    deliveries_due: bool = False


def claim_stale(session: Session, grace: timedelta, limit: int = 500) -> Stale:
    """Claim pending inbox and outbox rows nobody published for ``grace``, and stamp them as published now."""
    now = wallclock.now()
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
    waiting = session.scalar(select(Delivery.id).where(Delivery.status == "pending", Delivery.next_attempt_at <= now)
                             .limit(1))
    return Stale([r.id for r in inbox], [r.id for r in outbox], deliveries_due=waiting is not None)
