"""Touch screens in service centres: one revocable key each, for the unit whose centre it stands in.

The key's id travels in the kiosk's URL signed with the app's secret (the web layer signs it), so a URL
cannot be made up; revoking the key here stops a copied URL.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.base import wallclock
from workflow.base.errors import N_, InvalidInput, NotFound
from workflow.org.tree import unit_by_code
from workflow.reports.models import KioskKey


def add_key(session: Session, unit_code: str, label: str = "") -> KioskKey:
    """Make a key for a touch screen of ``unit_code``.

    Raises:
        NotFound: no unit with that code.
    """
    unit = unit_by_code(session, unit_code)
    key = KioskKey(unit_code=unit.code, label=label, created_at=wallclock.now())
    session.add(key)
    session.flush()
    return key


def revoke_key(session: Session, key_id: int) -> KioskKey:
    """Revoke a key: its URL stops working at once.

    Raises:
        NotFound: no such key.
    """
    key = session.get(KioskKey, key_id)
    if key is None:
        raise NotFound(N_("no kiosk key %(id)s"), id=str(key_id))
    if key.revoked_at is None:
        key.revoked_at = wallclock.now()
    return key


def list_keys(session: Session) -> list[KioskKey]:
    """Return every key, newest first."""
    return list(session.scalars(select(KioskKey).order_by(KioskKey.id.desc())))


def active_key(session: Session, key_id: int, unit_code: str) -> KioskKey:
    """Return the key if it is live and belongs to ``unit_code``.

    Raises:
        InvalidInput: revoked, unknown or of another unit.
    """
    key = session.get(KioskKey, key_id)
    if key is None or key.revoked_at is not None or key.unit_code != unit_code:
        raise InvalidInput(N_("this touch screen's key is not valid; ask the administrator for a new one"),
                           field="key")
    return key
