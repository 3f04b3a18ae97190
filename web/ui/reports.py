"""The monthly 民意分析 report from the dashboard: asked for, made by a worker with progress, then offered."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select

from web.session import EXTENSION, db_session
from web.ui.accounts import ANALYSIS_ROLES, member, member_row, roles_required
from web.ui.analysis import intake_channel_name
from web.ui.charts import bar_list
from web.ui.errors import html_errors
from web.ui.i18n import category_name, current_language, when
from web.ui.mediation_page import STATE_LABELS
from web.ui.security import limiter, protect_forms
from workflow.analysis import report_pdf
from workflow.analysis.definitions import FIGURES, text
from workflow.analysis.models import Report
from workflow.analysis.report import request_report
from workflow.analysis.scope import unit_in_scope
from workflow.org.models import Unit

bp = Blueprint("reports", __name__)
protect_forms(bp)
html_errors(bp)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SEVERITIES = ("P0", "P1", "P2", "P3")


def report_words() -> dict[str, str]:
    """The report's headings in the reader's language (for the printable page and the PDF alike)."""
    return {
        "title": _("Monthly public-opinion analysis (民意分析)"), "made_at": _("Made at"),
        "facts_as_of": _("Figures last brought up to date"),
        "definitions_note": _("Each figure is defined on the analysis page and in the README: formula, numerator, "
                              "denominator and the period a case counts in."),
        "figures": _("The figures"), "figure": _("Figure"), "value": _("Value"),
        "parts": _("Numerator / denominator"), "units": _("Units side by side"), "unit": _("Unit"),
        "category": _("Category"), "channel": _("Channel"), "by_category": _("Cases by category"),
        "by_channel": _("Cases by channel"), "this_month": _("This month"), "last_month": _("Last month"),
        "hot_spots": _("Hot spots"), "hot_spots_note": _("Cases by grid and category; counts under the threshold "
                                                        "are not shown."),
        "grid": _("Grid"), "themes": _("Themes residents raised (民意热点)"), "term": _("Term"),
        "change": _("Change"), "mediation": _("Mediation outcomes"), "state": _("State"), "count": _("Count"),
        "lists": _("Lists in the workbook"), "overdue": _("Overdue in the period"),
        "reopened": _("Reopened in the period"), "dissatisfied": _("Dissatisfied residents"),
        "watch": _("Open high-risk watch list"),
        "workbook_note": _("The cases on each list, with the residents' comments, are in the workbook (XLSX)."),
    }


def report_names(summary: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Names of the codes a report's snapshot holds, in the reader's language."""
    codes = summary.get("breakdowns", {})
    categories = {code for code, *_ in codes.get("category", [])} | set(summary.get("hot_spots", {})
                                                                          .get("categories", []))
    return {"category": {c: _category(c) for c in categories},
            "channel": {c: intake_channel_name(c) for c, *_ in codes.get("channel", [])},
            "severity": {s: s for s in SEVERITIES},
            "mediation_state": {k: str(v) for k, v in STATE_LABELS.items()}}


def _category(code: str) -> str:
    try:
        return category_name(code)
    except (KeyError, ValueError):
        return code


def publish_report(report_id: int, language: str) -> None:
    """Hand a requested report to a worker (after its commit)."""
    publisher = current_app.extensions[EXTENSION].get("publish_report")
    if publisher is None:
        from workers.analysis import monthly_report

        monthly_report.delay(report_id, language)
        return
    cast(Callable[[int, str], object], publisher)(report_id, language)


def _report_for_member(report_id: int) -> tuple[Report, str]:
    with db_session() as session:
        report = session.get(Report, report_id)
        if report is None:
            abort(404)
        unit = session.get(Unit, report.unit_id)
        assert unit is not None
        unit_in_scope(session, member_row(session), unit.code)  # 403 outside the member's subtree
        session.expunge(report)
        return report, unit.code


@bp.post("/analysis/reports")
@roles_required(*ANALYSIS_ROLES)
def ask() -> ResponseReturnValue:
    """Ask for the monthly report of a unit; a worker makes it."""
    with db_session() as session:
        unit = unit_in_scope(session, member_row(session), request.form.get("unit"))
        report = request_report(session, unit, request.form.get("month", ""), member().name)
        report_id = report.id
    publish_report(report_id, current_language())
    return redirect(url_for("reports.show", report_id=report_id))


@bp.get("/analysis/reports/<int:report_id>")
@roles_required(*ANALYSIS_ROLES)
def show(report_id: int) -> ResponseReturnValue:
    """A report's page: its progress while it is made, then the file; the unit's earlier reports below."""
    report, unit_code = _report_for_member(report_id)
    with db_session() as session:
        earlier = list(session.scalars(select(Report).where(Report.unit_id == report.unit_id, Report.id != report.id,
                                                            Report.status == "done")
                                       .order_by(Report.id.desc()).limit(24)))
        rows = [(r.id, r.month, r.finished_at, r.facts_as_of) for r in earlier]
    return render_template("report.html", report=report, unit_code=unit_code, earlier=rows)


@bp.get("/analysis/reports/<int:report_id>/progress")
@roles_required(*ANALYSIS_ROLES)
@limiter.exempt
def progress(report_id: int) -> ResponseReturnValue:
    """The progress part of a report's page, for its periodic refresh."""
    report, _ = _report_for_member(report_id)
    return render_template("_report_progress.html", report=report)


@bp.get("/analysis/reports/<int:report_id>.xlsx")
@roles_required(*ANALYSIS_ROLES)
def download(report_id: int) -> ResponseReturnValue:
    """The report's workbook, once made."""
    report, unit_code = _report_for_member(report_id)
    if report.status != "done" or report.content is None:
        abort(409)
    name = f"gridcase-{unit_code}-{report.month}-{report.id}.xlsx"
    return Response(report.content, mimetype=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


def _done_report(report_id: int) -> tuple[Report, str]:
    report, unit_code = _report_for_member(report_id)
    if report.status != "done" or report.summary is None:
        abort(409)
    return report, unit_code


@bp.get("/analysis/reports/<int:report_id>/print")
@roles_required(*ANALYSIS_ROLES)
def printable(report_id: int) -> ResponseReturnValue:
    """The report as a page to print: the month's snapshot with its charts, in the reader's language."""
    report, unit_code = _done_report(report_id)
    summary = report.summary or {}
    language = current_language()
    titles = {f.name: text(f.title, language) for f in FIGURES}
    words, names = report_words(), report_names(summary)
    bars = {d: bar_list([(names[d].get(code, code), now) for code, now, *_ in summary.get("breakdowns", {})
                         .get(d, [])[:12]], words[f"by_{d}"]) for d in ("category", "channel")}
    return render_template("report_print.html", report=report, unit_code=unit_code, s=summary, words=words,
                           names=names, titles=titles, shown=report_pdf.shown, figures=[f.name for f in FIGURES],
                           bars=bars)


@bp.get("/analysis/reports/<int:report_id>.pdf")
@roles_required(*ANALYSIS_ROLES)
def pdf(report_id: int) -> ResponseReturnValue:
    """The report as a PDF, drawn from its snapshot in the reader's language."""
    report, unit_code = _done_report(report_id)
    summary = report.summary or {}
    body = report_pdf.render(summary, report_words(), report_names(summary), current_language(),
                             when(report.finished_at), when(report.facts_as_of))
    name = f"gridcase-{unit_code}-{report.month}-{report.id}.pdf"
    return Response(body, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})
