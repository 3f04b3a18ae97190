"""The case page: facts, parties (masked), where it stands on the ladder, timeline, and what I may do now."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import segno
from flask import Blueprint, Response, flash, redirect, render_template, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from schemas.api import ActionRequest
from schemas.vocabulary import HANDLING_LADDER, Level
from web.session import db_session, publish_notices
from web.ui.accounts import login_required, member_row
from web.ui.errors import explain, html_errors, status_of
from web.ui.forms import ActionForm, RevealForm
from web.ui.registry_pages import cases_about
from web.ui.security import protect_forms
from web.ui.wording import ACTION_FIELDS, action_label
from workflow.base import config, wallclock
from workflow.base.errors import DomainError
from workflow.base.privacy import mask_name, mask_phone
from workflow.cases.actions import available_actions, perform_action, reveal_party
from workflow.cases.attachments import photo_file, photos_of
from workflow.cases.models import Case
from workflow.cases.tracking import display
from workflow.cases.views import case_view, check_can_view, get_case, needs_personal_data
from workflow.notices.listing import notifications
from workflow.org.models import User
from workflow.org.tree import ladder_of
from workflow.registry.register import address_label, get_household, household_of_case

bp = Blueprint("casework", __name__)
protect_forms(bp)
html_errors(bp)


@dataclass(frozen=True)
class PartyLine:
    """A party as the page shows it: masked unless just revealed to a member who needs it."""

    id: int
    role: str
    name: str
    phone: str | None
    masked: bool


@dataclass(frozen=True)
class Rung:
    """One level of the ladder picture."""

    level: str
    unit: str
    place: str  # "done", "current" or "ahead"


def _ladder(case: Case) -> list[Rung]:
    units = ladder_of(case.grid_unit)
    current = HANDLING_LADDER.index(Level(case.level))
    return [Rung(level.value, units[level].name if level in units else "—",
                 "current" if i == current else ("done" if i < current else "ahead"))
            for i, level in enumerate(HANDLING_LADDER)]


def _time_used(case: Case) -> int | None:
    if case.deadline_at is None:
        return None
    total = (case.deadline_at - case.state_entered_at).total_seconds()
    used = (wallclock.now() - case.state_entered_at).total_seconds()
    return max(0, min(100, round(100 * used / total))) if total > 0 else 100


def _parties(case: Case, revealed: int | None) -> list[PartyLine]:
    return [PartyLine(p.id, p.role, p.name if p.id == revealed else mask_name(p.name) or "",
                      p.phone if p.id == revealed else mask_phone(p.phone), p.id != revealed)
            for p in case.parties]


def render_case(case_id: int, *, revealed: int | None = None, error: str | None = None, status: int = 200,
                form: ActionForm | None = None) -> ResponseReturnValue:
    """Render the case page for the logged-in member (403 outside their path)."""
    with db_session() as session:
        user: User = member_row(session)
        case = get_case(session, case_id)
        check_can_view(user, case)
        view = case_view(session, case, user, notifications(session, case.id))
        context: dict[str, Any] = {
            "case": view, "parties": _parties(case, revealed), "ladder": _ladder(case),
            "time_used": _time_used(case), "actions": available_actions(session, case, user),
            "may_reveal": needs_personal_data(user, case), "photos": photos_of(session, case.id),
            "household": _household(session, user, case.id),
        }
    return render_template("case.html", form=form or ActionForm(), reveal_form=RevealForm(), error=error,
                           fields=ACTION_FIELDS, action_label=action_label, **context), status


def _household(session: Session, user: User, case_id: int) -> dict[str, Any] | None:
    """The household a case is about, if the member's part of the register holds it, with its other cases."""
    household_id = household_of_case(session, case_id)
    if household_id is None:
        return None
    try:
        household = get_household(session, household_id, user)
    except DomainError:
        return None  # a level whose subtree does not hold the building sees the case, not the register
    return {"id": household.id, "address": address_label(household.address),
            "others": cases_about(session, user, household.id, leave_out=case_id)}


@bp.get("/cases/<int:case_id>")
@login_required
def show(case_id: int) -> ResponseReturnValue:
    """The case page."""
    return render_case(case_id)


@bp.post("/cases/<int:case_id>/actions/<trigger>")
@login_required
def act(case_id: int, trigger: str) -> ResponseReturnValue:
    """Fire one action; a refusal is shown on the page with its reason and its status."""
    form = ActionForm()
    if not form.validate():
        first = next(iter(form.errors.values()))[0]
        return render_case(case_id, error=str(first), status=422, form=form)
    version = form.expected_version.data
    fields = {name: getattr(form, name).data for name in ACTION_FIELDS.get(trigger, ())}
    try:
        request_body = ActionRequest.model_validate({
            **{k: v for k, v in fields.items() if v not in (None, "")},
            "expected_version": int(version) if version and str(version).isdigit() else None,
        })
        with db_session() as session:
            _case, applied = perform_action(session, case_id, trigger, member_row(session), request_body)
            notice_ids = applied.notice_ids
    except DomainError as exc:
        return render_case(case_id, error=explain(exc), status=status_of(exc), form=form)
    except ValueError as exc:  # pydantic: a text too long or badly formed
        return render_case(case_id, error=str(exc), status=422, form=form)
    publish_notices(notice_ids)
    flash(_("Done: %(action)s.", action=action_label(trigger)), "success")
    return redirect(url_for("casework.show", case_id=case_id))


@bp.post("/cases/<int:case_id>/parties/<int:party_id>/reveal")
@login_required
def reveal(case_id: int, party_id: int) -> ResponseReturnValue:
    """Show one party's full name and phone to the member handling the case; the timeline records it."""
    try:
        with db_session() as session:
            reveal_party(session, case_id, party_id, member_row(session))
    except DomainError as exc:
        return render_case(case_id, error=explain(exc), status=status_of(exc))
    return render_case(case_id, revealed=party_id)


@bp.get("/cases/<int:case_id>/photos/<int:photo_id>")
@login_required
def photo(case_id: int, photo_id: int) -> Response:
    """Send one photo of a case to a member who may see the case."""
    with db_session() as session:
        check_can_view(member_row(session), get_case(session, case_id))
        path, content_type = photo_file(session, case_id, photo_id)
    return send_file(path, mimetype=content_type, max_age=0)


@bp.get("/cases/<int:case_id>/slip")
@login_required
def slip(case_id: int) -> ResponseReturnValue:
    """A printable slip for the resident: tracking code, status page address and its QR code."""
    with db_session() as session:
        case = get_case(session, case_id)
        check_can_view(member_row(session), case)
        code = display(case.tracking_code)
        category, submitted_at = case.category, case.submitted_at
    address = f"{config.public_base_url()}/track?code={code}"
    qr = segno.make(address, error="m").svg_inline(scale=4, omitsize=False)
    return render_template("slip.html", code=code, address=address, qr=qr, category=category,
                           submitted_at=submitted_at, case_id=case_id)
