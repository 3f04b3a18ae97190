"""Administration: the org tree, members and their roles, subscriptions; the categories and policy in force."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from schemas.vocabulary import Role
from web.session import db_session
from web.ui.accounts import roles_required
from web.ui.errors import html_errors
from web.ui.security import protect_forms
from workflow.models import Unit, User

bp = Blueprint("admin", __name__, url_prefix="/admin")
protect_forms(bp)
html_errors(bp)


@bp.get("/org")
@roles_required(Role.ADMIN)
def org() -> ResponseReturnValue:
    """The org tree with each unit's members."""
    with db_session() as session:
        units = list(session.scalars(select(Unit).order_by(Unit.code)))
        members = list(session.scalars(select(User).order_by(User.name)))
        by_unit: dict[int, list[User]] = {}
        for user in members:
            by_unit.setdefault(user.unit_id, []).append(user)
        return render_template("admin/org.html", units=units, by_unit=by_unit)
