"""The administrators' audit log: record an act, read the log with filters, verify its chain."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from workflow.audit.chain import GENESIS, Break, Walker, link
from workflow.audit.models import AdminAuditEntry
from workflow.base import config, db, wallclock
from workflow.base.errors import N_, InvalidInput

# One advisory lock key for the log's one chain (PostgreSQL): appends wait for each other.
_LOCK_KEY = 0x6772_6164  # "grad"

# Every act the log knows, by area: the filter on the page and the API offers these.
ACTIONS = (
    "org.import", "unit.add", "unit.edit", "member.add", "member.edit", "member.role", "member.deactivate",
    "member.activate",
    "member.password", "member.end_sessions", "token.create", "token.revoke", "integrator.add",
    "integrator.revoke", "policy.change", "category.change", "subscription.add", "subscription.edit",
    "subscription.remove", "reveal.party", "reveal.household", "reveal.mediation", "export.registry",
    "export.analysis", "export.case_file", "policy.reapply",
)


def _chained(entry: AdminAuditEntry) -> list[object]:
    return [entry.seq, entry.at, entry.actor, entry.actor_unit, entry.action, entry.target, entry.detail]


def record(session: Session, actor: str, action: str, target: str, detail: dict[str, Any] | None = None, *,
           actor_unit: str | None = None, at: datetime | None = None) -> AdminAuditEntry:
    """Append one act to the log, chained to the entry before it, in the caller's transaction.

    ``detail`` names what changed; it must hold no personal data (names of fields, codes, ids).
    """
    if not db.is_sqlite(session.get_bind().engine):
        # SQLite's write lock already serialises writers; PostgreSQL needs one queue for the one chain.
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    last = session.execute(select(AdminAuditEntry.seq, AdminAuditEntry.row_hash)
                           .order_by(AdminAuditEntry.seq.desc()).limit(1)).first()
    seq, prev = (int(last[0]) + 1, str(last[1])) if last else (1, GENESIS)
    # Stored as JSON and read back as JSON: hash what will be read back.
    plain = json.loads(json.dumps(detail or {}, ensure_ascii=False, default=str))
    entry = AdminAuditEntry(seq=seq, at=at or wallclock.now(), actor=actor[:64], actor_unit=actor_unit,
                            action=action, target=target[:200], detail=plain, prev_hash=prev, row_hash="")
    entry.row_hash = link(_chained(entry), prev)
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class Filter:
    """What a reader asks of the log: an actor, an action (or its area, ``member``), a period."""

    actor: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def filter_of(actor: str | None, action: str | None, since: str | None, until: str | None) -> Filter:
    """Return the filter of a reader's words: days as YYYY-MM-DD in the deployment's time zone, ``until`` inclusive.

    Raises:
        InvalidInput: a day that is not a calendar day, or ``until`` before ``since``.
    """
    zone = ZoneInfo(config.timezone_name())

    def day(value: str | None, name: str) -> datetime | None:
        if not value:
            return None
        try:
            return datetime.combine(date.fromisoformat(value), time(), zone)
        except ValueError as exc:
            raise InvalidInput(N_("%(field_name)s: %(value)s is not a day (YYYY-MM-DD)"), field=name, field_name=name,
                               value=value) from exc

    first, last = day(since, "since"), day(until, "until")
    if first and last and last < first:
        raise InvalidInput(N_("until: %(until)s is before since"), field="until", until=until)
    return Filter(actor=(actor or "").strip() or None, action=(action or "").strip() or None, since=first,
                  until=last + timedelta(days=1) if last else None)


def entries(session: Session, flt: Filter, *, limit: int = 100, offset: int = 0) -> tuple[list[AdminAuditEntry], int]:
    """Return the entries matching ``flt``, newest first, and how many match in all."""
    query = select(AdminAuditEntry)
    if flt.actor:
        query = query.where(func.lower(AdminAuditEntry.actor) == flt.actor.lower())
    if flt.action:
        # "member" matches every member.* act; "member.role" only itself.
        query = query.where(AdminAuditEntry.action == flt.action if "." in flt.action
                            else AdminAuditEntry.action.like(f"{flt.action}.%"))
    if flt.since is not None:
        query = query.where(AdminAuditEntry.at >= flt.since)
    if flt.until is not None:
        query = query.where(AdminAuditEntry.at < flt.until)
    total = int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    rows = session.scalars(query.order_by(AdminAuditEntry.seq.desc()).limit(limit).offset(offset))
    return list(rows), total


def verify_log(session: Session, batch: int = 5000) -> tuple[int, Break | None]:
    """Recompute the log's chain; return how many entries were checked and the first broken link."""
    walker = Walker("admin log")
    for entry in session.scalars(select(AdminAuditEntry).order_by(AdminAuditEntry.seq)
                                 .execution_options(yield_per=batch)):
        walker.step(entry.seq, _chained(entry), entry.prev_hash, entry.row_hash)
    # Numbered 1, 2, 3...: an entry missing from the end is not seen, one from the middle breaks a link.
    return walker.rows, walker.broken
