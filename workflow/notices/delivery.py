"""Delivering notices: expanding an outbox row into one delivery per recipient, then sending each once.

A delivery row is unique per (outbox row, recipient), so a task run twice creates and sends
nothing twice. A failed send is retried with exponential backoff up to a cap, every attempt
kept on the row; past the cap it is dead, listed by ``gridcase outbox stuck``, and an
operator can retry it. Robots' rate limits hold across all workers (Redis when it is the
broker): a send over the limit waits for the window instead of being dropped.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case as sql_case
from sqlalchemy import select
from sqlalchemy.orm import Session, lazyload, selectinload

from schemas.vocabulary import PartyRole, Severity
from workflow.base import config, db, wallclock
from workflow.base.errors import NotFound
from workflow.base.metrics import DELIVERIES
from workflow.base.privacy import mask_phone
from workflow.cases.models import Case, CaseParty, OutboxMessage
from workflow.cases.tracking import display
from workflow.integrators.models import IntegratorRequest
from workflow.notices.channels import Channel, DeliveryError, Message, get
from workflow.notices.models import Delivery, Subscription
from workflow.notices.ratelimit import gate
from workflow.notices.subscriptions import Notice, matches
from workflow.notices.templates import render
from workflow.org.models import Unit, User

logger = logging.getLogger(__name__)

DEFAULT_CHANNELS = ["email", "sms"]
# Outbox kinds that name their members in ``payload["user_ids"]`` instead of going by subscription.
# ``notify_urgent`` (a 爱心呼叫 call) also ignores quiet hours and goes before every other notice.
URGENT = "notify_urgent"
MEMBER_KINDS = frozenset({"notify_members", URGENT})


def retry_base() -> float:
    """Seconds before the first retry (``GRIDCASE_RETRY_BASE``); each retry doubles it."""
    return float(os.environ.get("GRIDCASE_RETRY_BASE", "30"))


def retry_cap() -> int:
    """Attempts before a delivery is dead (``GRIDCASE_RETRY_MAX``)."""
    return int(os.environ.get("GRIDCASE_RETRY_MAX", "6"))


MAX_BACKOFF = timedelta(hours=1)


@dataclass(frozen=True)
class Recipient:
    """Where one delivery goes."""

    key: str
    channel: str
    target: str
    language: str
    secret: str | None = None
    unit_id: int | None = None
    user_id: int | None = None


def _member_recipients(members: list[User], language: str | None, skip: set[str] | None = None) -> list[Recipient]:
    out = []
    for member in members:
        for channel in member.channels or DEFAULT_CHANNELS:
            target = member.email if channel == "email" else member.phone if channel == "sms" else None
            if target and f"{channel}:{target}" not in (skip or set()):
                out.append(Recipient(f"user:{member.id}", channel, target, member.language or language or "zh_Hans",
                                     unit_id=member.unit_id, user_id=member.id))
                break
    return out


class Lookups:
    """What a batch reads once: subscriptions, members by unit, the batch's cases (not one query per row)."""

    def __init__(self, session: Session, case_ids: set[int]) -> None:
        """Load the subscriptions and the cases of the batch."""
        self.session = session
        self.subscriptions = list(session.scalars(select(Subscription).order_by(Subscription.id)))
        self.members: dict[int, list[User]] = {}
        query = (select(Case).where(Case.id.in_(sorted(case_ids)))
                 .options(lazyload("*"), selectinload(Case.parties)))
        self.cases = {c.id: c for c in session.scalars(query)} if case_ids else {}

    def members_of(self, unit_id: int) -> list[User]:
        """Return the members of a unit, read once per batch."""
        if unit_id not in self.members:
            self.members[unit_id] = list(self.session.scalars(
                select(User).where(User.unit_id == unit_id).order_by(User.id)))
        return self.members[unit_id]


