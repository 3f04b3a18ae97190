"""Staff pages for lists and intake: my queue, my unit's inbox, logging a new case."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from pydantic import ValidationError
from werkzeug.exceptions import RequestEntityTooLarge
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
from workflow.base.errors import DomainError, EventConflict
from workflow.cases import worklists
from workflow.cases.attachments import MAX_PHOTOS, Photo, PhotoRefused, add_photo, photo_max_bytes, prepare_photo
from workflow.cases.categories import CATEGORIES
from workflow.cases.intake import accept_submission, case_of_event
from workflow.cases.models import Case
from workflow.registry.addresses import match
from workflow.registry.register import address_label, get_household, households_of, link_case, subtree_ids
from workflow.registry.risks import overdue_count

bp = Blueprint("staff", __name__)


@bp.before_request
def _room_for_photos() -> None:
    # Before the CSRF check reads the form: the app's 64 KiB cap is for JSON, not for phone photos.
    if request.endpoint == "staff.new_case":
        request.max_content_length = MAX_PHOTOS * photo_max_bytes() + 1024 * 1024


protect_forms(bp)  # after the photo allowance: the CSRF check reads the form

# Who logs cases: the grid and household leaders, and anyone above who takes a call.
LOGGING_ROLES = {"grid_leader", "household_leader", *PARTY_ROLES}


@bp.get("/queue")
@login_required
def queue() -> ResponseReturnValue:
    """My queue: the open cases of my subtree, most urgent first, refreshing by itself."""
    with db_session() as session:
        # Risks past their check date are the grid's to look at, as overdue cases are.
        overdue_risks = overdue_count(session, member_row(session), wallclock.now())
    return render_template("queue.html", rows=_queue_rows(), title=_("My queue"),
                           rows_url=url_for("staff.queue_rows"), export_kind="queue", overdue_risks=overdue_risks)


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
                           rows_url=url_for("staff.inbox_rows"), export_kind="inbox")


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
    form.category.choices = [SelectChoice("", _("Choose a category"))] + [
        SelectChoice(c.value, category_name(c.value)) for c in CATEGORIES]
    form.severity.choices = [SelectChoice("", _("As the category suggests"))] + [
        SelectChoice(s.value, s.value) for s in Severity]


def _form_page(form: NewCaseForm, status: int = 200) -> ResponseReturnValue:
    suggested = {c.value: info.default_severity.value for c, info in CATEGORIES.items()}
    if not form.submission_id.data:
        form.submission_id.data = str(uuid.uuid4())
    with db_session() as session:
        # The member's own households, offered as addresses (the register routes them to their grid).
        addresses = [address_label(h.address) for h in households_of(session, member_row(session))]
    return render_template("new_case.html", form=form, suggested=suggested, max_photos=MAX_PHOTOS,
                           max_photo_mb=f"{photo_max_bytes() / (1024 * 1024):g}", addresses=addresses), status


def _photo_refusal(file_name: str, exc: PhotoRefused) -> str:
    """Say in the reader's language why a photo was not taken; the browser cannot keep a chosen file."""
    if exc.reason == "too_large":
        why = _("“%(name)s” is larger than %(mb)s MB.", name=file_name, mb=f"{photo_max_bytes() / (1024 * 1024):g}")
    elif exc.reason == "empty":
        why = _("“%(name)s” is empty.", name=file_name)
    else:
        why = _("“%(name)s” is not a JPEG, PNG, WebP or HEIC picture.", name=file_name)
    again = _("Nothing was stored; choose the photos again and send the form.")
    return f"{why} {again}"


def _photos(form: NewCaseForm) -> list[Photo]:
    """Check every photo of the form before anything is stored; a refusal is put on the form."""
    files = [f for f in request.files.getlist("photo") if f.filename]
    if len(files) > MAX_PHOTOS:
        form.photo.errors = [_("At most %(n)s photos per case.", n=MAX_PHOTOS)]
        return []
    photos: list[Photo] = []
    for upload in files:
        try:
            photos.append(prepare_photo(upload.read()))
        except PhotoRefused as exc:
            form.photo.errors = [*form.photo.errors, _photo_refusal(upload.filename or "?", exc)]
    return photos


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_exc: RequestEntityTooLarge) -> ResponseReturnValue:
    if request.endpoint != "staff.new_case":
        return render_template("error.html", status=413, message=_("What was sent is too large.")), 413
    form = NewCaseForm(formdata=None)
    _fill_choices(form)
    form.photo.errors = [_("The photos were too large together: at most %(n)s photos of %(mb)s MB each. "
                           "Nothing was stored.", n=MAX_PHOTOS, mb=f"{photo_max_bytes() / (1024 * 1024):g}")]
    return _form_page(form, 413)


