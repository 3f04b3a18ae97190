"""The resident's status page: tracking code and the phone's last four digits; the answer after report back."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from pydantic import ValidationError

from schemas.api import EvaluationRequest
from schemas.vocabulary import PartyRole
from web.session import db_session, publish_notices
from web.ui.errors import explain, html_errors
from web.ui.forms import EvaluationForm, TrackForm
from web.ui.i18n import current_language
from web.ui.security import protect_forms
from web.ui.tracking_guard import address_limit, code_limit, locked_for, right_digits, wrong_digits
from web.ui.wording import step_label
from workflow.base.errors import DomainError, NotFound
from workflow.base.privacy import phone_ends_with, scrub
from workflow.cases.actions import evaluate
from workflow.cases.models import Case, CaseParty
from workflow.cases.outcome import outcome_of
from workflow.cases.tracking import display, normalize
from workflow.cases.views import case_by_tracking_code, track_view

bp = Blueprint("resident", __name__)
protect_forms(bp)
html_errors(bp)

# The browser session remembers which cases it has proved it may follow, and as which reporter
# (the party's id): never the digits, which a signed but readable cookie would give away.
_FOLLOWED = "followed"


def _followed() -> dict[str, int]:
    # An older cookie kept the digits as text: ask for them again.
    return {code: who for code, who in (session.get(_FOLLOWED) or {}).items() if isinstance(who, int)}


def _reporter(case: Case, last4: str) -> CaseParty | None:
    return next((p for p in case.parties if p.role == PartyRole.REPORTER and phone_ends_with(p.phone, last4)), None)


def _digits_of(case: Case, party_id: int) -> str | None:
    party = next((p for p in case.parties if p.id == party_id and p.phone), None)
    return party.phone[-4:] if party is not None and party.phone else None


@bp.route("/track", methods=["GET", "POST"])
@address_limit(methods=["POST"])
@code_limit(methods=["POST"])
def lookup() -> ResponseReturnValue:
    """Ask for the tracking code and the phone's last four digits; both must match."""
    form = TrackForm()
    if request.method == "GET" and request.args.get("code"):
        form.code.data = request.args["code"]
    if not form.validate_on_submit():
        return render_template("track_form.html", form=form), 422 if request.method == "POST" else 200
    code, last4 = normalize(form.code.data or ""), form.phone_last4.data or ""
    seconds = locked_for(code)
    if seconds:
        # Whatever the digits: the lock is what stops a guesser, and it reads the same for any code.
        flash(_("Too many wrong digits for this tracking code. Try again in %(minutes)s minutes, "
                "or call your grid leader.", minutes=seconds // 60 + 1), "error")
        return render_template("track_form.html", form=form), 429, {"Retry-After": str(seconds)}
    with db_session() as db:
        try:
            reporter = _reporter(case_by_tracking_code(db, code), last4)
        except NotFound:
            reporter = None
        party_id = reporter.id if reporter is not None else None
    if party_id is None:
        wrong_digits(code)
        # One answer for both faults, so the page does not tell which codes exist.
        flash(_("No case matches this tracking code and these digits."), "error")
        return render_template("track_form.html", form=form), 404
    right_digits(code)
    followed = _followed()
    followed[code] = party_id
    session[_FOLLOWED] = followed
    return redirect(url_for("resident.status", code=display(code)))


@bp.get("/track/<code>")
def status(code: str) -> ResponseReturnValue:
    """The case's state, the level handling it, its deadline and the public timeline."""
    if normalize(code) not in _followed():
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
    party_id = _followed().get(normalize(code))
    if party_id is None:
        return redirect(url_for("resident.lookup", code=code))
    form = EvaluationForm()
    if not form.validate_on_submit():
        flash(_("Please answer both questions."), "error")
        return redirect(url_for("resident.status", code=code))
    try:
        with db_session() as db:
            case = case_by_tracking_code(db, code)
            last4 = _digits_of(case, party_id)
            if last4 is None:
                return redirect(url_for("resident.lookup", code=code))
            try:
                body = EvaluationRequest(phone_last4=last4, resolved=form.resolved.data,
                                         satisfaction=form.satisfaction.data, comment=form.comment.data or None)
            except ValidationError:  # a NUL character in the comment: nothing the form can show is wrong
                flash(_("Please answer both questions."), "error")
                return redirect(url_for("resident.status", code=code))
            _case, applied = evaluate(db, case.id, body)
            notice_ids = applied.notice_ids
    except DomainError as exc:
        flash(explain(exc), "error")
        return redirect(url_for("resident.status", code=code))
    publish_notices(notice_ids)
    flash(_("Thank you. Your answer is recorded."), "success")
    return redirect(url_for("resident.status", code=code))
