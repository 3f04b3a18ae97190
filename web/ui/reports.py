"""The monthly 民意分析 report from the dashboard: asked for, made by a worker with progress, then offered."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from web.session import EXTENSION, db_session
from web.ui.accounts import ANALYSIS_ROLES, member, member_row, roles_required
from web.ui.errors import html_errors
from web.ui.i18n import current_language
from web.ui.security import limiter, protect_forms
from workflow.analysis.models import Report
from workflow.analysis.report import request_report
from workflow.analysis.scope import unit_in_scope
from workflow.org.models import Unit

bp = Blueprint("reports", __name__)
protect_forms(bp)
html_errors(bp)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


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
