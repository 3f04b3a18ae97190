"""The figures counted in the database: a few grouped queries per period, whatever the number of cases.

``kpis.compute`` says the same in Python over rows (the tests' reference); this module asks the
database for the same numbers, grouped by grid, so a street of a million cases is read as a few
hundred grouped rows. Each dated fact has an index with the grid (``models``).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, Integer, and_, case, func, or_, select
from sqlalchemy.orm import Session

from workflow.analysis.definitions import BREAKDOWNS, FIGURES, Figure, Kind
from workflow.analysis.kpis import Scorecard, UnitFigures, Value, child_units, composite, facts_as_of, subtree
from workflow.analysis.models import CaseFacts as F
from workflow.analysis.periods import Period
from workflow.analysis.settings import Weights, analysis_settings
from workflow.org.models import Unit


@dataclass
class Tally:
    """Numerators, denominators and measured values of one group of grids."""

    top: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    below: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    measured: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    breakdowns: dict[str, dict[str, int]] = field(default_factory=lambda: {n: defaultdict(int) for n in BREAKDOWNS})


def _within(column: str, period: Period) -> ColumnElement[bool]:
    attr = getattr(F, column)
    return and_(attr >= period.start, attr < period.end)


def _as_int(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.sum(case((condition, 1), else_=0), type_=Integer)


def tally(session: Session, groups: Mapping[str, Sequence[int]], period: Period,
          with_breakdowns: bool = True) -> dict[str, Tally]:
    """Count every figure's parts for each group of unit ids (a unit's subtree) in the period."""
    group_of: dict[int, list[str]] = defaultdict(list)
    for name, ids in groups.items():
        for unit_id in ids:
            group_of[unit_id].append(name)
    grids = sorted(group_of)
    out = {name: Tally() for name in groups}
    by_dated: dict[str, list[Figure]] = defaultdict(list)
    for figure in FIGURES:
        if figure.dated and figure.kind in (Kind.RATE, Kind.COUNT):
            by_dated[figure.dated].append(figure)
    for dated, figures in by_dated.items():
        columns = [_as_int(f.counts_sql()) if f.counts_sql else func.count() for f in figures]
        query = (select(F.grid_unit_id, func.count(), *columns)
                 .where(F.grid_unit_id.in_(grids), _within(dated, period)).group_by(F.grid_unit_id))
        for grid, below, *tops in session.execute(query):
            for name in group_of[grid]:
                for figure, top in zip(figures, tops, strict=True):
                    out[name].top[figure.name] += int(top or 0)
                    if figure.kind is Kind.RATE:
                        out[name].below[figure.name] += int(below)
    open_in = and_(F.received_at < period.end, or_(F.ended_at.is_(None), F.ended_at >= period.start))
    opened = select(F.grid_unit_id, func.count()).where(F.grid_unit_id.in_(grids), open_in).group_by(F.grid_unit_id)
    for grid, count in session.execute(opened):
        for name in group_of[grid]:
            for figure in FIGURES:
                if figure.kind is Kind.COUNT:
                    out[name].below[figure.name] += int(count)
    for figure in FIGURES:
        if figure.kind is Kind.MEDIAN and figure.dated and figure.measure_sql:
            measure = getattr(F, figure.measure_sql)
            values = select(F.grid_unit_id, measure).where(F.grid_unit_id.in_(grids), _within(figure.dated, period),
                                                           measure.is_not(None))
            for grid, value in session.execute(values):
                for name in group_of[grid]:
                    out[name].measured[figure.name].append(float(value))
    if with_breakdowns:
        kinds = (select(F.grid_unit_id, F.channel, F.category, F.severity, func.count())
                 .where(F.grid_unit_id.in_(grids), _within("received_at", period))
                 .group_by(F.grid_unit_id, F.channel, F.category, F.severity))
        for grid, channel, category, severity, count in session.execute(kinds):
            for name in group_of[grid]:
                for dimension, key in zip(BREAKDOWNS, (channel, category, severity), strict=True):
                    out[name].breakdowns[dimension][key] += int(count)
    return out


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
            hours = [v / 3600 for v in tallied.measured[name]]
            median = round(statistics.median(hours), 2) if hours else None
            out[name] = Value(name, figure.kind, len(hours), len(hours), median)
    out["composite"] = composite(out, weights)
    return out


def sorted_breakdowns(tallied: Tally) -> dict[str, dict[str, int]]:
    """Return the breakdowns, largest first."""
    return {name: dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
            for name, counts in tallied.breakdowns.items()}


def weekly(session: Session, unit_ids: Sequence[int], weeks: Sequence[Period],
           weights: Weights) -> list[dict[str, Value]]:
    """Return the figures of each week, in one grouped query per dated fact (the weeks as CASE buckets)."""
    grids = list(unit_ids)
    out: list[dict[str, Value]] = []
    tallies = [Tally() for _ in weeks]
    by_dated: dict[str, list[Figure]] = defaultdict(list)
    for figure in FIGURES:
        if figure.dated and figure.kind in (Kind.RATE, Kind.COUNT) and figure.name in WEEKLY:
            by_dated[figure.dated].append(figure)
    whole = Period(weeks[0].first, weeks[-1].last)
    for dated, figures in by_dated.items():
        attr = getattr(F, dated)
        bucket = case(*[(attr < week.end, i) for i, week in enumerate(weeks)], else_=len(weeks))
        columns = [_as_int(f.counts_sql()) if f.counts_sql else func.count() for f in figures]
        query = (select(bucket, func.count(), *columns).where(F.grid_unit_id.in_(grids), _within(dated, whole))
                 .group_by(bucket))
        for index, below, *tops in session.execute(query):
            if index >= len(weeks):
                continue
            for figure, top in zip(figures, tops, strict=True):
                tallies[index].top[figure.name] += int(top or 0)
                tallies[index].below[figure.name] += int(below)
    for tallied in tallies:
        out.append(values_of(tallied, weights))
    return out


# The figures the weekly trend draws: the count received and the three rates of the composite.
WEEKLY = {"received", "response_rate", "resolution_rate", "satisfaction_rate"}


def scorecard(session: Session, unit: Unit, period: Period, weights: Weights | None = None) -> Scorecard:
    """Compute the figures of ``unit`` and of each unit directly below it, in the database."""
    weights = weights or analysis_settings().weights
    children = child_units(session, unit)
    groups = {unit.code: subtree(session, unit), **{c.code: subtree(session, c) for c in children}}
    tallied = tally(session, groups, period)

    def figures(u: Unit) -> UnitFigures:
        return UnitFigures(u.code, u.name, u.level, values_of(tallied[u.code], weights),
                           sorted_breakdowns(tallied[u.code]))

    return Scorecard(period, figures(unit), [figures(c) for c in children], facts_as_of(session))