def recipients(session: Session, row: OutboxMessage, case: Case | None, lookups: Lookups) -> list[Recipient]:
    """Return who must get an outbox notice: the subscribers of its unit, or the resident."""
    if row.kind == "notify_filer":
        return _filer(session, row)
    if row.kind == "notify_resident":
        reporter = next((p for p in case.parties if p.role == PartyRole.REPORTER), None) if case else None
        if reporter is None or not reporter.phone:
            return []
        return [Recipient(f"resident:{reporter.id}", "sms", reporter.phone, "zh_Hans")]
    if row.kind == "notify_party":
        # A party to a mediation hears only of their own terms, on their own phone.
        party = session.get(CaseParty, row.payload.get("party_id"))
        if party is None or not party.phone:
            return []
        return [Recipient(f"party:{party.id}", "sms", party.phone, "zh_Hans")]
    if row.kind in MEMBER_KINDS:
        return _named_members(session, row.payload.get("user_ids") or [])
    unit = session.get(Unit, row.unit_id) if row.unit_id else None
    if unit is None or (case is None and row.case_id is not None):
        return []
    # A notice of no case (a community decision) carries its category and severity in the payload.
    category = case.category if case else str(row.payload.get("category") or "")
    severity = case.severity if case else str(row.payload.get("severity") or "")
    notice = Notice(unit, row.topic, category, severity)
    found: list[Recipient] = []
    for sub in (s for s in lookups.subscriptions if matches(s, notice)):
        if sub.channel == "members":
            found += _member_recipients(lookups.members_of(sub.unit_id), sub.language)
        elif sub.target:
            found.append(Recipient(f"sub:{sub.id}", sub.channel, sub.target, sub.language or "zh_Hans",
                                   secret=sub.secret, unit_id=sub.unit_id))
    unique = {r.key: r for r in found}
    return list(unique.values())


def _named_members(session: Session, ids: list[object]) -> list[Recipient]:
    """Return the members an outbox row names itself (a 爱心呼叫 call, a risk warning), on their own channels."""
    wanted = sorted({int(i) for i in ids if isinstance(i, int)})
    if not wanted:
        return []
    members = list(session.scalars(select(User).where(User.id.in_(wanted), User.active.is_(True)).order_by(User.id)))
    return _member_recipients(members, None)


def _filer(session: Session, row: OutboxMessage) -> list[Recipient]:
    """Return the webhook of the integrator that filed the case, if its key may still receive one."""
    filed = session.scalars(select(IntegratorRequest).where(IntegratorRequest.case_id == row.case_id)).one_or_none()
    integrator = filed.integrator if filed else None
    if (integrator is None or integrator.revoked_at is not None or "webhook" not in integrator.scopes
            or not integrator.webhook_url):
        return []
    return [Recipient(f"integrator:{integrator.id}", "webhook", integrator.webhook_url,
                      integrator.language or "zh_Hans", secret=integrator.webhook_secret)]


def expand(session: Session, row: OutboxMessage, now: datetime, lookups: Lookups) -> list[Delivery]:
    """Return the deliveries of an outbox row (unique per recipient) and mark the row done."""
    case = lookups.cases.get(row.case_id) if row.case_id else None
    made = [Delivery(outbox_id=row.id, case_id=row.case_id, recipient=r.key, channel=r.channel, target=r.target,
                     secret=r.secret, language=r.language, unit_id=r.unit_id, user_id=r.user_id, status="pending",
                     attempts=0, next_attempt_at=now, errors=[], created_at=now)
            for r in recipients(session, row, case, lookups)]
    if not made and row.kind != "notify_filer":  # an integrator without a webhook hears nothing: no fault
        logger.warning("notice %s of case %s has no recipient; add a subscription", row.topic, row.case_id,
                       extra={"case_id": row.case_id, "outbox_id": row.id})
    row.status, row.sent_at, row.attempts = "done", now, row.attempts + 1
    return made


def _quiet_until(member: User | None, severity: str, now: datetime, *, urgent: bool = False) -> datetime | None:
    if member is None or not member.quiet_hours or severity == Severity.P0 or urgent:
        return None  # an emergency, or an old person calling for help, wakes people
    start_text, _, end_text = member.quiet_hours.partition("-")
    start, end = time.fromisoformat(start_text), time.fromisoformat(end_text)
    zone = ZoneInfo(config.timezone_name())
    local = now.astimezone(zone)
    t = local.time()
    quiet = (start <= t < end) if start < end else (t >= start or t < end)
    if not quiet:
        return None
    day = local.date() if t < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, zone)


