"""The stored state counted at scrape time, with bounded queries: each uses an index and a statement timeout."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from workflow.base import db
from workflow.cases.models import Case, InboxEvent, OutboxMessage
from workflow.clock.models import Deadline, Heartbeat
from workflow.notices.models import Delivery

# A scrape must not hold a connection long: on PostgreSQL each query gives up after this.
STATEMENT_TIMEOUT_MS = 2000


@dataclass(frozen=True)
class Pending:
    """Rows waiting in a table: how many, and the age in seconds of the oldest (0 when none)."""

    count: int
    oldest_seconds: float


@dataclass
class Snapshot:
    """Everything ``/metrics`` shows of the stored state at one moment."""

    cases: dict[tuple[str, str], int] = field(default_factory=dict)
    inbox: Pending = Pending(0, 0.0)
    inbox_failed: int = 0
    outbox: Pending = Pending(0, 0.0)
    deliveries: dict[tuple[str, str], int] = field(default_factory=dict)
    deadlines_overdue: int = 0
    oldest_overdue_seconds: float = 0.0
    heartbeat_age: dict[str, float] = field(default_factory=dict)
    chains_broken: int = 0  # case timelines (and the admin log) whose hash chain broke at the last check


def _age(now: datetime, then: datetime | None) -> float:
    return max((now - then).total_seconds(), 0.0) if then is not None else 0.0


def snapshot(session: Session, now: datetime) -> Snapshot:
    """Count cases by state and level, pending inbox and outbox rows, deliveries not sent, overdue deadlines."""
    if not db.is_sqlite(session.get_bind().engine):
        session.execute(text(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}"))
    snap = Snapshot()
    # The (state, deadline_at) index covers the grouping by state; levels come from the rows.
    for state, level, count in session.execute(
            select(Case.state, Case.level, func.count()).group_by(Case.state, Case.level)):
        snap.cases[(str(state), str(level))] = int(count)
    count, oldest = session.execute(
        select(func.count(), func.min(InboxEvent.received_at)).where(InboxEvent.status == "pending")).one()
    snap.inbox = Pending(int(count), _age(now, oldest))
    snap.inbox_failed = int(session.scalar(
        select(func.count()).select_from(InboxEvent).where(InboxEvent.status == "failed")) or 0)
    count, oldest = session.execute(
        select(func.count(), func.min(OutboxMessage.created_at)).where(OutboxMessage.status == "pending")).one()
    snap.outbox = Pending(int(count), _age(now, oldest))
    # Sent deliveries are counted by the workers as they go; here only those still waiting or dead.
    for channel, status, count in session.execute(
            select(Delivery.channel, Delivery.status, func.count())
            .where(Delivery.status.in_(("pending", "dead"))).group_by(Delivery.channel, Delivery.status)):
        snap.deliveries[(str(channel), str(status))] = int(count)
    count, oldest = session.execute(
        select(func.count(), func.min(Deadline.due_at)).where(Deadline.status == "armed", Deadline.due_at < now)).one()
    snap.deadlines_overdue, snap.oldest_overdue_seconds = int(count), _age(now, oldest)
    beats = list(session.scalars(select(Heartbeat)))
    snap.heartbeat_age = {beat.name: _age(now, beat.at) for beat in beats}
    chains = next((beat.detail for beat in beats if beat.name == "chains"), None) or {}
    snap.chains_broken = int(chains.get("broken") or 0) + (1 if (chains.get("admin_log") or {}).get("broken") else 0)
    return snap
