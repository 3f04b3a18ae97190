"""The monthly 民意分析 workbook: the month's figures against last month and the same month last year.

A report is a snapshot (``analysis_reports``): when it was made, from facts of when, its figures
and the file, kept so that next month's report can show this one's figures beside its own.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy import select
from sqlalchemy.orm import Session

from schemas.vocabulary import FINAL_STATES, Category
from workflow.analysis.aggregate import scorecard, sorted_breakdowns, tally, values_of
from workflow.analysis.dashboard import DISSATISFIED_AT_MOST, hot_spots
from workflow.analysis.definitions import FIGURES, Kind, text
from workflow.analysis.hot_terms import hot_terms
from workflow.analysis.kpis import Value, facts_as_of, subtree
from workflow.analysis.models import CaseFacts as F
from workflow.analysis.models import Report
from workflow.analysis.periods import Period, month_of, parse_month
from workflow.analysis.settings import analysis_settings
from workflow.base import config, wallclock
from workflow.base.privacy import scrub
from workflow.cases.categories import CATEGORIES
from workflow.cases.models import Case, Evaluation
from workflow.mediation.models import Mediation
from workflow.org.models import Unit

logger = logging.getLogger(__name__)

SHEETS = ("概要 Summary", "各单位 Units", "类别渠道 Categories", "热点 Hot spots", "民意热点 Themes",
          "超时重办 Overdue", "不满意 Dissatisfied", "调解 Mediation", "高风险 Watch list")
Progress = Callable[[int, str], None]
_LIST_LIMIT = 500
_LANG = {"zh_Hans": 0, "zh_Hant": 1}


def request_report(session: Session, unit: Unit, month: str, requested_by: str) -> Report:
    """Record that a report was asked for (pending); ``build`` makes it.

    Raises:
        InvalidInput: the month is not YYYY-MM.
    """
    parse_month(month)
    report = Report(unit_id=unit.id, month=month, requested_by=requested_by, status="pending", progress=0,
                    created_at=wallclock.now())
    session.add(report)
    session.flush()
    return report


def _mediation_sheet(sheet: Any, session: Session, ids: list[int], period: Period, zone: ZoneInfo,
                     figures: dict[str, Value]) -> dict[str, Any]:
    """Write the mediations of the month (proposed in it, or still open) and return their outcomes by state."""
    sheet.append(["case", "mediation", "kind", "state", "proposed", "due", "outcome"])
    success = figures["mediation_success_rate"]
    by_state: dict[str, int] = {}
    query = (select(Mediation.id, Mediation.case_id, Mediation.kind, Mediation.state, Mediation.proposed_at,
                    Mediation.due_at, Mediation.outcome)
             .join(Case, Case.id == Mediation.case_id)
             .where(Case.grid_unit_id.in_(ids), Mediation.proposed_at < period.end,
                    (Mediation.proposed_at >= period.start) | (Mediation.updated_at >= period.start))
             .order_by(Mediation.proposed_at).limit(_LIST_LIMIT))
    for mediation_id, case_id, kind, state, proposed_at, due_at, outcome in session.execute(query):
        by_state[state] = by_state.get(state, 0) + 1
        # The outcome is a mediator's free text: numbers masked before it leaves the system.
        sheet.append([case_id, mediation_id, kind, state, proposed_at.astimezone(zone).strftime("%Y-%m-%d"),
                      due_at.astimezone(zone).strftime("%Y-%m-%d"), scrub(outcome or "")])
    sheet.append([])
    sheet.append(["mediation_success_rate", _fmt(success), success.numerator, success.denominator])
    _bold(sheet)
    return {"by_state": by_state, "success": [success.numerator, success.denominator, _fmt(success)]}


def _largest_first(now: dict[str, int], before: dict[str, int]) -> list[str]:
    return sorted(set(now) | set(before), key=lambda k: (-now.get(k, 0), k))


def _same_month_last_year(period: Period) -> Period:
    return month_of(date(period.first.year - 1, period.first.month, 1))


def _fmt(value: Value | None) -> Any:
    if value is None or value.value is None:
        return None
    return round(value.value * 100, 1) if value.kind in (Kind.RATE, Kind.COMPOSITE) else value.value


def _bold(sheet: Any) -> None:
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"


def build(session: Session, report: Report, language: str = "zh_Hans", progress: Progress | None = None) -> bytes:
    """Make the workbook of a report, store it and its figures on the report, and return it."""
    tell = progress or (lambda pct, stage: None)
    index = _LANG.get(language, 2)
    unit = session.get(Unit, report.unit_id)
    assert unit is not None
    period = parse_month(report.month)
    before, last_year = period.previous(), _same_month_last_year(period)
    settings = analysis_settings()
    ids = subtree(session, unit)
    # Nothing is written to the report row until the end: a task shows progress from another transaction.
    tell(5, "figures")
    card = scorecard(session, unit, period, settings.weights)
    then = {p: tally(session, {unit.code: ids}, p)[unit.code] for p in (before, last_year)}
    previous_values = {p: values_of(t, settings.weights) for p, t in then.items()}
    earlier = session.scalars(select(Report).where(Report.unit_id == unit.id, Report.month == before.label(),
                                                   Report.status == "done").order_by(Report.id.desc())).first()
    earlier_figures: dict[str, Any] = (earlier.summary or {}).get("figures", {}) if earlier else {}
    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = SHEETS[0]
    zone = ZoneInfo(config.timezone_name())
    summary.append(["gridcase 民意分析", unit.name, unit.code, report.month])
    summary.append(["made at / 生成时间", wallclock.now().astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                    "facts as of / 数据截至", (card.facts_as_of.astimezone(zone).strftime("%Y-%m-%d %H:%M")
                                               if card.facts_as_of else "")])
    summary.append([])
    summary.append(["figure", "title", "value", "numerator", "denominator", before.label(), last_year.label(),
                    "report of " + before.label(), "formula"])
    for figure in FIGURES:
        value = card.unit.figures[figure.name]
        summary.append([figure.name, text(figure.title, language), _fmt(value), value.numerator, value.denominator,
                        _fmt(previous_values[before].get(figure.name)),
                        _fmt(previous_values[last_year].get(figure.name)),
                        earlier_figures.get(figure.name), text(figure.formula, language)])
    for cell in summary[4]:
        cell.font = Font(bold=True)
    tell(30, "units")
    units = book.create_sheet(SHEETS[1])
    names = [f.name for f in FIGURES]
    units.append(["unit", "name", *[text(f.title, language) for f in FIGURES]])
    for child in [card.unit, *card.children]:
        units.append([child.code, child.name, *[_fmt(child.figures[n]) for n in names]])
        units.append(["", "numerator / denominator",
                      *[f"{child.figures[n].numerator:g} / {child.figures[n].denominator:g}"
                        if child.figures[n].numerator is not None and child.figures[n].denominator is not None
                        else "" for n in names]])
    _bold(units)
    tell(45, "categories")
    kinds = book.create_sheet(SHEETS[2])
    kinds.append(["dimension", "code", "name", report.month, before.label(), last_year.label(), "vs last month %",
                  "vs last year %"])
    now_counts = card.unit.breakdowns
    then_counts = {p: sorted_breakdowns(t) for p, t in then.items()}
    for dimension in ("category", "channel", "severity"):
        keys = sorted(set(now_counts[dimension]) | set(then_counts[before][dimension]),
                      key=lambda k: -now_counts[dimension].get(k, 0))
        for key in keys:
            n = now_counts[dimension].get(key, 0)
            b = then_counts[before][dimension].get(key, 0)
            y = then_counts[last_year][dimension].get(key, 0)
            name = key
            if dimension == "category" and key in Category.__members__:
                info = CATEGORIES.get(Category(key))
                name = (info.zh_hans, info.zh_hant, info.en)[index] if info else key
            kinds.append([dimension, key, name, n, b, y, round((n - b) / b * 100, 1) if b else None,
                          round((n - y) / y * 100, 1) if y else None])
    _bold(kinds)
    tell(55, "hot spots")
    spots = hot_spots(session, ids, period, settings.hot_spot_min)
    hot = book.create_sheet(SHEETS[3])
    hot.append(["grid", "name", *spots.categories])
    for code, name, cells in spots.rows:
        hot.append([code, name, *[n if n else f"<{spots.threshold}" for n in cells]])
    _bold(hot)
    tell(60, "themes")
    themes = book.create_sheet(SHEETS[4])
    themes.append(["term", report.month, before.label(), "change"])
    terms = hot_terms(session, ids, period)
    for term in terms:
        themes.append([term.term, term.count, term.before, term.change])
    _bold(themes)
    tell(65, "lists")
    late = book.create_sheet(SHEETS[5])
    late.append(["list", "case", "grid", "category", "severity", "state", "at"])
    grid_codes: dict[int, str] = {uid: code for uid, code in session.execute(select(Unit.id, Unit.code)
                                                                              .where(Unit.id.in_(ids)))}
    listed_counts: dict[str, int] = {}
    for label, column in (("overdue", F.overdue_at), ("reopened", F.reopened_at)):
        listed = (select(F.case_id, F.grid_unit_id, F.category, F.severity, F.state, column)
                  .where(F.grid_unit_id.in_(ids), column >= period.start, column < period.end)
                  .order_by(column).limit(_LIST_LIMIT))
        listed_counts[label] = 0
        for case_id, grid, category, severity, state, at in session.execute(listed):
            listed_counts[label] += 1
            late.append([label, case_id, grid_codes.get(grid, grid), category, severity, state,
                         at.astimezone(zone).strftime("%Y-%m-%d %H:%M") if at else ""])
    _bold(late)
    tell(75, "dissatisfied")
    unhappy = book.create_sheet(SHEETS[6])
    unhappy.append(["case", "grid", "category", "resolved", "satisfaction", "comment", "at"])
    answers = (select(Evaluation, Case).join(Case, Case.id == Evaluation.case_id)
             .where(Case.grid_unit_id.in_(ids), Evaluation.at >= period.start, Evaluation.at < period.end,
                    Evaluation.satisfaction <= DISSATISFIED_AT_MOST).order_by(Evaluation.at).limit(_LIST_LIMIT))
    listed_counts["dissatisfied"] = 0
    for answer, case in session.execute(answers).all():
        listed_counts["dissatisfied"] += 1
        # A resident's comment may carry a phone or an ID number: masked before it leaves the system.
        unhappy.append([case.id, case.grid_unit.code, case.category, answer.resolved, answer.satisfaction,
                        scrub(answer.comment or ""), answer.at.astimezone(zone).strftime("%Y-%m-%d %H:%M")])
    _bold(unhappy)
    tell(80, "mediation")
    outcomes = _mediation_sheet(book.create_sheet(SHEETS[7]), session, ids, period, zone, card.unit.figures)
    tell(85, "watch list")
    watch = book.create_sheet(SHEETS[8])
    watch.append(["case", "grid", "category", "severity", "state", "level", "deadline", "supervised", "reopened",
                  "why"])
    final = [s.value for s in FINAL_STATES]
    watched = (select(Case).where(Case.grid_unit_id.in_(ids), Case.state.not_in(final),
                                (Case.severity.in_(["P0", "P1"])) | (Case.reopen_count > 0))
             .order_by(Case.severity, Case.id).limit(_LIST_LIMIT))
    listed_counts["watch"] = 0
    for case in session.scalars(watched):
        listed_counts["watch"] += 1
        why = "P0/P1" if case.severity in ("P0", "P1") else "repeat (reopened)"
        watch.append([case.id, case.grid_unit.code, case.category, case.severity, case.state, case.level,
                      case.deadline_at.astimezone(zone).strftime("%Y-%m-%d %H:%M") if case.deadline_at else "",
                      "Y" if case.supervised else "", case.reopen_count, why])
    _bold(watch)
    out = io.BytesIO()
    book.save(out)
    content = out.getvalue()
    report.content, report.status, report.progress = content, "done", 100
    report.finished_at, report.facts_as_of = wallclock.now(), facts_as_of(session)
    # Everything the printable page and the PDF show, as it was this month: they read only this.
    report.summary = {
        "figures": {f.name: _fmt(card.unit.figures[f.name]) for f in FIGURES},
        "parts": {f.name: [card.unit.figures[f.name].numerator, card.unit.figures[f.name].denominator]
                  for f in FIGURES},
        "unit": {"code": unit.code, "name": unit.name},
        "periods": {"month": report.month, "before": before.label(), "last_year": last_year.label()},
        "before": {f.name: _fmt(previous_values[before].get(f.name)) for f in FIGURES},
        "last_year": {f.name: _fmt(previous_values[last_year].get(f.name)) for f in FIGURES},
        "earlier_report": earlier_figures,
        "units": [{"code": u.code, "name": u.name, "figures": {n: _fmt(u.figures[n]) for n in names}}
                  for u in card.children],
        "breakdowns": {d: [[k, now_counts[d].get(k, 0), then_counts[before][d].get(k, 0),
                            then_counts[last_year][d].get(k, 0)] for k in _largest_first(now_counts[d],
                                                                                          then_counts[before][d])]
                       for d in ("category", "channel", "severity")},
        "hot_spots": {"categories": spots.categories, "threshold": spots.threshold,
                      "rows": [[code, name, cells] for code, name, cells in spots.rows]},
        "themes": [[t.term, t.count, t.before, t.change] for t in terms[:30]],
        "lists": listed_counts,
        "mediation": outcomes,
    }
    tell(100, "done")
    logger.info("report %s: %s %s made (%d bytes)", report.id, unit.code, report.month, len(content))
    return content
