"""The figures of a unit's subtree for a period, and of each child unit, with the cases behind each part."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from schemas.vocabulary import Level
from workflow.analysis.definitions import BREAKDOWNS, BY_NAME, COMPOSITE_PARTS, FIGURES, Figure, Kind
from workflow.analysis.models import CaseFacts
from workflow.analysis.periods import Period
from workflow.analysis.settings import Weights
from workflow.base.errors import N_, InvalidInput
from workflow.clock.models import Heartbeat
from workflow.org.models import Unit

Part = Literal["numerator", "denominator"]
REFRESH_HEARTBEAT = "analysis_refresh"


@dataclass(frozen=True)
class Value:
    """One figure: numerator, denominator and the value (a rate in 0–1, a count, or hours)."""

    name: str
    kind: str
    numerator: float | None
    denominator: float | None
    value: float | None


@dataclass
class UnitFigures:
    """A unit's figures for a period, and how its cases received break down."""

    code: str
    name: str
    level: str
    figures: dict[str, Value]
    breakdowns: dict[str, dict[str, int]] = field(default_factory=dict)


def _dated(row: CaseFacts, figure: Figure) -> datetime | None:
    return getattr(row, figure.dated) if figure.dated else None


def is_open_in(row: CaseFacts, period: Period) -> bool:
    """Tell whether a case was open at some time in the period."""
    return row.received_at < period.end and (row.ended_at is None or row.ended_at >= period.start)


def in_part(row: CaseFacts, figure: Figure, period: Period, part: Part) -> bool:
    """Tell whether a case is counted in a figure's numerator or denominator for the period."""
    if figure.kind is Kind.COUNT:
        return period.contains(_dated(row, figure)) if part == "numerator" else is_open_in(row, period)
    if not period.contains(_dated(row, figure)):
        return False
    if figure.kind is Kind.MEDIAN:
        return figure.measure(row) is not None
    return part == "denominator" or figure.counts(row)


def compute(rows: Sequence[CaseFacts], period: Period, weights: Weights) -> dict[str, Value]:
    """Compute every figure over the facts of some cases (those of one unit's subtree)."""
    out: dict[str, Value] = {}
    for figure in FIGURES:
        if figure.kind is Kind.COMPOSITE:
            continue
        numerator = [r for r in rows if in_part(r, figure, period, "numerator")]
        if figure.kind is Kind.COUNT:
            below = sum(1 for r in rows if is_open_in(r, period))
            out[figure.name] = Value(figure.name, figure.kind, len(numerator), below, len(numerator))
        elif figure.kind is Kind.MEDIAN:
            hours = [(figure.measure(r) or 0) / 3600 for r in numerator]
            median = round(statistics.median(hours), 2) if hours else None
            out[figure.name] = Value(figure.name, figure.kind, len(hours), len(hours), median)
        else:
            below = sum(1 for r in rows if in_part(r, figure, period, "denominator"))
            value = round(len(numerator) / below, 4) if below else None
            out[figure.name] = Value(figure.name, figure.kind, len(numerator), below, value)
    out["composite"] = composite(out, weights)
    return out


def composite(values: dict[str, Value], weights: Weights) -> Value:
    """Return the 三率 composite: the weighted mean of the rates that have data."""
    top = below = 0.0
    for weight_name, figure_name in COMPOSITE_PARTS.items():
        rate = values[figure_name].value
        if rate is not None:
            weight = float(getattr(weights, weight_name))
            top += weight * rate
            below += weight
    value = round(top / below, 4) if below else None
    return Value("composite", Kind.COMPOSITE, round(top, 4), round(below, 4), value)


def breakdown(rows: Iterable[CaseFacts], period: Period) -> dict[str, dict[str, int]]:
    """Count the cases received in the period by channel, category and severity."""
    out: dict[str, dict[str, int]] = {name: {} for name in BREAKDOWNS}
    for row in rows:
        if period.contains(row.received_at):
            for name in BREAKDOWNS:
                key = str(getattr(row, name))
                out[name][key] = out[name].get(key, 0) + 1
    return {name: dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))) for name, counts in out.items()}


def subtree(session: Session, unit: Unit) -> list[int]:
    """Return the ids of ``unit`` and every unit below it."""
    # The tree is read once per transaction: a scorecard asks for the subtree of a unit and of each child.
    children: dict[int | None, list[int]] | None = session.info.get("analysis_children")
    if children is None:
        children = {}
        for uid, parent in session.execute(select(Unit.id, Unit.parent_id)):
            children.setdefault(parent, []).append(uid)
        session.info["analysis_children"] = children
    found, todo = [], [unit.id]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def child_units(session: Session, unit: Unit) -> list[Unit]:
    """Return the units directly below ``unit`` that cases can belong to (not households)."""
    return list(session.scalars(select(Unit).where(Unit.parent_id == unit.id, Unit.level != Level.HOUSEHOLD.value)
                                .order_by(Unit.code)))


def load_facts(session: Session, unit_ids: Sequence[int], period: Period,
               open_too: bool = True) -> list[CaseFacts]:
    """Load the facts of the cases of these units that any figure could place in the period."""
    start, end = period.start, period.end
    dated = [and_(getattr(CaseFacts, name) >= start, getattr(CaseFacts, name) < end)
             for name in sorted({f.dated for f in FIGURES if f.dated})]
    if open_too:
        dated.append(and_(CaseFacts.received_at < end, or_(CaseFacts.ended_at.is_(None), CaseFacts.ended_at >= start)))
    query = select(CaseFacts).where(CaseFacts.grid_unit_id.in_(list(unit_ids)), or_(*dated))
    return list(session.scalars(query.order_by(CaseFacts.case_id)))


@dataclass
class Scorecard:
    """A unit's figures and its child units' figures for one period, and when the facts were derived."""

    period: Period
    unit: UnitFigures
    children: list[UnitFigures]
    facts_as_of: datetime | None


def case_ids(session: Session, unit: Unit, period: Period, kpi: str, part: Part) -> list[int]:
    """Return the ids of the cases behind one part of one figure; ``received.channel.hotline`` narrows a count.

    Raises:
        InvalidInput: no such figure, or the composite (it has no cases of its own).
    """
    name, _, narrow = kpi.partition(".")
    figure = BY_NAME.get(name)
    if figure is None:
        raise InvalidInput(N_("no figure '%(kpi)s'; the figures are: %(figures)s"), field="kpi",
                           kpi=kpi, figures=", ".join(BY_NAME))
    if figure.kind is Kind.COMPOSITE:
        raise InvalidInput(N_("the composite has no cases of its own; open response_rate, resolution_rate "
                              "or satisfaction_rate"), field="kpi")
    dimension, _, key = narrow.partition(".")
    if narrow and (name != "received" or dimension not in BREAKDOWNS or not key):
        raise InvalidInput(N_("'%(kpi)s': only received.<%(breakdowns)s>.<code> narrows a figure"), field="kpi",
                           kpi=kpi, breakdowns="|".join(BREAKDOWNS))
    rows = load_facts(session, subtree(session, unit), period, open_too=part == "denominator")
    return [r.case_id for r in rows if in_part(r, figure, period, part)
            and (not narrow or str(getattr(r, dimension)) == key)]


def facts_as_of(session: Session) -> datetime | None:
    """Return when the facts were last brought up to date, or None if never."""
    beat = session.get(Heartbeat, REFRESH_HEARTBEAT)
    return beat.at if beat else None
