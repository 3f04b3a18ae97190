"""The analysis pages: the dashboard of a unit and period, and the cases behind a figure."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import Blueprint, abort, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from schemas.vocabulary import Level
from web.session import db_session
from web.ui.accounts import ANALYSIS_ROLES, member_row, roles_required
from web.ui.charts import bar_list, trend_chart
from web.ui.errors import html_errors
from web.ui.i18n import category_name, current_language
from workflow.analysis.dashboard import Dashboard, dashboard, worst
from workflow.analysis.definitions import BY_NAME, FIGURES, Figure, Kind, text
from workflow.analysis.kpis import Value, case_ids
from workflow.analysis.kpis import subtree as subtree_ids
from workflow.analysis.periods import Period, local_today, month_of, parse_period, week_of
from workflow.analysis.scope import unit_in_scope
from workflow.base.errors import DomainError
from workflow.cases.models import Case
from workflow.org.models import Unit
from workflow.registry.visits import coverage

bp = Blueprint("analysis", __name__)
html_errors(bp)

# A figure's page lists this many cases; the export has them all.
LIST_MAX = 500

TILES = ("received", "composite", "response_rate", "resolution_rate", "satisfaction_rate", "on_time_rate",
         "in_grid_rate", "redo_rate", "participation_rate", "mediation_success_rate", "overdue", "supervised",
         "median_contact_hours",
         "median_resolution_hours")
COLUMNS = ("received", "composite", "response_rate", "resolution_rate", "satisfaction_rate", "on_time_rate",
           "in_grid_rate", "redo_rate", "overdue")
INTAKE_CHANNELS = {
    "grid_patrol": _l("Grid patrol"), "household_report": _l("Central household report"), "walk_in": _l("Walk-in"),
    "hotline": _l("Hotline"), "service_card": _l("Service card or QR code"), "touch_screen": _l("Touch screen"),
    "web": _l("Website or mini-program"), "12345": _l("12345 transfer"), "referral": _l("Police or court referral"),
    "api": _l("Other system (API)"),
}
LISTS = {"overdue": _l("Overdue in the period"), "supervised": _l("Supervised in the period"),
         "reopened": _l("Reopened in the period"), "dissatisfied": _l("Dissatisfied residents")}


def intake_channel_name(code: str) -> str:
    """Name the channel a case came in by."""
    return str(INTAKE_CHANNELS.get(code, code))


def show(value: Value | None) -> str:
    """Format a figure's value for people: a percentage, a count, or hours."""
    if value is None or value.value is None:
        return "—"
    if value.kind in (Kind.RATE, Kind.COMPOSITE):
        return f"{value.value * 100:.1f}%"
    if value.kind == Kind.MEDIAN:
        return str(_("%(hours)s h", hours=f"{value.value:.1f}"))
    return f"{value.value:g}"


def change(now: Value, before: Value | None, figure: Figure) -> tuple[str, str]:
    """Return the change against the previous period as text and a class (better, worse or same)."""
    if before is None or now.value is None or before.value is None:
        return "", "same"
    delta = now.value - before.value
    if abs(delta) < 1e-9:
        return "±0", "same"
    shown = f"{delta * 100:+.1f} pt" if now.kind in (Kind.RATE, Kind.COMPOSITE) else f"{delta:+g}"
    better = (delta > 0) == figure.higher_is_better
    return shown, "better" if better else "worse"


def _period() -> Period:
    choice = request.args.get("period")
    today = local_today()
    if choice == "week":
        return week_of(today)
    if choice == "last_month":
        return month_of(today).previous()
    return parse_period(request.args.get("from"), request.args.get("to"))


def _units_to_pick(session: Any, unit: Unit) -> list[Unit]:
    ids = subtree_ids(session, unit)
    return list(session.scalars(select(Unit).where(Unit.id.in_(ids), Unit.level != Level.HOUSEHOLD.value)
                                .order_by(Unit.code)))


def _sorted_children(board: Dashboard, key: str, descending: bool) -> list[Any]:
    def sort_key(child: Any) -> tuple[int, float]:
        value = child.figures[key].value
        return (value is None, -(value or 0) if descending else (value or 0))

    return sorted(board.card.children, key=sort_key)


