"""The resident's status page: tracking code and the phone's last four digits; the answer after report back."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from schemas.api import EvaluationRequest
from schemas.vocabulary import PartyRole
from web.session import db_session, publish_notices
from web.ui.errors import explain, html_errors
from web.ui.forms import EvaluationForm, TrackForm
from web.ui.i18n import current_language
from web.ui.security import limiter, protect_forms, track_limit
from web.ui.wording import step_label
from workflow.base.errors import DomainError, NotFound
from workflow.base.privacy import phone_ends_with, scrub
from workflow.cases.actions import evaluate
from workflow.cases.models import Case
from workflow.cases.outcome import outcome_of
from workflow.cases.tracking import display, normalize
from workflow.cases.views import case_by_tracking_code, track_view

bp = Blueprint("resident", __name__)
protect_forms(bp)
html_errors(bp)

# The browser session remembers which cases it has proved it may follow, and with which digits.
_FOLLOWED = "followed"


def _followed() -> dict[str, str]:
    return dict(session.get(_FOLLOWED) or {})


def _owns(case: Case, last4: str) -> bool:
    return any(phone_ends_with(p.phone, last4) for p in case.parties if p.role == PartyRole.REPORTER)


@bp.route("/track", methods=["GET", "POST"])
@limiter.limit(track_limit, methods=["POST"])
def lookup() -> ResponseReturnValue:
    """Ask for the tracking code and the phone's last four digits; both must match."""
    form = TrackForm()
    if request.method == "GET" and request.args.get("code"):
        form.code.data = request.args["code"]
    if not form.validate_on_submit():
        return render_template("track_form.html", form=form), 422 if request.method == "POST" else 200
    code, last4 = normalize(form.code.data or ""), form.phone_last4.data or ""
    with db_session() as db:
        try:
            case = case_by_tracking_code(db, code)
            known = _owns(case, last4)
        except NotFound:
            known = False
    if not known:
        # One answer for both faults, so the page does not tell which codes exist.
        flash(_("No case matches this tracking code and these digits."), "error")
        return render_template("track_form.html", form=form), 404
    followed = _followed()
    followed[code] = last4
    session[_FOLLOWED] = followed
    return redirect(url_for("resident.status", code=display(code)))


@bp.get("/track/<code>")
def status(code: str) -> ResponseReturnValue:
    """The case's state, the level handling it, its deadline and the public timeline."""
    last4 = _followed().get(normalize(code))
    if last4 is None:
        return redirect(url_for("resident.lookup", code=code))
    with db_session() as db:
        case = case_by_tracking_code(db, code)
        view = track_view(case, current_language())
        outcome = outcome_of(db, case)
    context: dict[str, Any] = {"view": view, "outcome": outcome, "code": display(normalize(code)),
                               "step_label": step_label, "mask_text": scrub}
    return render_template("track.html", form=EvaluationForm(), **context)


@bp.post("/track/<code>/evaluation")
def answer(code: str) -> ResponseReturnValue:
    """Record the resident's answer: resolved and satisfied, or not, which reopens the case."""
    last4 = _followed().get(normalize(code))
    if last4 is None:
        return redirect(url_for("resident.lookup", code=code))
    form = EvaluationForm()
    if not form.validate_on_submit():
        flash(_("Please answer both questions."), "error")
        return redirect(url_for("resident.status", code=code))
    body = EvaluationRequest(phone_last4=last4, resolved=form.resolved.data, satisfaction=form.satisfaction.data,
                             comment=form.comment.data or None)
    try:
        with db_session() as db:
            case = case_by_tracking_code(db, code)
            _case, applied = evaluate(db, case.id, body)
            notice_ids = applied.notice_ids
    except DomainError as exc:
        flash(explain(exc), "error")
        return redirect(url_for("resident.status", code=code))
    publish_notices(notice_ids)
    flash(_("Thank you. Your answer is recorded."), "success")
    return redirect(url_for("resident.status", code=code))
