"""The registers' pages: the households of my subtree, one household (masked, reveal logged), import, export."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from sqlalchemy.orm import Session
from wtforms.fields import SelectChoice

from schemas.vocabulary import Role
from web.session import EXTENSION, db_session, publish_event
from web.ui.accounts import login_required, member_row
from web.ui.errors import reason_of, status_of
from web.ui.forms import BuildingImportForm, RegistryImportForm, RiskCheckForm, VisitForm
from web.ui.i18n import category_name, current_language
from web.ui.security import limiter, protect_forms
from workflow.base import config, wallclock
from workflow.base.errors import DomainError
from workflow.base.privacy import scrub
from workflow.cases.categories import CATEGORIES
from workflow.cases.models import Case
from workflow.cases.views import check_can_view
from workflow.org.models import User
from workflow.registry import addresses
from workflow.registry.buildings import buildings_of, import_buildings
from workflow.registry.exporter import export_workbook
from workflow.registry.importer import ImportReport, Problem, count_rows, import_rows, problems_workbook, read_rows
from workflow.registry.jobs import get_job, inline_rows, report_of, request_import
from workflow.registry.party import member_view, members_of
from workflow.registry.party_import import import_party_members
from workflow.registry.register import (
    address_label,
    cases_of_household,
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
from workflow.registry.risks import (
    CHECKING_ROLES,
    check_risk,
    get_risk,
    overdue_count,
    risk_checks,
    risk_view,
    risks_of,
)
from workflow.registry.visits import coverage, record_visit

bp = Blueprint("register", __name__, url_prefix="/registry")
protect_forms(bp)
IMPORT_MAX_BYTES = 20 * 1024 * 1024
# The party-member register is the branches' business: their secretaries import it.
PARTY_IMPORT_ROLES = frozenset({Role.BRANCH_SECRETARY, Role.GENERAL_BRANCH_SECRETARY})
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _reports_dir() -> Path:
    path = config.data_dir() / "registry-reports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _uploads_dir() -> Path:
    path = config.data_dir() / "registry-uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


def publish_import(job_id: int) -> None:
    """Hand an upload to a worker (after its commit)."""
    publisher = current_app.extensions[EXTENSION].get("publish_import")
    if publisher is None:
        from workers.registry import registry_import

        registry_import.delay(job_id)
        return
    cast(Callable[[int], object], publisher)(job_id)


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
        overdue_risks = overdue_count(session, user, wallclock.now())
    return render_template("registry.html", rows=rows, q=q, can_import=can_import, overdue_risks=overdue_risks)


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
        now = wallclock.now()
        risks = [risk_view(session, r, user, now) for r in risks_of(session, user, status="all")
                 if r.household_id == household_id]
        cases = cases_about(session, user, household_id)
    return render_template("household.html", household=view, can_reveal=can_reveal, risks=risks, cases=cases)


def cases_about(session: Session, user: User, household_id: int, *, leave_out: int | None = None) -> list[Case]:
    """Return the cases about a household that the member may see, newest first (at most 20)."""
    found = []
    for case_id in cases_of_household(session, household_id)[:40]:
        case = session.get(Case, case_id)
        if case is None or case.id == leave_out:
            continue
        try:
            check_can_view(user, case)
        except DomainError:
            continue
        found.append(case)
    return found[:20]


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
    risk = {"next_check_on": form.next_check_on.data} if form.outcome.data == "risk" else None
    try:
        with db_session() as session:
            recorded = record_visit(session, member_row(session), household_id, visited_on=form.visited_on.data,
                                    met=form.met.data or None, outcome=form.outcome.data or "nothing",
                                    note=form.note.data or None, case=case, risk=risk)
    except DomainError as exc:
        if exc.code == "forbidden":
            abort(403, reason_of(exc))
        target = {"case.category": form.category, "next_check_on": form.next_check_on}.get(
            exc.field or "", form.visited_on)
        target.errors = [*target.errors, reason_of(exc)]
        return render_template("visit.html", form=form, address=label, household_id=household_id), 422
    if recorded.case is not None and recorded.case.case_id is not None:
        publish_event(recorded.case.inbox_id)
        flash(gettext("Visit recorded; the problem is logged as a case."), "success")
        return redirect(url_for("casework.show", case_id=recorded.case.case_id))
    if recorded.risk_id is not None:
        flash(gettext("Visit recorded; the risk is on the risk register."), "success")
        return redirect(url_for("register.risk", risk_id=recorded.risk_id))
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
    if suffix in (".xlsx", ".xlsm", ".csv"):
        # A large file goes to a worker; the page follows its progress instead of waiting on the request.
        kept = _uploads_dir() / f"{uuid.uuid4().hex}{suffix}"
        upload.save(kept)
        try:
            total = count_rows(kept, form.sheet.data or None)
        except DomainError as exc:
            kept.unlink(missing_ok=True)
            form.file.errors = [*form.file.errors, reason_of(exc)]
            return render_template("registry_import.html", form=form, report=None), 422
        if total is not None and total > inline_rows():
            with db_session() as session:
                user = member_row(session)
                if not may_see_full(user):
                    kept.unlink(missing_ok=True)
                    abort(403)
                job_id = request_import(session, user, kept, upload.filename or kept.name,
                                        sheet=form.sheet.data or None, dry_run=bool(form.dry_run.data),
                                        good_rows_only=bool(form.good_rows_only.data), total=total).id
            publish_import(job_id)
            return redirect(url_for("register.import_job", job_id=job_id))
        upload.stream.seek(0)
        kept.unlink(missing_ok=True)
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


@bp.get("/risks")
@login_required
def risks() -> ResponseReturnValue:
    """The risk register of my subtree: open risks, those past their check date first (or the resolved ones)."""
    status = "resolved" if request.args.get("status") == "resolved" else "open"
    now = wallclock.now()
    with db_session() as session:
        user = member_row(session)
        items = [risk_view(session, r, user, now) for r in risks_of(session, user, status=status)]
    order = {"escalated": 0, "warned": 1, "due": 2, "on_time": 3, "resolved": 4}
    items.sort(key=lambda r: (order[r["stage"]], r["next_check_on"], r["id"]))
    return render_template("risks.html", items=items, status=status)


def _check_form() -> RiskCheckForm:
    form = RiskCheckForm()
    form.category.choices = [SelectChoice("", "—")] + [SelectChoice(c.value, category_name(c.value))
                                                      for c in CATEGORIES]
    return form


@bp.route("/risks/<int:risk_id>", methods=["GET", "POST"])
@login_required
def risk(risk_id: int) -> ResponseReturnValue:
    """One risk: what was noticed, where it stands on its clock, its checks; the check form for who checks."""
    form = _check_form()
    if request.method == "POST" and form.validate_on_submit():
        try:
            with db_session() as session:
                checked = check_risk(session, member_row(session), risk_id, note=form.note.data or "",
                                     outcome=form.outcome.data or "ongoing", next_check_on=form.next_check_on.data,
                                     category=form.category.data or None)
                accepted = checked.case
        except DomainError as exc:
            if exc.code in ("forbidden", "not_found"):
                abort(403 if exc.code == "forbidden" else 404, reason_of(exc))
            target = {"next_check_on": form.next_check_on, "category": form.category}.get(exc.field or "", form.note)
            target.errors = [*target.errors, reason_of(exc)]
        else:
            if accepted is not None and accepted.case_id is not None:
                publish_event(accepted.inbox_id)
                flash(gettext("Check recorded; the problem is logged as a case."), "success")
                return redirect(url_for("casework.show", case_id=accepted.case_id))
            flash(gettext("Check recorded."), "success")
            return redirect(url_for("register.risk", risk_id=risk_id))
    with db_session() as session:
        user = member_row(session)
        try:
            item = get_risk(session, risk_id, user)
        except DomainError:
            abort(404)
        may_check = user.role in CHECKING_ROLES and item.status == "open"
        view = risk_view(session, item, user, wallclock.now())
        checks = [{"at": s.at, "actor": s.actor, "outcome": s.detail.get("outcome"), "next": s.detail.get("next"),
                   "note": s.detail.get("note") if may_see_full(user) else scrub(s.detail.get("note") or "")}
                  for s in risk_checks(session, item)]
    status = 422 if request.method == "POST" else 200
    return render_template("risk.html", risk=view, checks=checks, form=form, may_check=may_check), status


@bp.route("/buildings", methods=["GET", "POST"])
@login_required
def buildings() -> ResponseReturnValue:
    """The buildings of my subtree, their grid and households; those who import a 台账 may upload a building list."""
    request.max_content_length = IMPORT_MAX_BYTES
    form = BuildingImportForm()
    report = None
    problems: list[tuple[int, str, str]] = []
    status = 200
    with db_session() as session:
        user = member_row(session)
        can_import = may_see_full(user)
    if request.method == "POST":
        if not can_import:
            abort(403)
        if form.validate_on_submit():
            upload = request.files["file"]
            suffix = Path(upload.filename or "").suffix.lower()
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / f"upload{suffix}"
                upload.save(path)
                try:
                    with db_session() as session:
                        user = member_row(session)
                        report = import_buildings(session, read_rows(path, form.sheet.data or None), user.name,
                                                  unit_ids=subtree_ids(session, user.unit_id),
                                                  dry_run=bool(form.dry_run.data))
                except DomainError as exc:
                    form.file.errors = [*form.file.errors, reason_of(exc)]
            problems = [(p.row, p.column, _problem_text(p)) for p in (report.problems if report else [])[:200]]
        status = 200 if report is not None and not report.problems else 422
    with db_session() as session:
        rows = [(b.compound, b.name, b.grid.name, count) for b, count in buildings_of(session, member_row(session)
                                                                                      .unit_id)]
    return render_template("buildings.html", rows=rows, form=form, report=report, problems=problems,
                           can_import=can_import, dry_run=bool(form.dry_run.data)), status


@bp.route("/party-members", methods=["GET", "POST"])
@login_required
def party_members() -> ResponseReturnValue:
    """The party members of my branches (masked per role); branch secretaries upload the 党员台账 here."""
    request.max_content_length = IMPORT_MAX_BYTES
    form = BuildingImportForm()  # the same three fields: a file, its sheet, a dry run
    report = None
    problems: list[tuple[int, str, str]] = []
    status = 200
    with db_session() as session:
        can_import = member_row(session).role in PARTY_IMPORT_ROLES
    if request.method == "POST":
        if not can_import:
            abort(403)
        if form.validate_on_submit():
            upload = request.files["file"]
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / f"upload{Path(upload.filename or '').suffix.lower()}"
                upload.save(path)
                try:
                    with db_session() as session:
                        user = member_row(session)
                        report = import_party_members(session, read_rows(path, form.sheet.data or None), user.name,
                                                      unit_ids=subtree_ids(session, user.unit_id),
                                                      dry_run=bool(form.dry_run.data))
                except DomainError as exc:
                    form.file.errors = [*form.file.errors, reason_of(exc)]
            problems = [(p.row, p.column, _problem_text(p)) for p in (report.problems if report else [])[:200]]
        status = 200 if report is not None and not report.problems else 422
    with db_session() as session:
        user = member_row(session)
        members = [member_view(session, m, user) for m in members_of(session, user)]
    return render_template("party_members.html", members=members, form=form, report=report, problems=problems,
                           can_import=can_import), status


def _job_context(job_id: int) -> dict[str, Any]:
    with db_session() as session:
        try:
            job = get_job(session, job_id, member_row(session))
        except DomainError:
            abort(404)
        report = report_of(job)
        percent = min(100, round(100 * job.done_rows / job.total)) if job.total else 0
        context: dict[str, Any] = {
            "job": {"id": job.id, "status": job.status, "file_name": job.file_name, "total": job.total,
                    "done_rows": job.done_rows, "percent": 100 if job.status == "done" else percent,
                    "error": job.error},
            "report": report, "dry_run": job.dry_run,
            "problems": [(p.row, p.column, _problem_text(p)) for p in (report.problems[:200] if report else [])],
            "report_url": url_for("register.import_job_refused", job_id=job.id)
            if report is not None and report.problems else None,
        }
    return context


@bp.get("/import/jobs/<int:job_id>")
@login_required
def import_job(job_id: int) -> ResponseReturnValue:
    """A large import done by a worker: a progress bar fed by the worker, then the report."""
    return render_template("registry_import_job.html", **_job_context(job_id))


@bp.get("/import/jobs/<int:job_id>/progress")
@login_required
@limiter.exempt
def import_job_progress(job_id: int) -> ResponseReturnValue:
    """The progress part of the job's page, for its periodic refresh."""
    return render_template("_import_progress.html", **_job_context(job_id))


@bp.get("/import/jobs/<int:job_id>/refused.xlsx")
@login_required
def import_job_refused(job_id: int) -> ResponseReturnValue:
    """The refused rows of a worker's import as XLSX (row, column, problem)."""
    with db_session() as session:
        try:
            report = report_of(get_job(session, job_id, member_row(session)))
        except DomainError:
            abort(404)
    if report is None:
        abort(404)
    headings = (gettext("Row"), gettext("Column"), gettext("Problem"))
    return Response(problems_workbook(report.problems, _problem_text, headings), mimetype=XLSX,
                    headers={"Content-Disposition": 'attachment; filename="refused-rows.xlsx"'})
