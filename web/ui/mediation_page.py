"""The mediation pages: propose one from the case page; consent, sessions, the agreement, signatures, visits."""

from __future__ import annotations

import base64
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from web.session import db_session, publish_notices
from web.ui.accounts import login_required, member_row
from web.ui.errors import explain, html_errors, status_of
from web.ui.i18n import current_language
from web.ui.security import protect_forms
from workflow.base.errors import DomainError, NotFound
from workflow.cases.views import check_can_view, get_case
from workflow.mediation.case_file import case_file
from workflow.mediation.steps import (
    act,
    agreement_pdf_for,
    eligible_mediators,
    get_mediation,
    mediations_of_case,
    propose,
)
from workflow.mediation.views import VisitTask, check_can_see, mediation_view, visit_tasks
from workflow.registry.register import subtree_ids

bp = Blueprint("mediation", __name__)
protect_forms(bp)
html_errors(bp)

ACTION_LABELS = {
    "reveal": _l("Show both parties in full (logged)"), "assign": _l("Assign mediators"),
    "consent": _l("Record a party's consent or refusal"), "session": _l("Record a session"),
    "draft": _l("Draft the agreement"), "sign": _l("Sign the agreement"), "visit": _l("Record a follow-up visit"),
    "fail": _l("Mediation failed"), "withdraw": _l("Withdraw the mediation"),
    "mediate_again": _l("Mediate again"), "refer": _l("Refer the parties elsewhere"),
    "confirmation": _l("Record an application for judicial confirmation"),
}
STATE_LABELS = {
    "proposed": _l("waiting for consent"), "in_session": _l("in session"), "agreed": _l("agreement in effect"),
    "following_up": _l("following up"), "fulfilled": _l("fulfilled"), "breached": _l("breached"),
    "failed": _l("failed"), "withdrawn": _l("withdrawn"), "referred": _l("referred elsewhere"),
}
KIND_LABELS = {"informal": _l("informal mediation"), "committee": _l("people's mediation committee")}
WAYS = {"on_screen": _l("signed on the screen"), "oral": _l("said before a witness"),
        "in_writing": _l("in writing")}
FINDINGS = {"performed": _l("performed"), "partly": _l("partly performed"), "breached": _l("not performed (breach)")}
REFERRALS = {"arbitration": _l("arbitration"), "court": _l("court"), "department": _l("the department concerned")}


def _label(table: dict[str, Any], key: str | None) -> str:
    return str(table.get(key or "", key or ""))


@bp.app_context_processor
def _globals() -> dict[str, Any]:
    return {"mediations_of": _mediations_of, "mediation_state_label": lambda s: _label(STATE_LABELS, s),
            "my_visit_tasks": _my_visit_tasks}


def _my_visit_tasks() -> list[VisitTask]:
    """The follow-up visits (回访) the member's grid has to make: their queue's task list."""
    with db_session() as session:
        user = member_row(session)
        return visit_tasks(session, subtree_ids(session, user.unit_id))


def _mediations_of(case_id: int) -> list[dict[str, Any]]:
    with db_session() as session:
        return [{"id": m.id, "state": m.state} for m in mediations_of_case(session, case_id)]


def render_mediation(mediation_id: int, *, error: str | None = None, status: int = 200) -> ResponseReturnValue:
    """Render the mediation page for the logged-in member (403 outside the case's path and the mediators)."""
    with db_session() as session:
        user = member_row(session)
        mediation = get_mediation(session, mediation_id)
        check_can_see(user, mediation)
        view = mediation_view(session, mediation, user)
        pool = sorted(eligible_mediators(session, mediation.unit_id))
    return render_template("mediation.html", m=view, error=error, pool=pool, action_labels=ACTION_LABELS,
                           state_label=lambda s: _label(STATE_LABELS, s), kind_label=lambda k: _label(KIND_LABELS, k),
                           ways=WAYS, findings=FINDINGS, referrals=REFERRALS, way_label=lambda w: _label(WAYS, w),
                           term_rows=range(3)), status


@bp.get("/mediations/<int:mediation_id>")
@login_required
def show(mediation_id: int) -> ResponseReturnValue:
    """The mediation page."""
    return render_mediation(mediation_id)


