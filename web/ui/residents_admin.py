"""The administrator's page for residents' channels: touch screens' keys (add, revoke) and service cards to print."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from schemas.vocabulary import Role
from web.session import db_session
from web.ui.accounts import roles_required
from web.ui.admin import _unit_choices as unit_choices
from web.ui.admin_forms import ConfirmForm
from web.ui.errors import html_errors
from web.ui.forms import PageForm
from web.ui.security import protect_forms
from web.ui.self_report import kiosk_url
from workflow.base import config
from workflow.base.errors import DomainError
from workflow.reports.cards import cards_of, cards_pdf
from workflow.reports.kiosk import add_key, list_keys, revoke_key

bp = Blueprint("residents_admin", __name__, url_prefix="/admin/residents")
protect_forms(bp)
html_errors(bp)


class KioskForm(PageForm):
    """A new touch screen: the unit whose service centre it stands in, and where."""

    unit = SelectField(_l("Unit of the service centre"), validators=[DataRequired()])
    label = StringField(_l("Where the screen stands"), validators=[Optional(), Length(max=100)])


class CardsForm(PageForm):
    """The unit whose buildings get service cards."""

    unit = SelectField(_l("Cards for the buildings of"), validators=[DataRequired()])


def _page(form: KioskForm, status: int = 200) -> ResponseReturnValue:
    secret = current_app.config["SECRET_KEY"]
    with db_session() as session:
        keys = [{"id": k.id, "unit": k.unit_code, "label": k.label, "created_at": k.created_at,
                 "revoked_at": k.revoked_at, "url": kiosk_url(secret, k.id, k.unit_code)} for k in list_keys(session)]
    cards = CardsForm(formdata=None)
    cards.unit.choices = unit_choices()
    return render_template("admin/residents.html", form=form, cards=cards, keys=keys, revoke=ConfirmForm()), status


@bp.route("", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def channels() -> ResponseReturnValue:
    """The touch screens' keys and a form to add one; the service cards to print."""
    form = KioskForm()
    form.unit.choices = unit_choices()
    if not form.validate_on_submit():
        return _page(form, 422 if form.is_submitted() else 200)
    with db_session() as session:
        add_key(session, form.unit.data or "", (form.label.data or "").strip())
    flash(_("The touch screen's address is below: open it on the screen in full-screen mode."), "success")
    return redirect(url_for("residents_admin.channels"))


@bp.post("/kiosks/<int:key_id>/revoke")
@roles_required(Role.ADMIN)
def revoke(key_id: int) -> ResponseReturnValue:
    """Revoke a touch screen's key: its address stops working at once."""
    form = ConfirmForm()
    if form.validate_on_submit():
        with db_session() as session:
            revoke_key(session, key_id)
        flash(_("The touch screen's key is revoked."), "success")
    return redirect(url_for("residents_admin.channels"))


@bp.get("/cards.pdf")
@roles_required(Role.ADMIN)
def cards_file() -> ResponseReturnValue:
    """The service cards of a unit's buildings as a PDF, eight per A4 page."""
    unit = request.args.get("unit", "")
    try:
        with db_session() as session:
            made = cards_of(session, unit, config.public_base_url())
    except DomainError:
        return render_template("error.html", status=404, message=_("Not found.")), 404
    return Response(cards_pdf(made), mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="gridcase-cards-{unit}.pdf"'})
