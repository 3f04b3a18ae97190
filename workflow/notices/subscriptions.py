"""Subscriptions: which units, members and addresses hear of which events of which units."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from schemas.org import SubscriptionSpec
from workflow.base.errors import N_, InvalidInput, NotFound
from workflow.notices.models import Subscription
from workflow.org.models import Unit
from workflow.org.tree import ancestors, unit_by_code

TOPICS = (
    "case.dispatched", "case.emergency", "case.escalated", "case.taken_over", "case.sent_back", "case.reopened",
    "case.urged", "case.supervised", "case.supervision_flagged", "case.deadline_warning", "case.not_signed",
    "case.pause_requested", "case.paused", "case.pause_refused", "case.extension_requested", "case.extended",
    "case.extension_refused", "case.dispute_reopened",
    "mediation.proposed", "mediation.failed", "mediation.agreed", "mediation.breached",
    "mediation.deadline_warning", "mediation.escalated", "mediation.overdue", "mediation.visit_due",
    "mediation.confirmation_reminder",
)


@dataclass(frozen=True)
class Notice:
    """What a subscription is matched against."""

    unit: Unit
    topic: str
    category: str
    severity: str


def matches(sub: Subscription, notice: Notice) -> bool:
    """Tell whether a subscription wants this notice."""
    if sub.unit_id != notice.unit.id and not (sub.subtree and any(u.id == sub.unit_id for u in ancestors(notice.unit))):
        return False
    if "*" not in sub.topics and notice.topic not in sub.topics:
        return False
    if sub.categories and notice.category not in sub.categories:
        return False
    return not (sub.severities and notice.severity not in sub.severities)


def _key(spec: SubscriptionSpec) -> tuple[Any, ...]:
    return (tuple(sorted(spec.topics)), spec.subtree, tuple(sorted(spec.categories or [])),
            tuple(sorted(spec.severities or [])), spec.channel, spec.target, spec.secret, spec.language)


def _spec_of(sub: Subscription) -> SubscriptionSpec:
    return SubscriptionSpec.model_validate({
        "topics": sub.topics, "subtree": sub.subtree, "categories": sub.categories, "severities": sub.severities,
        "channel": sub.channel, "target": sub.target, "secret": sub.secret, "language": sub.language,
    })


def _check_topics(spec: SubscriptionSpec) -> None:
    unknown = [t for t in spec.topics if t != "*" and t not in TOPICS]
    if unknown:
        raise InvalidInput(N_("unknown topic %(topic)s; topics are * or: %(topics)s"), field="topics",
                           topic=unknown[0], topics=", ".join(TOPICS))


def add(session: Session, unit_code: str, spec: SubscriptionSpec) -> Subscription:
    """Add a subscription to a unit.

    Raises:
        NotFound: no such unit.
        InvalidInput: an unknown topic.
    """
    _check_topics(spec)
    unit = unit_by_code(session, unit_code)
    sub = Subscription(unit_id=unit.id, topics=list(spec.topics), subtree=spec.subtree,
                       categories=[c.value for c in spec.categories] if spec.categories else None,
                       severities=[s.value for s in spec.severities] if spec.severities else None,
                       channel=spec.channel, target=spec.target, secret=spec.secret, language=spec.language)
    session.add(sub)
    session.flush()
    return sub


def remove(session: Session, sub_id: int) -> None:
    """Remove a subscription.

    Raises:
        NotFound: no such subscription.
    """
    sub = session.get(Subscription, sub_id)
    if sub is None:
        raise NotFound(N_("no subscription with id %(id)s"), id=sub_id)
    session.delete(sub)


def listing(session: Session, unit_code: str | None = None) -> list[Subscription]:
    """Return the subscriptions of one unit, or of all."""
    query = select(Subscription).order_by(Subscription.id)
    if unit_code:
        query = query.where(Subscription.unit_id == unit_by_code(session, unit_code).id)
    return list(session.scalars(query))


def sync(session: Session, unit: Unit, specs: list[SubscriptionSpec]) -> tuple[int, int, int]:
    """Make a unit's subscriptions exactly ``specs`` (an org import); return (added, removed, kept)."""
    for spec in specs:
        _check_topics(spec)
    existing = session.scalars(select(Subscription).where(Subscription.unit_id == unit.id))
    current = {_key(_spec_of(s)): s for s in existing}
    wanted = {_key(spec): spec for spec in specs}
    removed = [s for k, s in current.items() if k not in wanted]
    for sub in removed:
        session.delete(sub)
    added = [spec for k, spec in wanted.items() if k not in current]
    for spec in added:
        add(session, unit.code, spec)
    return len(added), len(removed), len(wanted) - len(added)
