"""The registers' pages: the households of my subtree, one household (masked, reveal logged), import, export."""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from wtforms.fields import SelectChoice

from schemas.vocabulary import Role
from web.session import db_session, publish_event
from web.ui.accounts import login_required, member_row
from web.ui.errors import reason_of, status_of
from web.ui.forms import RegistryImportForm, VisitForm
from web.ui.i18n import category_name, current_language
from web.ui.security import protect_forms
from workflow.base import config, wallclock
from workflow.base.errors import DomainError
from workflow.cases.categories import CATEGORIES
from workflow.cases.models import Case
from workflow.registry import addresses
from workflow.registry.exporter import export_workbook
from workflow.registry.importer import ImportReport, Problem, import_rows, problems_workbook, read_rows
from workflow.registry.register import (
    address_label,
    get_household,
    household_view,
    households_of,
    may_see_full,
    subtree_ids,
)
from workflow.registry.repeats import (
    SCREENING_LEVELS,
    Matches,
    repeat_case_ids,
    repeat_groups,
    screening_unit,
    visible_matches,
)
from workflow.registry.visits import coverage, record_visit

bp = Blueprint("register", __name__, url_prefix="/registry")
protect_forms(bp)
IMPORT_MAX_BYTES = 20 * 1024 * 1024
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _reports_dir() -> Path:
    path = config.data_dir() / "registry-reports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _problem_text(problem: Problem) -> str:
    return str(gettext(problem.problem, **problem.params) if problem.params else gettext(problem.problem))


@bp.get("/")
@login_required
def index() -> ResponseReturnValue:
    """The households of my subtree, or the rooms matching a search."""
    q = request.args.get("q", "").strip()[:200]
    with db_session() as session:
        user = member_row(session)
        if q:
            rows = [(address_label(a), h) for a, h in addresses.search(session, q, subtree_ids(session, user.unit_id),
                                                                      limit=200)]
        else:
            rows = [(address_label(h.address), h.id) for h in households_of(session, user)]
        can_import = may_see_full(user)
    return render_template("registry.html", rows=rows, q=q, can_import=can_import)


@bp.get("/households/<int:household_id>")
@login_required
def household(household_id: int) -> ResponseReturnValue:
    """One household: its residents, masked, and its history."""
    return _household_page(household_id, reveal=False)


@bp.post("/households/<int:household_id>/reveal")
@login_required
def reveal(household_id: int) -> ResponseReturnValue:
    """Show the residents' full details to a member whose role may see them; the reveal is a step."""
    return _household_page(household_id, reveal=True)


def _household_page(household_id: int, reveal: bool) -> ResponseReturnValue:
    with db_session() as session:
        user = member_row(session)
        try:
            found = get_household(session, household_id, user)
            view = household_view(session, found, user, reveal=reveal, language=current_language())
        except DomainError as exc:
            abort(404 if exc.code == "not_found" else 403, reason_of(exc))
        can_reveal = may_see_full(user)
    return render_template("household.html", household=view, can_reveal=can_reveal)


def _visit_form() -> VisitForm:
    form = VisitForm()
    form.category.choices = [SelectChoice("", "—")] + [SelectChoice(c.value, category_name(c.value))
                                                      for c in CATEGORIES]
    return form


@bp.route("/households/<int:household_id>/visit", methods=["GET", "POST"])
@login_required
def visit(household_id: int) -> ResponseReturnValue:
    """Record a patrol visit to one of my households; a problem found becomes a case in the same step."""
    form = _visit_form()
    with db_session() as session:
        user = member_row(session)
        try:
            label = address_label(get_household(session, household_id, user).address)
        except DomainError:
            abort(404)
    if not form.validate_on_submit():
        return render_template("visit.html", form=form, address=label, household_id=household_id), (
            422 if request.method == "POST" else 200)
    case = {"category": form.category.data} if form.outcome.data == "case" and form.category.data else None
    try:
        with db_session() as session:
            recorded = record_visit(session, member_row(session), household_id, visited_on=form.visited_on.data,
                                    met=form.met.data or None, outcome=form.outcome.data or "nothing",
                                    note=form.note.data or None, case=case)
    except DomainError as exc:
        if exc.code == "forbidden":
            abort(403, reason_of(exc))
        target = form.category if exc.field == "case.category" else form.visited_on
        target.errors = [*target.errors, reason_of(exc)]
        return render_template("visit.html", form=form, address=label, household_id=household_id), 422
    if recorded.case is not None and recorded.case.case_id is not None:
        publish_event(recorded.case.inbox_id)
        flash(gettext("Visit recorded; the problem is logged as a case."), "success")
        return redirect(url_for("casework.show", case_id=recorded.case.case_id))
    flash(gettext("Visit recorded."), "success")
    return redirect(url_for("register.household", household_id=household_id))


