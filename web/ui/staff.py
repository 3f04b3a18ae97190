"""Staff pages for lists and intake: my queue, my unit's inbox, logging a new case."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from pydantic import ValidationError
from wtforms.fields import SelectChoice

from schemas.events import SUBMITTED, CaseSubmittedEvent
from schemas.vocabulary import Channel, PartyRole, Severity
from web.session import db_session, engine, publish_event
from web.ui.accounts import PARTY_ROLES, login_required, member, member_row, roles_required
from web.ui.errors import reason_of
from web.ui.forms import NewCaseForm
from web.ui.i18n import category_name
from web.ui.security import limiter, protect_forms
from workflow.base import wallclock
from workflow.base.errors import DomainError
from workflow.cases import worklists
from workflow.cases.attachments import MAX_PHOTO_BYTES, add_photo
from workflow.cases.categories import CATEGORIES
from workflow.cases.intake import accept_submission
from workflow.cases.models import Case
from workflow.registry.addresses import match
from workflow.registry.register import address_label, households_of, subtree_ids

bp = Blueprint("staff", __name__)
protect_forms(bp)

# Who logs cases: the grid and household leaders, and anyone above who takes a call.
LOGGING_ROLES = {"grid_leader", "household_leader", *PARTY_ROLES}
# The form is posted with a photo; the JSON API keeps its small cap.
FORM_MAX_BYTES = MAX_PHOTO_BYTES + 64 * 1024


@bp.get("/queue")
@login_required
def queue() -> ResponseReturnValue:
    """My queue: the open cases of my subtree, most urgent first, refreshing by itself."""
    return render_template("queue.html", rows=_queue_rows(), title=_("My queue"),
                           rows_url=url_for("staff.queue_rows"))


@bp.get("/queue/rows")
@login_required
@limiter.exempt
def queue_rows() -> ResponseReturnValue:
    """The rows of my queue, for the page's periodic refresh."""
    return render_template("_case_rows.html", rows=_queue_rows())


def _queue_rows() -> list[Any]:
    with db_session() as session:
        return worklists.queue(session, member_row(session), wallclock.now())


@bp.get("/inbox")
@roles_required(*PARTY_ROLES)
def inbox() -> ResponseReturnValue:
    """My unit's inbox: cases escalated to it or taken over, overdue and supervised first."""
    return render_template("queue.html", rows=_inbox_rows(), title=_("Inbox of my unit"),
                           rows_url=url_for("staff.inbox_rows"))


@bp.get("/inbox/rows")
@roles_required(*PARTY_ROLES)
@limiter.exempt
def inbox_rows() -> ResponseReturnValue:
    """The rows of my unit's inbox, for the page's periodic refresh."""
    return render_template("_case_rows.html", rows=_inbox_rows())


def _inbox_rows() -> list[Any]:
    with db_session() as session:
        return worklists.inbox(session, member_row(session), wallclock.now())


def _fill_choices(form: NewCaseForm) -> None:
    with db_session() as session:
        grids = worklists.grids_of(session, member_row(session))
        form.grid.choices = [SelectChoice(g.code, f"{g.name} ({g.code})") for g in grids]
    form.category.choices = [SelectChoice(c.value, category_name(c.value)) for c in CATEGORIES]
    form.severity.choices = [SelectChoice("", _("As the category suggests"))] + [
        SelectChoice(s.value, s.value) for s in Severity]


@bp.route("/cases/new", methods=["GET", "POST"])
@roles_required(*LOGGING_ROLES)  # type: ignore[arg-type]
def new_case() -> ResponseReturnValue:
    """Log a complaint or dispute: the case is stored and queued for its grid at once."""
    request.max_content_length = FORM_MAX_BYTES
    form = NewCaseForm()
    _fill_choices(form)
    suggested = {c.value: info.default_severity.value for c, info in CATEGORIES.items()}
    with db_session() as session:
        user = member_row(session)
        addresses = [address_label(h.address) for h in households_of(session, user)]
        grid = form.grid.data
        if form.validate_on_submit() and form.address.data:
            # The register turns the address into its building's grid, within the member's own subtree.
            try:
                grid = match(session, form.address.data, subtree_ids(session, user.unit_id)).grid_code
            except DomainError as exc:
                form.address.errors = [*form.address.errors, reason_of(exc)]
    if request.method != "POST" or form.errors:
        status = 422 if request.method == "POST" else 200
        return render_template("new_case.html", form=form, suggested=suggested, addresses=addresses), status
    who = member()
    data: dict[str, Any] = {
        "category": form.category.data, "grid": grid, "description": form.description.data,
        "channel": Channel.GRID_PATROL.value,
    }
    if form.severity.data:
        data["severity"] = form.severity.data
    if form.reporter_name.data:
        data["reporter"] = {"name": form.reporter_name.data, "phone": form.reporter_phone.data or None}
    if form.other_name.data:
        data["parties"] = [{"role": PartyRole.RESPONDENT.value, "name": form.other_name.data,
                            "phone": form.other_phone.data or None}]
    raw = {"specversion": "1.0", "id": str(uuid.uuid4()), "source": f"/ui/{who.name}", "type": SUBMITTED,
           "time": wallclock.now().isoformat(), "datacontenttype": "application/json", "data": data}
    try:
        event = CaseSubmittedEvent.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        form.description.errors = [*form.description.errors, f"{'.'.join(map(str, first['loc']))}: {first['msg']}"]
        return render_template("new_case.html", form=form, suggested=suggested, addresses=addresses), 422
    photo = request.files.get("photo")
    photo_bytes = photo.read() if photo is not None and photo.filename else b""
    accepted = accept_submission(engine(), event)
    publish_event(accepted.inbox_id)
    assert accepted.case_id is not None
    if photo_bytes:
        try:
            with db_session() as session:
                case = session.get(Case, accepted.case_id)
                assert case is not None
                add_photo(session, case, photo_bytes, who.name)
        except DomainError as exc:
            flash(_("The case is logged, but the photo was not kept: %(why)s", why=reason_of(exc)), "error")
    flash(_("Case logged. Give the resident the slip with the tracking code."), "success")
    return redirect(url_for("casework.show", case_id=accepted.case_id))
