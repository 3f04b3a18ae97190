"""The registers' pages: the households of my subtree, one household (masked, reveal logged), import, export."""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

from flask import Blueprint, Response, abort, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from web.session import db_session
from web.ui.accounts import login_required, member_row
from web.ui.errors import reason_of
from web.ui.forms import RegistryImportForm
from web.ui.i18n import current_language
from web.ui.security import protect_forms
from workflow.base import config
from workflow.base.errors import DomainError
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
