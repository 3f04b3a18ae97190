"""What the dashboard shows: tiles against the previous period, weekly trends, breakdowns, hot spots, lists."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from schemas.vocabulary import Level
from workflow.analysis.aggregate import scorecard, tally, values_of, weekly
from workflow.analysis.kpis import Scorecard, Value, subtree
from workflow.analysis.models import CaseFacts as F
from workflow.analysis.models import DailyTally as D
from workflow.analysis.periods import Period, weeks_back
from workflow.analysis.rollup import KIND_PREFIX
from workflow.analysis.settings import AnalysisSettings, analysis_settings
from workflow.cases.models import Case, Evaluation
from workflow.org.models import Unit

TREND_WEEKS = 26
LIST_LIMIT = 20  # the page shows the latest; the exports and the report have them all
# A rating at or below this is "dissatisfied" on the dashboard's list.
DISSATISFIED_AT_MOST = 2


@dataclass(frozen=True)
class Week:
    """One week of the trend: cases received and the three rates."""

    first: date
    received: int
    rates: dict[str, float | None]


@dataclass(frozen=True)
class ListedCase:
    """A case on one of the dashboard's lists (no personal data)."""

    id: int
    grid: str
    category: str
    severity: str
    state: str
    at: datetime
    rating: int | None = None
    comment: str | None = None


@dataclass(frozen=True)
class HotSpots:
    """Cases received by grid and category; cells under the threshold are None (not shown)."""

    categories: list[str]
    rows: list[tuple[str, str, list[int | None]]]  # grid code, grid name, a count per category
    threshold: int


@dataclass
class Dashboard:
    """Everything the dashboard page draws for one unit and period."""

    card: Scorecard
    previous: dict[str, Value]
    weeks: list[Week]
    hot_spots: HotSpots
    lists: dict[str, list[ListedCase]]


def trend(session: Session, unit_ids: list[int], last: date, settings: AnalysisSettings) -> list[Week]:
    """Return the weekly trend of the last ``TREND_WEEKS`` weeks up to ``last``."""
    weeks = weeks_back(last, TREND_WEEKS)
    out = []
    for week, values in zip(weeks, weekly(session, unit_ids, weeks, settings.weights), strict=True):
        out.append(Week(week.first, int(values["received"].numerator or 0),
                        {name: values[name].value for name in ("response_rate", "resolution_rate",
                                                               "satisfaction_rate", "composite")}))
    return out


def hot_spots(session: Session, unit_ids: list[int], period: Period, threshold: int) -> HotSpots:
    """Count the period's cases by grid and category, hiding the small cells (DOMAIN.md: counts ≥ 5)."""
    counts: dict[tuple[int, str], int] = {}
    prefix = f"{KIND_PREFIX}category."
    # The daily tallies of the cases received by category: ~30 rows a grid and category for a month.
    query = (select(D.grid_unit_id, D.measure, func.sum(D.value))
             .where(D.grid_unit_id.in_(unit_ids), D.day >= period.first, D.day <= period.last,
                    D.measure.like(f"{prefix}%"))
             .group_by(D.grid_unit_id, D.measure))
    for grid_id, measure, count in session.execute(query):
        if count:
            counts[(grid_id, measure[len(prefix):])] = int(count)
    by_category: dict[str, int] = {}
    for (_, category), n in counts.items():
        by_category[category] = by_category.get(category, 0) + n
    categories = sorted(by_category, key=lambda c: (-by_category[c], c))
    grids = session.execute(select(Unit.id, Unit.code, Unit.name).where(Unit.id.in_(unit_ids),
                                                                        Unit.level == Level.GRID.value)
                            .order_by(Unit.code)).all()
    table = []
    for grid_id, code, name in grids:
        cells = [counts.get((grid_id, c)) for c in categories]
        if any(cells):
            table.append((code, name, [n if n is not None and n >= threshold else None for n in cells]))
    return HotSpots(categories, table, threshold)


def _latest(session: Session, unit_ids: list[int], period: Period, column: str,
            extra: list[ColumnElement[bool]] | None = None) -> list[tuple[datetime, int]]:
    attr = getattr(F, column)
    query = (select(attr, F.case_id).where(F.grid_unit_id.in_(unit_ids), attr >= period.start, attr < period.end,
                                           *(extra or []))
             .order_by(attr.desc()).limit(LIST_LIMIT))
    return [(at, case_id) for at, case_id in session.execute(query)]


def case_lists(session: Session, unit_ids: list[int], period: Period) -> dict[str, list[ListedCase]]:
    """Return the overdue, supervised, reopened and dissatisfied cases of the period, latest first."""
    picks = {"overdue": _latest(session, unit_ids, period, "overdue_at"),
             "supervised": _latest(session, unit_ids, period, "supervised_at"),
             "reopened": _latest(session, unit_ids, period, "reopened_at"),
             "dissatisfied": _latest(session, unit_ids, period, "answered_at",
                                     [F.answer_satisfaction <= DISSATISFIED_AT_MOST])}
    wanted = {case_id for chosen in picks.values() for _, case_id in chosen}
    cases = {c.id: c for c in session.scalars(select(Case).where(Case.id.in_(wanted)))} if wanted else {}
    answers: dict[int, Evaluation] = {}
    if wanted:
        for given in session.scalars(select(Evaluation).where(Evaluation.case_id.in_(wanted)).order_by(Evaluation.id)):
            answers[given.case_id] = given  # the last one wins
    out: dict[str, list[ListedCase]] = {}
    for name, chosen in picks.items():
        listed = []
        for at, case_id in chosen:
            case, answer = cases[case_id], answers.get(case_id)
            listed.append(ListedCase(case.id, case.grid_unit.code, case.category, case.severity, case.state, at,
                                     answer.satisfaction if answer else None, answer.comment if answer else None))
        out[name] = listed
    return out


def dashboard(session: Session, unit: Unit, period: Period) -> Dashboard:
    """Build the dashboard of ``unit`` for ``period``."""
    settings = analysis_settings()
    ids = subtree(session, unit)
    card = scorecard(session, unit, period, settings.weights, child_medians=False)
    before = tally(session, {unit.code: ids}, period.previous(), with_breakdowns=False)[unit.code]
    previous = values_of(before, settings.weights)
    return Dashboard(card, previous, trend(session, ids, period.last, settings),
                     hot_spots(session, ids, period, settings.hot_spot_min), case_lists(session, ids, period))


def worst(values: list[float | None], higher_is_better: bool) -> int | None:
    """Return the index of the worst value (None when fewer than two have data)."""
    present = [(v, i) for i, v in enumerate(values) if v is not None]
    if len(present) < 2 or min(present)[0] == max(present)[0]:
        return None  # nothing to single out when all are alike
    pick = min(present) if higher_is_better else max(present)
    return pick[1]

