"""Integrator keys: made once and printed, kept as a SHA-256; listed, revoked, checked on each request."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from limits import parse
from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.base import wallclock
from workflow.base.errors import N_, InvalidInput, NotFound
from workflow.integrators.models import Integrator

SCOPES = ("submit", "read", "webhook")
DEFAULT_RATE = "60/minute"
ANSWERS = ("realtime", "batch")
_PREFIX = "gck_"  # a gridcase key is recognisable in a leaked log or a secret scanner


@dataclass(frozen=True)
class KeyHolder:
    """What a request learns of the key it came with, detached from any session."""

    id: int
    name: str
    scopes: tuple[str, ...]
    rate: str
    source: str
    answer: str


def hash_key(key: str) -> str:
    """Return the stored form of a key."""
    return hashlib.sha256(key.encode()).hexdigest()


def _check(scopes: list[str], rate: str, answer: str, webhook_url: str | None) -> None:
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise InvalidInput(N_("scopes are a comma-separated list of %(known)s; got %(got)s"), field="scopes",
                           known=", ".join(SCOPES), got=",".join(scopes) or "-")
    try:
        parse(rate)
    except ValueError as exc:
        raise InvalidInput(N_("rate '%(rate)s' is not a rate such as 60/minute or 1000/day"), field="rate",
                           rate=rate) from exc
    if answer not in ANSWERS:
        raise InvalidInput(N_("answer is realtime or batch, not '%(answer)s'"), field="answer", answer=answer)
    if "webhook" in scopes and not webhook_url:
        raise InvalidInput(N_("the webhook scope needs a webhook URL"), field="webhook")
    if webhook_url and not webhook_url.startswith(("http://", "https://")):
        raise InvalidInput(N_("the webhook must be an http(s) URL"), field="webhook")


def add_integrator(session: Session, name: str, scopes: list[str], *, rate: str = DEFAULT_RATE,
                   source: str | None = None, answer: str = "realtime", webhook_url: str | None = None,
                   webhook_secret: str | None = None, language: str | None = None) -> tuple[Integrator, str]:
    """Create an integrator and return it with its key, which is shown this once and never stored.

    Raises:
        InvalidInput: a bad scope, rate or webhook, or the name or source is taken.
    """
    name = name.strip()
    if not name or len(name) > 64:
        raise InvalidInput(N_("the name must be 1 to 64 characters"), field="name")
    source = source or f"/integrators/{name}"
    _check(scopes, rate, answer, webhook_url)
    if session.scalars(select(Integrator).where(Integrator.name == name)).first():
        raise InvalidInput(N_("an integrator named '%(name)s' exists; revoke it or choose another name"), field="name",
                           name=name)
    if session.scalars(select(Integrator).where(Integrator.source == source)).first():
        raise InvalidInput(N_("source '%(source)s' belongs to another integrator"), field="source", source=source)
    key = _PREFIX + secrets.token_urlsafe(32)
    if "webhook" in scopes and not webhook_secret:
        webhook_secret = secrets.token_urlsafe(24)
    integrator = Integrator(name=name, key_hash=hash_key(key), key_prefix=key[:10], scopes=list(scopes), rate=rate,
                            source=source, answer=answer, webhook_url=webhook_url, webhook_secret=webhook_secret,
                            language=language, created_at=wallclock.now())
    session.add(integrator)
    session.flush()
    return integrator, key


def listing(session: Session) -> list[Integrator]:
    """Return every integrator, revoked ones too."""
    return list(session.scalars(select(Integrator).order_by(Integrator.id)))


def revoke(session: Session, name: str) -> Integrator:
    """Revoke an integrator's key at once; what it filed stays.

    Raises:
        NotFound: no integrator has this name.
    """
    integrator = session.scalars(select(Integrator).where(Integrator.name == name)).one_or_none()
    if integrator is None:
        raise NotFound(N_("no integrator named '%(name)s'"), field="name", name=name)
    if integrator.revoked_at is None:
        integrator.revoked_at = wallclock.now()
    return integrator


def authenticate(session: Session, key: str) -> KeyHolder | None:
    """Return who holds a key, or None if it is unknown or revoked."""
    integrator = session.scalars(select(Integrator).where(Integrator.key_hash == hash_key(key))).one_or_none()
    if integrator is None or integrator.revoked_at is not None:
        return None
    return KeyHolder(integrator.id, integrator.name, tuple(integrator.scopes), integrator.rate, integrator.source,
                     integrator.answer)


def by_source(session: Session, source: str) -> Integrator | None:
    """Return the integrator whose key files under this CloudEvent source, or None."""
    return session.scalars(select(Integrator).where(Integrator.source == source)).one_or_none()
