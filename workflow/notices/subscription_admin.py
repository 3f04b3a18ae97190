"""Subscriptions as the administrator's pages show and change them: targets shown without keys."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from pydantic import ValidationError
from sqlalchemy.orm import Session

from schemas.org import SubscriptionSpec
from workflow.base.errors import N_, InvalidInput, NotFound
from workflow.base.privacy import mask_phone
from workflow.notices import subscriptions
from workflow.notices.models import Subscription


@dataclass(frozen=True)
class SubscriptionLine:
    """A subscription as the pages show it: the target without keys, the secret only as set or not."""

    id: int
    unit_code: str
    unit_name: str
    topics: list[str]
    subtree: bool
    categories: list[str]
    severities: list[str]
    channel: str
    target: str | None
    has_secret: bool
    language: str | None


def shown_target(channel: str, target: str | None) -> str | None:
    """Return a target fit to show: phones masked, URLs without their query, fragment or credentials."""
    if not target:
        return target
    if channel == "sms":
        return mask_phone(target)
    if target.startswith(("http://", "https://")):
        parts = urlsplit(target)
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    return target.split("?")[0]


def _line(sub: Subscription) -> SubscriptionLine:
    return SubscriptionLine(sub.id, sub.unit.code, sub.unit.name, list(sub.topics), sub.subtree,
                            list(sub.categories or []), list(sub.severities or []), sub.channel,
                            shown_target(sub.channel, sub.target), bool(sub.secret), sub.language)


def subscription_lines(session: Session) -> list[SubscriptionLine]:
    """Return every subscription, safe to show, ordered by unit code then id."""
    return sorted((_line(s) for s in subscriptions.listing(session)), key=lambda s: (s.unit_code, s.id))


def subscription_line(session: Session, sub_id: int) -> SubscriptionLine:
    """Return one subscription, safe to show.

    Raises:
        NotFound: there is no such subscription.
    """
    sub = session.get(Subscription, sub_id)
    if sub is None:
        raise NotFound(N_("no subscription with id %(id)s"), id=sub_id)
    return _line(sub)


def add_subscription(session: Session, unit_code: str, *, topics: list[str], subtree: bool = False,
                     categories: list[str] | None = None, severities: list[str] | None = None,
                     channel: str = "members", target: str | None = None, secret: str | None = None,
                     language: str | None = None) -> Subscription:
    """Subscribe a unit (its members, or one address) to events of the unit or its subtree.

    Raises:
        NotFound: there is no such unit.
        InvalidInput: an unknown topic, category, severity or channel, or a target missing or not fit
            for the channel; the message names the field.
    """
    try:
        spec = SubscriptionSpec.model_validate({
            "topics": topics or ["*"], "subtree": subtree, "categories": categories or None,
            "severities": severities or None, "channel": channel, "target": (target or "").strip() or None,
            "secret": secret or None, "language": language or None})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = str(first["loc"][0]) if first["loc"] else "target"
        # The admin page offers channels, topics and the rest as choices; what a person can still get
        # wrong is the target, so those refusals are sentences of their own (translated on the page).
        if not first["loc"] and not (target or "").strip():
            raise InvalidInput(N_("channel %(channel)s needs a target"), field="target", channel=channel) from exc
        if not first["loc"]:
            raise InvalidInput(N_("the %(channel)s target must be an http(s) URL"), field="target",
                               channel=channel) from exc
        raise InvalidInput(N_("%(field_name)s: %(problem)s"), field=where, field_name=where,
                           problem=str(first["msg"]).removeprefix("Value error, ")) from exc
    return subscriptions.add(session, unit_code, spec)