def _prefill_household(form: NewCaseForm, household_id: int) -> None:
    """Put a household of the member's subtree on the form as its address (from the household's page)."""
    with db_session() as session:
        try:
            form.address.data = address_label(get_household(session, household_id, member_row(session)).address)
        except DomainError:
            pass  # not theirs: the form stays empty, as without the parameter


@bp.route("/cases/new", methods=["GET", "POST"])
@roles_required(*LOGGING_ROLES)  # type: ignore[arg-type]
def new_case() -> ResponseReturnValue:
    """Log a complaint or dispute: the case is stored and queued for its grid at once."""
    form = NewCaseForm()
    _fill_choices(form)
    valid = form.validate_on_submit()
    grid = form.grid.data
    household: int | None = None
    if request.method == "GET" and request.args.get("household", "").isdigit():
        _prefill_household(form, int(request.args["household"]))
    if valid and form.address.data:
        with db_session() as session:
            user = member_row(session)
            # The register turns the address into its building's grid, within the member's own subtree.
            try:
                found = match(session, form.address.data, subtree_ids(session, user.unit_id))
                grid, household = found.grid_code, found.household_id
            except DomainError as exc:
                form.address.errors = [*form.address.errors, reason_of(exc)]
    if not valid or form.address.errors:
        return _form_page(form, 422 if request.method == "POST" else 200)
    photos = _photos(form)
    if form.photo.errors:
        return _form_page(form, 422)
    who = member()
    data: dict[str, Any] = {
        "category": form.category.data, "grid": grid, "description": form.description.data,
        "channel": Channel.GRID_PATROL.value,
    }
    if form.severity.data:
        data["severity"] = form.severity.data
    if household is not None:
        data["household"] = household  # the case page links to the household and back
    if form.reporter_name.data:
        data["reporter"] = {"name": form.reporter_name.data, "phone": form.reporter_phone.data or None}
    if form.other_name.data:
        data["parties"] = [{"role": PartyRole.RESPONDENT.value, "name": form.other_name.data,
                            "phone": form.other_phone.data or None}]
    source = f"/ui/{who.name}"
    raw = {"specversion": "1.0", "id": form.submission_id.data or str(uuid.uuid4()), "source": source,
           "type": SUBMITTED, "time": wallclock.now().isoformat(), "datacontenttype": "application/json",
           "data": data}
    try:
        event = CaseSubmittedEvent.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        form.description.errors = [*form.description.errors, f"{'.'.join(map(str, first['loc']))}: {first['msg']}"]
        return _form_page(form, 422)
    try:
        accepted = accept_submission(engine(), event)
    except EventConflict:
        # The same form sent again after an edit (back, change, submit): it already made its case.
        with db_session() as session:
            case_id = case_of_event(session, source, event.id)
        assert case_id is not None
        flash(_("This form was already sent: here is the case it made. Add any change as a note."), "info")
        return redirect(url_for("casework.show", case_id=case_id))
    assert accepted.case_id is not None
    if accepted.duplicate:
        flash(_("This form was already sent: here is the case it made."), "info")
        return redirect(url_for("casework.show", case_id=accepted.case_id))
    publish_event(accepted.inbox_id)
    if household is not None:
        with db_session() as session:
            link_case(session, accepted.case_id, household)
    if photos:
        with db_session() as session:
            case = session.get(Case, accepted.case_id)
            assert case is not None
            for photo in photos:
                add_photo(session, case, photo, who.name)
    flash(_("Case logged. Give the resident the slip with the tracking code."), "success")
    return redirect(url_for("casework.show", case_id=accepted.case_id))
