"""Administration of integrator keys: who may file cases from outside, a new key shown once, revoking one."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from wtforms import PasswordField, SelectField, StringField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from schemas.vocabulary import Role
from web.audit_trail import note
from web.session import db_session
from web.ui.accounts import member_row, roles_required
from web.ui.admin_forms import NOTICE_LANGUAGES, ConfirmForm, MultiCheckboxField
from web.ui.errors import html_errors, status_of
from web.ui.forms import PageForm
from web.ui.security import protect_forms
from workflow.base.errors import DomainError, NotFound
from workflow.integrators.keys import DEFAULT_RATE, add_integrator, listing, revoke
from workflow.integrators.models import Integrator, IntegratorRequest

bp = Blueprint("integrators_admin", __name__, url_prefix="/admin/integrators")
protect_forms(bp)
html_errors(bp)

SCOPE_CHOICES = [SelectChoice("submit", _l("submit: file cases (Open311 POST, CloudEvents)")),
                 SelectChoice("read", _l("read: read requests where reads need a key")),
                 SelectChoice("webhook", _l("webhook: hear of every step of the cases it filed"))]


class IntegratorForm(PageForm):
    """A new integrator key."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=64)])
    scopes = MultiCheckboxField(_l("Scopes"), choices=SCOPE_CHOICES,
                                validators=[DataRequired(message=_l("Choose at least one."))])
    rate = StringField(_l("Rate"), default=DEFAULT_RATE, validators=[DataRequired(), Length(max=40)])
    source = StringField(_l("CloudEvent source (default /integrators/NAME)"), validators=[Optional(), Length(max=500)])
    answer = SelectField(_l("Open311 POST answers"), choices=[SelectChoice("realtime", _l("the request id")),
                                                               SelectChoice("batch", _l("a token"))])
    webhook = StringField(_l("Webhook URL"), validators=[Optional(), Length(max=500)])
    secret = PasswordField(_l("Webhook HMAC key (default: made for you)"), validators=[Optional(), Length(max=200)])
    language = SelectField(_l("Language of the webhook's texts"), choices=NOTICE_LANGUAGES, validators=[Optional()])


def _rows() -> list[dict[str, Any]]:
    with db_session() as session:
        filed = dict(session.execute(select(IntegratorRequest.integrator_id, func.count())
                                     .group_by(IntegratorRequest.integrator_id)).all())
        return [{"name": i.name, "prefix": i.key_prefix, "scopes": i.scopes, "rate": i.rate, "source": i.source,
                 "answer": i.answer, "webhook": (i.webhook_url or "").split("?")[0], "revoked_at": i.revoked_at,
                 "filed": filed.get(i.id, 0)} for i in listing(session)]


def _render(form: IntegratorForm, new_key: str | None = None, secret: str | None = None, error: str | None = None,
            status: int = 200) -> ResponseReturnValue:
    return render_template("admin/integrators.html", integrators=_rows(), form=form, new_key=new_key,
                           secret=secret, error=error), status


@bp.route("", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def integrators() -> ResponseReturnValue:
    """Every integrator key (never the key itself) and a form to make one; a new key is shown this once."""
    form = IntegratorForm()
    if not form.validate_on_submit():
        return _render(form, status=422 if form.is_submitted() else 200)
    try:
        with db_session() as session:
            made, key = add_integrator(
                session, form.name.data or "", list(form.scopes.data or []), rate=(form.rate.data or "").strip(),
                source=(form.source.data or "").strip() or None, answer=form.answer.data or "realtime",
                webhook_url=(form.webhook.data or "").strip() or None, webhook_secret=form.secret.data or None,
                language=form.language.data or None)
            secret = made.webhook_secret if made.webhook_url and not form.secret.data else None
            note(session, member_row(session), "integrator.add", f"integrator {made.name}", scopes=list(made.scopes),
                 key_prefix=made.key_prefix, webhook=bool(made.webhook_url))
    except DomainError as exc:
        target = getattr(form, exc.field or "", None)
        if target is not None and hasattr(target, "errors"):
            target.errors = [*target.errors, exc.message]
            return _render(form, status=status_of(exc))
        return _render(form, error=exc.message, status=status_of(exc))
    return _render(IntegratorForm(formdata=None), new_key=key, secret=secret, status=201)


@bp.route("/<name>/revoke", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def revoke_integrator(name: str) -> ResponseReturnValue:
    """Ask to confirm, then revoke a key at once (what it filed stays)."""
    form = ConfirmForm()
    with db_session() as session:
        found = session.scalars(select(Integrator).where(Integrator.name == name)).one_or_none()
        if found is None:
            raise NotFound(f"no integrator named '{name}'")
        shown = {"name": found.name, "prefix": found.key_prefix, "source": found.source}
    if not form.validate_on_submit():
        return render_template("admin/revoke_integrator.html", integrator=shown, form=form)
    with db_session() as session:
        revoke(session, name)
        note(session, member_row(session), "integrator.revoke", f"integrator {name}", key_prefix=shown["prefix"])
    flash(_("The key of %(name)s is revoked.", name=name), "success")
    return redirect(url_for("integrators_admin.integrators"))