def _link(case: Case | None, kind: str, payload: dict[str, Any] | None = None) -> str | None:
    base = config.public_base_url()
    if payload and isinstance(payload.get("risk_id"), int):
        return f"{base}/registry/risks/{payload['risk_id']}"
    if case is None:
        decision = (payload or {}).get("decision_id")
        return f"{base}/decisions/{decision}" if decision else None
    if kind == "notify_party":
        return None  # a party of a dispute may not be the reporter: no tracking link
    if kind == "notify_resident":
        return f"{base}/track?code={display(case.tracking_code)}"
    return f"{base}/cases/{case.id}"


def send_one(session: Session, d: Delivery, now: datetime) -> str:
    """Try one delivery now: sent, waiting (quiet hours, rate limit), retry later, or dead."""
    case = session.get(Case, d.case_id) if d.case_id else None  # the batch loaded it: no query
    member = session.get(User, d.user_id) if d.user_id else None
    quiet = _quiet_until(member, case.severity if case else "", now, urgent=d.outbox.kind == URGENT)
    if quiet is not None:
        d.next_attempt_at = quiet
        return "waiting"
    channel = get(d.channel)
    with gate(d.channel, d.target, channel.rate, now) as wait:
        if wait is not None:
            d.next_attempt_at = wait  # over the robot's limit: queued, not counted as an attempt
            DELIVERIES.labels(d.channel, "waiting").inc()
            return "waiting"
        # Every attempt that went out counts against the limit, failed or not: the far end saw it.
        result = _attempt(session, d, channel, case, member, now)
        DELIVERIES.labels(d.channel, result).inc()
        return result


def _attempt(session: Session, d: Delivery, channel: Channel, case: Case | None, member: User | None,
             now: datetime) -> str:
    row = d.outbox
    unit = session.get(Unit, row.unit_id) if row.unit_id else None
    rendered = render(row.topic, d.language, row.payload, unit.name if unit else None,
                      case.deadline_at if case else None, _link(case, row.kind, row.payload),
                      resident=row.kind in {"notify_resident", "notify_party"})
    # The id survives a re-expansion of the row (a crash before commit): a repeat is recognisable.
    message = Message(id=f"gridcase-{d.outbox_id}-{d.recipient}", target=d.target, title=rendered.title,
                      body=rendered.body,
                      topic=row.topic, language=rendered.language, secret=d.secret, case_id=d.case_id)
    d.attempts += 1
    d.last_attempt_at = now
    try:
        channel.send(message)
    except DeliveryError as exc:
        d.last_error = exc.reason[:1000]
        d.errors = [*(d.errors or []), {"at": now.isoformat(), "error": exc.reason[:500]}]
        if not exc.retryable or d.attempts >= retry_cap():
            d.status = "dead"
            logger.error("delivery %s (%s to %s) dead after %d attempts: %s", d.id, d.channel,
                         mask_phone(d.target) if d.channel == "sms" else d.target, d.attempts, exc.reason,
                         extra={"case_id": d.case_id, "delivery_id": d.id})
            _fall_back(session, d, member, now)
            return "dead"
        delay = min(timedelta(seconds=retry_base() * 2 ** (d.attempts - 1)), MAX_BACKOFF)
        d.next_attempt_at = now + delay
        return "retry"
    d.status, d.sent_at, d.last_error = "sent", now, None
    return "sent"


def _fall_back(session: Session, dead: Delivery, member: User | None, now: datetime) -> None:
    """A member whose first channel is dead is tried on the next one they listed."""
    if member is None:
        return
    tried = {f"{d.channel}:{d.target}" for d in session.scalars(
        select(Delivery).where(Delivery.outbox_id == dead.outbox_id, Delivery.user_id == member.id))}
    for r in _member_recipients([member], dead.language, skip=tried):
        session.add(Delivery(outbox_id=dead.outbox_id, case_id=dead.case_id, recipient=f"{r.key}:{r.channel}",
                             channel=r.channel, target=r.target, language=r.language, unit_id=r.unit_id,
                             user_id=r.user_id, status="pending", attempts=0, next_attempt_at=now, errors=[],
                             created_at=now))


