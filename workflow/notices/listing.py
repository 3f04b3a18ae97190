"""The notices of a case as its page and its API show them: every delivery, addresses masked."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from schemas.api import NotificationOut
from workflow.notices.delivery import as_dict
from workflow.notices.models import Delivery
from workflow.org.models import Unit


def notifications(session: Session, case_id: int) -> list[NotificationOut]:
    """Return every delivery of a case's notices, oldest first, addresses masked."""
    rows = session.scalars(select(Delivery).where(Delivery.case_id == case_id).order_by(Delivery.id))
    out = []
    for d in rows:
        unit = session.get(Unit, d.outbox.unit_id) if d.outbox.unit_id else None
        shown = as_dict(d)
        out.append(
            NotificationOut(
                seq=d.outbox.payload.get("seq"),
                topic=d.outbox.topic,
                unit=unit.code if unit else None,
                channel=d.channel,
                to=shown["to"],
                status=d.status,
                attempts=d.attempts,
                last_error=d.last_error,
                sent_at=d.sent_at,
            )
        )
    return out