@bp.get("/analysis")
@roles_required(*ANALYSIS_ROLES)
def overview() -> ResponseReturnValue:
    """The dashboard: tiles against the previous period, trends, breakdowns, child units, hot spots, lists."""
    language = current_language()
    period = _period()
    with db_session() as session:
        unit = unit_in_scope(session, member_row(session), request.args.get("unit"))
        board = dashboard(session, unit, period)
        choices = [(u.code, u.name) for u in _units_to_pick(session, unit_in_scope(session, member_row(session),
                                                                                    None))]
        unit_code = unit.code
        visits = _visit_coverage(session, member_row(session), unit_code, period.last)
    sort = request.args.get("sort", "composite")
    if sort not in COLUMNS:
        sort = "composite"
    descending = request.args.get("dir", "desc") != "asc"
    children = _sorted_children(board, sort, descending)
    worst_of = {name: worst([c.figures[name].value for c in children], BY_NAME[name].higher_is_better)
                for name in COLUMNS}
    weeks = board.weeks
    rate_names = ("composite", "response_rate", "satisfaction_rate")
    trend_svg = trend_chart(
        [w.first.strftime("%m-%d") for w in weeks], [w.received for w in weeks],
        {name: [w.rates[name] for w in weeks] for name in rate_names},
        _("Cases received by week, with the rates"),
        {**{name: text(BY_NAME[name].title, language) for name in rate_names},
         "received": text(BY_NAME["received"].title, language)})
    breakdowns = board.card.unit.breakdowns
    category_svg = bar_list([(category_name(k), n) for k, n in list(breakdowns["category"].items())[:10]],
                            _("Cases received by category"))
    channel_svg = bar_list([(intake_channel_name(k), n) for k, n in breakdowns["channel"].items()],
                           _("Cases received by channel"))
    base_args = {"unit": unit_code, "from": period.first.isoformat(), "to": period.last.isoformat()}
    return render_template(
        "analysis.html", board=board, period=period, previous=period.previous(), unit_code=unit_code,
        choices=choices, figures={f.name: f for f in FIGURES}, tiles=TILES, columns=COLUMNS, children=children,
        worst_of=worst_of, sort=sort, descending=descending, show=show, change=change, text=text,
        trend_svg=trend_svg, category_svg=category_svg, channel_svg=channel_svg, lists=LISTS,
        base_args=base_args, intake_channel_name=intake_channel_name, severities=breakdowns["severity"],
        report_month=month_of(local_today()).previous().label(), visits=visits)


def _visit_coverage(session: Any, user: Any, unit_code: str, last: date) -> dict[str, Any] | None:
    """走访覆盖率 from the registers: the month the period ends in, against the month before (None if no register)."""
    month = last.strftime("%Y-%m")
    before = (last.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    try:
        now, previous = coverage(session, user, unit_code, month), coverage(session, user, unit_code, before)
    except DomainError:
        return None
    if not now["households"]:
        return None
    return {"month": month, "now": now, "previous": previous}


@bp.get("/analysis/cases")
@roles_required(*ANALYSIS_ROLES)
def figure_cases() -> ResponseReturnValue:
    """The cases behind one part of a figure, each a link to the case."""
    kpi, part = request.args.get("kpi", ""), request.args.get("part", "numerator")
    if part not in ("numerator", "denominator"):
        abort(422)
    period = parse_period(request.args.get("from"), request.args.get("to"))
    with db_session() as session:
        unit = unit_in_scope(session, member_row(session), request.args.get("unit"))
        ids = case_ids(session, unit, period, kpi, part)  # type: ignore[arg-type]
        cases = list(session.scalars(select(Case).where(Case.id.in_(ids[:LIST_MAX])).order_by(Case.id)))
        rows = [(c.id, c.grid_unit.code, c.category, c.severity, c.state) for c in cases]
        unit_code = unit.code
    figure = BY_NAME[kpi.partition(".")[0]]
    return render_template("analysis_cases.html", figure=figure, part=part, period=period, rows=rows,
                           total=len(ids), unit_code=unit_code, text=text, language=current_language(),
                           back=_overview_url(unit_code, period),
                           export_args={"unit": unit_code, "from": period.first.isoformat(),
                                        "to": period.last.isoformat(), "kpi": kpi, "part": part})


def _overview_url(unit_code: str, period: Period) -> str:
    args: dict[str, Any] = {"unit": unit_code, "from": period.first.isoformat(), "to": period.last.isoformat()}
    return url_for("analysis.overview", **args)