def deliver_due(session: Session, batch: int = 200) -> int:
    """Expand pending outbox rows and send due deliveries, oldest first; return how many rows were worked on."""
    now = wallclock.now()
    skip = not db.is_sqlite(session.get_bind().engine)
    # A 爱心呼叫 call first, in the expansion and in the sending, then everything else oldest first.
    urgent_row = sql_case((OutboxMessage.kind == URGENT, 0), else_=1)
    rows_q = (select(OutboxMessage).where(OutboxMessage.status == "pending")
              .order_by(urgent_row, OutboxMessage.id).limit(batch))
    due_q = (select(Delivery).join(OutboxMessage, Delivery.outbox_id == OutboxMessage.id)
             .where(Delivery.status == "pending", Delivery.next_attempt_at <= now)
             .order_by(urgent_row, Delivery.next_attempt_at).limit(batch))
    if skip:
        rows_q, due_q = rows_q.with_for_update(skip_locked=True), due_q.with_for_update(of=Delivery, skip_locked=True)
    # No autoflush while reading: the batch's deliveries go in as one multi-row INSERT.
    with session.no_autoflush:
        rows = list(session.scalars(rows_q))
        if rows:
            lookups = Lookups(session, {r.case_id for r in rows if r.case_id})
            session.add_all([d for row in rows for d in expand(session, row, now, lookups)])
    session.flush()
    due = list(session.scalars(due_q))
    with session.no_autoflush:
        _preload(session, {d.case_id for d in due if d.case_id}, {d.user_id for d in due if d.user_id})
        for d in due:
            send_one(session, d, now)
    return len(rows) + len(due)


def _preload(session: Session, case_ids: set[int], user_ids: set[int]) -> None:
    """Load a batch's cases and members into the session, so each send's get() needs no query."""
    if case_ids:
        list(session.scalars(select(Case).where(Case.id.in_(sorted(case_ids))).options(lazyload("*"))))
    if user_ids:
        list(session.scalars(select(User).where(User.id.in_(sorted(user_ids)))))


def stuck(session: Session, older_than: timedelta = timedelta(minutes=10)) -> list[Delivery]:
    """Return dead deliveries and those still pending after ``older_than``."""
    cutoff = wallclock.now() - older_than
    query = select(Delivery).where(
        (Delivery.status == "dead") | ((Delivery.status == "pending") & (Delivery.created_at < cutoff))
    ).order_by(Delivery.id)
    return list(session.scalars(query))


def retry(session: Session, delivery_id: int) -> Delivery:
    """Send a dead delivery again from scratch (an operator's decision).

    Raises:
        NotFound: no such delivery.
    """
    d = session.get(Delivery, delivery_id)
    if d is None:
        raise NotFound(f"no delivery with id {delivery_id}")
    d.status, d.attempts, d.next_attempt_at = "pending", 0, wallclock.now()
    d.errors = [*(d.errors or []), {"at": wallclock.now().isoformat(), "error": "retried by an operator"}]
    return d


def due_count(session: Session, now: datetime) -> int:
    """Count deliveries waiting to be tried (for the relay)."""
    from sqlalchemy import func

    return int(session.scalar(select(func.count()).select_from(Delivery).where(
        Delivery.status == "pending", Delivery.next_attempt_at <= now)) or 0)


def as_dict(d: Delivery) -> dict[str, Any]:
    """Return a delivery as the case view and the CLI show it (addresses masked)."""
    target = mask_phone(d.target) if d.channel == "sms" else d.target.split("?")[0]
    return {"id": d.id, "topic": d.outbox.topic, "channel": d.channel, "recipient": d.recipient, "to": target,
            "status": d.status, "attempts": d.attempts, "last_error": d.last_error,
            "sent_at": d.sent_at.isoformat() if d.sent_at else None}