@bp.post("/cases/<int:case_id>/mediation")
@login_required
def start(case_id: int) -> ResponseReturnValue:
    """Propose mediation of a case's dispute (the unit holding it)."""
    try:
        with db_session() as session:
            done = propose(session, case_id, member_row(session), request.form.getlist("mediators"))
            mediation_id, notice_ids = done.mediation.id, done.notice_ids
    except DomainError as exc:
        flash(explain(exc), "error")
        return redirect(url_for("casework.show", case_id=case_id)), 303
    publish_notices(notice_ids)
    flash(_("Mediation proposed."), "success")
    return redirect(url_for("mediation.show", mediation_id=mediation_id))


def _text(name: str) -> str | None:
    value = request.form.get(name, "").strip()
    return value or None


def _params(trigger: str) -> dict[str, Any]:
    """Read the fields of one trigger from the form, in the shape the API takes."""
    form = request.form
    p: dict[str, Any] = {k: _text(k) for k in ("reason", "witness", "place", "record", "facts", "responsibility",
                                               "note", "referred_to", "given_as", "answer", "finding", "held_on",
                                               "signer", "method")}
    if form.get("party_id", "").isdigit():
        p["party_id"] = int(form["party_id"])
    if trigger == "assign":
        p["mediators"] = form.getlist("mediators")
    if trigger == "session":
        p["attendees"] = [a.strip() for a in form.get("attendees", "").replace("，", ",").split(",") if a.strip()]
    if trigger == "draft":
        terms = []
        for i in range(3):
            text, how, due = _text(f"term_text_{i}"), _text(f"term_how_{i}"), _text(f"term_due_{i}")
            if text or how or due:
                who = form.get(f"term_party_{i}", "")
                terms.append({"text": text, "how": how, "due": due, "party_id": int(who) if who.isdigit() else None})
        p["terms"] = terms
        p["party_facts"] = [
            {"party_id": int(pid), "sex": _text(f"sex_{pid}"), "birth": _text(f"birth_{pid}"),
             "id_number": _text(f"id_number_{pid}"), "address": _text(f"address_{pid}")}
            for pid in form.getlist("fact_party") if pid.isdigit()]
    if trigger == "sign":
        photo = request.files.get("photo")
        if p.get("method") == "paper_photo" and photo and photo.filename:
            p["signature"] = base64.b64encode(photo.read()).decode()
        else:
            p["signature"] = _text("signature")
    if trigger == "visit":
        p["final"] = form.get("final") == "1"
    return {k: v for k, v in p.items() if v is not None}


@bp.post("/mediations/<int:mediation_id>/actions/<trigger>")
@login_required
def do(mediation_id: int, trigger: str) -> ResponseReturnValue:
    """Fire one trigger; a refusal is shown on the page with its reason and its status."""
    from schemas.mediation import MediationActionRequest

    version = request.form.get("expected_version", "")
    try:
        body = MediationActionRequest.model_validate(_params(trigger))
        params = body.model_dump(exclude_none=True, exclude={"expected_version"})
        with db_session() as session:
            done = act(session, mediation_id, trigger, member_row(session), params,
                       int(version) if version.isdigit() else None)
            notice_ids = done.notice_ids
    except DomainError as exc:
        return render_mediation(mediation_id, error=explain(exc), status=status_of(exc))
    except ValueError as exc:  # pydantic: a date or a text badly formed
        return render_mediation(mediation_id, error=_("Please check what you entered.") + f" ({exc})", status=422)
    publish_notices(notice_ids)
    flash(_("Done: %(action)s.", action=_label(ACTION_LABELS, trigger)), "success")
    return redirect(url_for("mediation.show", mediation_id=mediation_id))


@bp.get("/cases/<int:case_id>/file.pdf")
@login_required
def case_file_pdf(case_id: int) -> Response:
    """Download the case file (卷宗)."""
    with db_session() as session:
        user = member_row(session)
        case = get_case(session, case_id)
        check_can_view(user, case)
        pdf = case_file(session, case, user, current_language())
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="case-{case_id}.pdf"'})


@bp.get("/mediations/<int:mediation_id>/agreement.pdf")
@login_required
def agreement_pdf(mediation_id: int) -> Response:
    """Download the agreement in effect."""
    with db_session() as session:
        mediation = get_mediation(session, mediation_id)
        check_can_see(member_row(session), mediation)
        found = agreement_pdf_for(mediation, current_language())
        if found is None:
            raise NotFound("mediation %(mediation_id)s has no agreement in effect", mediation_id=mediation_id)
        pdf, version = found
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="agreement-{mediation_id}-v{version}.pdf"'})
