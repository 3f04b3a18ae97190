"""The daily tallies: what each case's facts give to each (local day, grid, measure), kept in step with the facts.

A measure is ``<figure>.top`` or ``<figure>.below`` for a rate, ``<figure>.top`` for a count,
``open.received`` / ``open.ended`` (the cases open in a period are those received before its end
less those ended before its start), and ``kind.<channel|category|severity>.<code>`` for the
cases received (the breakdowns and the hot spots). The medians' working times go to the daily
digests (``analysis_daily_digests``, one log-bucket histogram per day, grid and figure: ``digest``).
Which day a fact gives to is the figure's own date (``definitions.Figure.dated``) in the
deployment's zone; which measure, the figure's own test (``counts``), so the definitions stay
written once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select, tuple_
from sqlalchemy.orm import Session

from workflow.analysis import digest
from workflow.analysis.definitions import BREAKDOWNS, FIGURES, FactRow, Kind
from workflow.analysis.models import CaseFacts, DailyDigest, DailyTally
from workflow.base import config

Key = tuple[date, int, str]
# (day, grid, figure) → bucket → count
DigestDelta = dict[Key, dict[str, int]]
KIND_PREFIX = "kind."


def contributions(row: FactRow, grid_unit_id: int, zone: ZoneInfo) -> dict[Key, int]:
    """Return what one case's facts give to the daily tallies."""
    out: dict[Key, int] = defaultdict(int)

    def give(at: datetime | None, measure: str, amount: int = 1) -> None:
        if at is not None and amount:
            out[(at.astimezone(zone).date(), grid_unit_id, measure)] += amount

    give(row.received_at, "open.received")
    give(row.ended_at, "open.ended")
    for figure in FIGURES:
        if figure.dated is None or figure.kind not in (Kind.RATE, Kind.COUNT):
            continue
        at = getattr(row, figure.dated)
        if figure.kind is Kind.RATE:
            give(at, f"{figure.name}.below")
        give(at, f"{figure.name}.top", int(figure.counts(row)))
    for dimension in BREAKDOWNS:
        give(row.received_at, f"{KIND_PREFIX}{dimension}.{getattr(row, dimension)}")
    return out


def measured(row: FactRow, grid_unit_id: int, zone: ZoneInfo) -> dict[Key, str]:
    """Return the bucket each median figure puts one case's working time in, by its day."""
    out: dict[Key, str] = {}
    for figure in FIGURES:
        if figure.kind is not Kind.MEDIAN or figure.dated is None:
            continue
        at, seconds = getattr(row, figure.dated), figure.measure(row)
        if at is not None and seconds is not None:
            out[(at.astimezone(zone).date(), grid_unit_id, figure.name)] = digest.key(seconds)
    return out


def _digest_delta(old: Iterable[CaseFacts], new: Iterable[CaseFacts], zone: ZoneInfo) -> DigestDelta:
    delta: DigestDelta = defaultdict(dict)
    for rows, sign in ((old, -1), (new, 1)):
        for row in rows:
            for where, bucket in measured(row, row.grid_unit_id, zone).items():
                digest.merge(delta[where], {bucket: sign})
    return {where: bins for where, bins in delta.items() if bins}


def _apply_digests(session: Session, delta: DigestDelta) -> None:
    keys = list(delta)
    found: dict[Key, DailyDigest] = {}
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        query = select(DailyDigest).where(tuple_(DailyDigest.day, DailyDigest.grid_unit_id, DailyDigest.figure)
                                          .in_(chunk))
        for row in session.scalars(query):
            found[(row.day, row.grid_unit_id, row.figure)] = row
    for where, bins in delta.items():
        existing = found.get(where)
        if existing is None:
            session.add(DailyDigest(day=where[0], grid_unit_id=where[1], figure=where[2],
                                    count=sum(bins.values()), bins=dict(bins)))
        else:
            # A new dict: the JSON column is written only when the attribute is assigned.
            existing.bins = digest.merge(dict(existing.bins), bins)
            existing.count = sum(existing.bins.values())


def apply(session: Session, old: Iterable[CaseFacts], new: Iterable[CaseFacts]) -> None:
    """Take back what ``old`` rows gave and add what ``new`` rows give, in the caller's transaction."""
    old, new = list(old), list(new)
    zone = ZoneInfo(config.timezone_name())
    delta: dict[Key, int] = defaultdict(int)
    for row in old:
        for key, amount in contributions(row, row.grid_unit_id, zone).items():
            delta[key] -= amount
    for row in new:
        for key, amount in contributions(row, row.grid_unit_id, zone).items():
            delta[key] += amount
    _apply_digests(session, _digest_delta(old, new, zone))
    changes = {key: amount for key, amount in delta.items() if amount}
    if not changes:
        return
    keys = list(changes)
    found: dict[Key, DailyTally] = {}
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        query = select(DailyTally).where(tuple_(DailyTally.day, DailyTally.grid_unit_id, DailyTally.measure)
                                         .in_(chunk))
        for tally in session.scalars(query):
            found[(tally.day, tally.grid_unit_id, tally.measure)] = tally
    for key, amount in changes.items():
        existing = found.get(key)
        if existing is None:
            session.add(DailyTally(day=key[0], grid_unit_id=key[1], measure=key[2], value=amount))
        else:
            existing.value += amount


def rebuild(session: Session, batch: int = 5000) -> None:
    """Recompute every daily tally and digest from the facts table."""
    session.execute(delete(DailyTally))
    session.execute(delete(DailyDigest))
    last = 0
    totals: dict[Key, int] = defaultdict(int)
    histograms: DigestDelta = defaultdict(dict)
    zone = ZoneInfo(config.timezone_name())
    while True:
        rows = list(session.scalars(select(CaseFacts).where(CaseFacts.case_id > last)
                                    .order_by(CaseFacts.case_id).limit(batch)))
        if not rows:
            break
        for row in rows:
            for key, amount in contributions(row, row.grid_unit_id, zone).items():
                totals[key] += amount
            for where, bucket in measured(row, row.grid_unit_id, zone).items():
                bins = histograms[where]
                bins[bucket] = bins.get(bucket, 0) + 1
        last = rows[-1].case_id
        session.expunge_all()
    session.add_all(DailyTally(day=k[0], grid_unit_id=k[1], measure=k[2], value=v) for k, v in totals.items() if v)
    session.add_all(DailyDigest(day=k[0], grid_unit_id=k[1], figure=k[2], count=sum(b.values()), bins=b)
                    for k, b in histograms.items())
    session.flush()