@bp.get("/coverage")
@login_required
def coverage_page() -> ResponseReturnValue:
    """走访覆盖率 of my unit (or a unit below) for a month: each grid's share, the households not visited."""
    month = request.args.get("month") or wallclock.now().strftime("%Y-%m")
    with db_session() as session:
        user = member_row(session)
        unit = request.args.get("unit") or user.unit.code
        try:
            report = coverage(session, user, unit, month)
        except DomainError as exc:
            abort(404 if exc.code == "not_found" else 422, reason_of(exc))
    return render_template("coverage.html", report=report, month=month)


@bp.get("/export.xlsx")
@login_required
def export() -> ResponseReturnValue:
    """The 台账 of my subtree as XLSX, masked per role; the export is a step."""
    with db_session() as session:
        data, _rows = export_workbook(session, member_row(session))
    return Response(data, mimetype=XLSX, headers={"Content-Disposition": 'attachment; filename="registry.xlsx"'})


@bp.route("/import", methods=["GET", "POST"])
@login_required
def import_page() -> ResponseReturnValue:
    """Upload a 台账: every row checked; stored only if none is refused, or the good rows only if asked."""
    request.max_content_length = IMPORT_MAX_BYTES
    form = RegistryImportForm()
    if not form.validate_on_submit():
        return render_template("registry_import.html", form=form, report=None), (
            422 if request.method == "POST" else 200)
    upload = request.files["file"]
    suffix = Path(upload.filename or "").suffix.lower()
    report: ImportReport | None = None
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"upload{suffix}"
        upload.save(path)
        try:
            with db_session() as session:
                user = member_row(session)
                if not may_see_full(user):
                    abort(403)
                report = import_rows(session, read_rows(path, form.sheet.data or None), user.name,
                                     dry_run=bool(form.dry_run.data), good_rows_only=bool(form.good_rows_only.data),
                                     unit_ids=subtree_ids(session, user.unit_id))
        except DomainError as exc:
            form.file.errors = [*form.file.errors, reason_of(exc)]
            return render_template("registry_import.html", form=form, report=None), 422
    report_url = None
    if report.problems:
        name = f"{uuid.uuid4().hex}.xlsx"
        headings = (gettext("Row"), gettext("Column"), gettext("Problem"))
        (_reports_dir() / name).write_bytes(problems_workbook(report.problems, _problem_text, headings))
        report_url = url_for("register.refused_rows", name=name)
    problems = [(p.row, p.column, _problem_text(p)) for p in report.problems[:200]]
    return render_template("registry_import.html", form=form, report=report, problems=problems,
                           report_url=report_url, dry_run=bool(form.dry_run.data))


@bp.get("/import/refused/<name>")
@login_required
def refused_rows(name: str) -> ResponseReturnValue:
    """The refused rows of an import as XLSX (row, column, problem)."""
    if not (len(name) == 37 and name.endswith(".xlsx") and all(c in "0123456789abcdef" for c in name[:32])):
        abort(404)
    path = _reports_dir() / name
    if not path.exists():
        abort(404)
    return Response(path.read_bytes(), mimetype=XLSX,
                    headers={"Content-Disposition": 'attachment; filename="refused-rows.xlsx"'})


@bp.app_context_processor
def _repeat_globals() -> dict[str, Any]:
    return {"repeats_for": _repeats_for, "repeat_ids": _repeat_ids, "may_screen": _may_screen}


def _repeats_for(case_id: int) -> Matches:
    """The case page's 重复矛盾 box: the repeats and likely duplicates the member may open."""
    with db_session() as session:
        user = member_row(session)
        case = session.get(Case, case_id)
        return visible_matches(session, case, user) if case is not None else Matches([], [])


def _may_screen() -> bool:
    with db_session() as session:
        user = member_row(session)
        return user.role != Role.ADMIN and user.unit.level in SCREENING_LEVELS


def _repeat_ids() -> set[int]:
    """The cases of the member's unit that are repeat disputes, for the inbox's mark (branch and above)."""
    with db_session() as session:
        user = member_row(session)
        if user.role == Role.ADMIN or user.unit.level not in SCREENING_LEVELS:
            return set()
        return repeat_case_ids(session, user.unit_id)


@bp.get("/repeats")
@login_required
def repeats_page() -> ResponseReturnValue:
    """矛盾纠纷排查: the parties (masked) and places with repeat disputes under my unit, with their cases."""
    with db_session() as session:
        user = member_row(session)
        try:
            unit = screening_unit(session, user, request.args.get("unit"))
        except DomainError as exc:
            abort(status_of(exc), reason_of(exc))
        groups = repeat_groups(session, unit.id)
        name = unit.name
    return render_template("repeats.html", groups=groups, unit_name=name)
