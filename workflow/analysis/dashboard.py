"""What the dashboard shows: tiles against the previous period, weekly trends, breakdowns, hot spots, lists."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from schemas.vocabulary import Level
from workflow.analysis.kpis import Scorecard, Value, compute, load_facts, scorecard, subtree
from workflow.analysis.models import CaseFacts
from workflow.analysis.periods import Period, weeks_back
from workflow.analysis.settings import AnalysisSettings, analysis_settings
from workflow.cases.models import Case, Evaluation
from workflow.org.models import Unit

TREND_WEEKS = 26
LIST_LIMIT = 50
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
    rows = load_facts(session, unit_ids, Period(weeks[0].first, weeks[-1].last), open_too=False)
    out = []
    for week in weeks:
        mine = [r for r in rows if any(week.contains(getattr(r, name)) for name in (
            "received_at", "contact_due_at", "answered_at"))]
        values = compute(mine, week, settings.weights)
        out.append(Week(week.first, int(values["received"].numerator or 0),
                        {name: values[name].value for name in ("response_rate", "resolution_rate",
                                                               "satisfaction_rate", "composite")}))
    return out


def hot_spots(session: Session, unit_ids: list[int], rows: list[CaseFacts], period: Period,
              threshold: int) -> HotSpots:
    """Count the period's cases by grid and category, hiding the small cells (DOMAIN.md: counts ≥ 5)."""
    counts: dict[tuple[int, str], int] = {}
    for row in rows:
        if period.contains(row.received_at):
            key = (row.grid_unit_id, row.category)
            counts[key] = counts.get(key, 0) + 1
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


def case_lists(session: Session, rows: list[CaseFacts], period: Period) -> dict[str, list[ListedCase]]:
    """Return the overdue, supervised, reopened and dissatisfied cases of the period, latest first."""
    picks: dict[str, list[tuple[datetime, int]]] = {"overdue": [], "supervised": [], "reopened": [],
                                                    "dissatisfied": []}
    for row in rows:
        for name, at in (("overdue", row.overdue_at), ("supervised", row.supervised_at),
                         ("reopened", row.reopened_at)):
            if at is not None and period.contains(at):
                picks[name].append((at, row.case_id))
        if (row.answered_at is not None and period.contains(row.answered_at)
                and (row.answer_satisfaction or 0) <= DISSATISFIED_AT_MOST):
            picks["dissatisfied"].append((row.answered_at, row.case_id))
    wanted = {case_id for chosen in picks.values() for _, case_id in sorted(chosen, reverse=True)[:LIST_LIMIT]}
    cases = {c.id: c for c in session.scalars(select(Case).where(Case.id.in_(wanted)))} if wanted else {}
    answers: dict[int, Evaluation] = {}
    if wanted:
        for given in session.scalars(select(Evaluation).where(Evaluation.case_id.in_(wanted)).order_by(Evaluation.id)):
            answers[given.case_id] = given  # the last one wins
    out: dict[str, list[ListedCase]] = {}
    for name, chosen in picks.items():
        listed = []
        for at, case_id in sorted(chosen, reverse=True)[:LIST_LIMIT]:
            case, answer = cases[case_id], answers.get(case_id)
            listed.append(ListedCase(case.id, case.grid_unit.code, case.category, case.severity, case.state, at,
                                     answer.satisfaction if answer else None, answer.comment if answer else None))
        out[name] = listed
    return out


def dashboard(session: Session, unit: Unit, period: Period) -> Dashboard:
    """Build the dashboard of ``unit`` for ``period``."""
    settings = analysis_settings()
    ids = subtree(session, unit)
    card = scorecard(session, unit, period, settings.weights)
    previous_period = period.previous()
    previous = compute(load_facts(session, ids, previous_period), previous_period, settings.weights)
    rows = load_facts(session, ids, period, open_too=False)
    return Dashboard(card, previous, trend(session, ids, period.last, settings),
                     hot_spots(session, ids, rows, period, settings.hot_spot_min), case_lists(session, rows, period))


def worst(values: list[float | None], higher_is_better: bool) -> int | None:
    """Return the index of the worst value (None when fewer than two have data)."""
    present = [(v, i) for i, v in enumerate(values) if v is not None]
    if len(present) < 2:
        return None
    pick = min(present) if higher_is_better else max(present)
    return pick[1]

