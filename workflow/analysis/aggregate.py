"""The figures counted in the database: a few grouped queries per period, whatever the number of cases.

``kpis.compute`` says the same in Python over rows (the tests' reference); this module sums the
daily tallies (``rollup``: a few thousand rows for a street's month or six months of weeks) for
rates, counts and breakdowns, and merges the daily digests for the medians (``digest``). It
reads the facts table only for a median over at most ``digest.EXACT_UP_TO`` cases.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, Integer, and_, case, cast, func, or_, select, true
from sqlalchemy.orm import Session

from workflow.analysis import digest
from workflow.analysis.definitions import BREAKDOWNS, FIGURES, Figure, Kind
from workflow.analysis.kpis import Scorecard, UnitFigures, Value, child_units, composite, facts_as_of, subtree
from workflow.analysis.models import CaseFacts as F
from workflow.analysis.models import DailyDigest as G
from workflow.analysis.models import DailyTally as D
from workflow.analysis.periods import Period
from workflow.analysis.rollup import KIND_PREFIX
from workflow.analysis.settings import Weights, analysis_settings
from workflow.base.db import is_sqlite
from workflow.org.models import Unit


@dataclass
class Tally:
    """Numerators, denominators and measured values of one group of grids."""

    top: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    below: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    median: dict[str, tuple[float | None, int]] = field(default_factory=dict)
    breakdowns: dict[str, dict[str, int]] = field(default_factory=lambda: {n: defaultdict(int) for n in BREAKDOWNS})


def _within(column: str, period: Period) -> ColumnElement[bool]:
    attr = getattr(F, column)
    return and_(attr >= period.start, attr < period.end)


def _as_int(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.sum(case((condition, 1), else_=0), type_=Integer)


def tally(session: Session, groups: Mapping[str, Sequence[int]], period: Period,
          with_breakdowns: bool = True, median_groups: set[str] | None = None) -> dict[str, Tally]:
    """Count every figure's parts for each group of unit ids (a unit's subtree) in the period."""
    group_of: dict[int, list[str]] = defaultdict(list)
    for name, ids in groups.items():
        for unit_id in ids:
            group_of[unit_id].append(name)
    grids = sorted(group_of)
    out = {name: Tally() for name in groups}
    # Rates, counts and the breakdowns of the cases received: the period's daily tallies, summed per grid.
    summed = (select(D.grid_unit_id, D.measure, func.sum(D.value))
              .where(D.grid_unit_id.in_(grids), D.day >= period.first, D.day <= period.last,
                     D.measure.not_like("open.%"))
              .group_by(D.grid_unit_id, D.measure))
    if not with_breakdowns:
        summed = summed.where(D.measure.not_like(f"{KIND_PREFIX}%"))
    for grid, measure, value in session.execute(summed):
        if measure.startswith(KIND_PREFIX):
            dimension, _, code = measure[len(KIND_PREFIX):].partition(".")
            for group in group_of[grid]:
                out[group].breakdowns[dimension][code] += int(value or 0)
            continue
        name, _, part = measure.partition(".")
        for group in group_of[grid]:
            (out[group].top if part == "top" else out[group].below)[name] += int(value or 0)
    # Open in the period: received before its end, less ended before its start.
    opened = (select(D.grid_unit_id, D.measure, func.sum(D.value))
              .where(D.grid_unit_id.in_(grids),
                     or_(and_(D.measure == "open.received", D.day <= period.last),
                         and_(D.measure == "open.ended", D.day < period.first)))
              .group_by(D.grid_unit_id, D.measure))
    for grid, measure, value in session.execute(opened):
        sign = 1 if measure == "open.received" else -1
        for group in group_of[grid]:
            for figure in FIGURES:
                if figure.kind is Kind.COUNT:
                    out[group].below[figure.name] += sign * int(value or 0)
    wanted = {k: v for k, v in groups.items() if median_groups is None or k in median_groups}
    if wanted:
        _medians(session, wanted, period, out)
    return out


def _medians(session: Session, groups: Mapping[str, Sequence[int]], period: Period, out: dict[str, Tally]) -> None:
    """Each group's medians from the daily digests: ~30 rows a grid and figure, whatever the number of cases.

    A group that measured at most ``digest.EXACT_UP_TO`` cases reads their exact values instead
    (cheap at that size), so a small unit's median is exact; a larger one's is within
    ``digest.RELATIVE_ACCURACY`` of it.
    """
    grids = sorted({g for ids in groups.values() for g in ids})
    per_grid: dict[tuple[int, str], digest.Bins] = defaultdict(dict)
    # The database adds the days' histograms up per grid (json_each: one row per bucket), so only a
    # grid's month of buckets crosses the wire, not each day's document.
    each = (func.json_each if is_sqlite(session.get_bind().engine) else func.json_each_text)(G.bins)
    bucket = each.table_valued("key", "value", name="bucket")
    rows = (select(G.grid_unit_id, G.figure, bucket.c.key, func.sum(cast(bucket.c.value, Integer)))
            .select_from(G).join(bucket, true())
            .where(G.grid_unit_id.in_(grids), G.day >= period.first, G.day <= period.last)
            .group_by(G.grid_unit_id, G.figure, bucket.c.key))
    for grid, figure_name, key, count in session.execute(rows):
        if count:
            per_grid[(grid, figure_name)][str(key)] = int(count)
    for figure in FIGURES:
        if figure.kind is not Kind.MEDIAN:
            continue
        for name, ids in groups.items():
            bins = digest.merged(per_grid[(g, figure.name)] for g in ids if (g, figure.name) in per_grid)
            count = sum(bins.values())
            if 0 < count <= digest.EXACT_UP_TO:
                out[name].median[figure.name] = (_exact_median(session, figure, ids, period), count)
            else:
                out[name].median[figure.name] = (digest.median(bins), count)


def _exact_median(session: Session, figure: Figure, ids: Sequence[int], period: Period) -> float | None:
    measure = getattr(F, figure.measure_sql or "")
    assert figure.dated is not None
    where = (F.grid_unit_id.in_(list(ids)), _within(figure.dated, period), measure.is_not(None))
    if is_sqlite(session.get_bind().engine):
        values = [float(v) for v in session.scalars(select(measure).where(*where))]
        return statistics.median(values) if values else None
    # percentile_cont: the mean of the two middle values, as statistics.median.
    median = session.scalar(select(func.percentile_cont(0.5).within_group(measure)).where(*where))
    return float(median) if median is not None else None


def values_of(tallied: Tally, weights: Weights) -> dict[str, Value]:
    """Turn one group's tally into the figures, as ``kpis.compute`` would."""
    out: dict[str, Value] = {}
    for figure in FIGURES:
        name = figure.name
        if figure.kind is Kind.COUNT:
            top = tallied.top[name]
            out[name] = Value(name, figure.kind, top, tallied.below[name], top)
        elif figure.kind is Kind.RATE:
            top, below = tallied.top[name], tallied.below[name]
            out[name] = Value(name, figure.kind, top, below, round(top / below, 4) if below else None)
        elif figure.kind is Kind.MEDIAN:
            seconds, count = tallied.median.get(name, (None, 0))
            median = round(seconds / 3600, 2) if seconds is not None else None
            out[name] = Value(name, figure.kind, count, count, median)
    out["composite"] = composite(out, weights)
    return out


def sorted_breakdowns(tallied: Tally) -> dict[str, dict[str, int]]:
    """Return the breakdowns, largest first."""
    return {name: dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
            for name, counts in tallied.breakdowns.items()}


def weekly(session: Session, unit_ids: Sequence[int], weeks: Sequence[Period],
           weights: Weights) -> list[dict[str, Value]]:
    """Return the figures of each week from the daily tallies (a few thousand rows for six months)."""
    tallies = [Tally() for _ in weeks]
    wanted = [f"{name}.{part}" for name in WEEKLY for part in ("top", "below")]
    summed = (select(D.day, D.measure, func.sum(D.value))
              .where(D.grid_unit_id.in_(list(unit_ids)), D.day >= weeks[0].first, D.day <= weeks[-1].last,
                     D.measure.in_(wanted))
              .group_by(D.day, D.measure))
    first = weeks[0].first
    for day, measure, value in session.execute(summed):
        index = (day - first).days // 7
        if 0 <= index < len(weeks):
            name, _, part = measure.partition(".")
            (tallies[index].top if part == "top" else tallies[index].below)[name] += int(value or 0)
    return [values_of(t, weights) for t in tallies]


# The figures the weekly trend draws: the count received and the three rates of the composite.
WEEKLY = {"received", "response_rate", "resolution_rate", "satisfaction_rate"}


def scorecard(session: Session, unit: Unit, period: Period, weights: Weights | None = None,
              child_medians: bool = True) -> Scorecard:
    """Compute the figures of ``unit`` and of each unit directly below it, in the database.

    ``child_medians=False`` leaves the child units' medians out (the dashboard's table has no
    median column): two fewer scans of a month's cases per child.
    """
    weights = weights or analysis_settings().weights
    children = child_units(session, unit)
    groups = {unit.code: subtree(session, unit), **{c.code: subtree(session, c) for c in children}}
    tallied = tally(session, groups, period, median_groups=None if child_medians else {unit.code})

    def figures(u: Unit) -> UnitFigures:
        return UnitFigures(u.code, u.name, u.level, values_of(tallied[u.code], weights),
                           sorted_breakdowns(tallied[u.code]))

    return Scorecard(period, figures(unit), [figures(c) for c in children], facts_as_of(session))
