"""Administration: the org tree, members and their roles, subscriptions; the categories and policy in force."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import login_user
from sqlalchemy.orm import Session
from wtforms.fields import SelectChoice

from schemas.vocabulary import Category, Role, Severity
from web.audit_trail import note
from web.session import db_session
from web.ui.accounts import log_in_again, member, member_row, roles_required
from web.ui.admin_forms import ChildUnitForm, ConfirmForm, MemberForm, NewMemberForm, RenameUnitForm, SubscriptionForm
from web.ui.errors import explain, html_errors, reason_of, status_of
from web.ui.i18n import category_name, level_name
from web.ui.security import protect_forms
from web.ui.wording import AUDIT_AREAS, audit_action_label, role_label
from workflow.audit.log import ACTIONS, Filter, entries, filter_of
from workflow.base import config
from workflow.base.errors import DomainError, NotFound
from workflow.base.privacy import scrub
from workflow.cases.categories import CATEGORIES
from workflow.clock.policy_in_force import policy_in_force
from workflow.notices import subscription_admin
from workflow.notices.subscriptions import TOPICS, remove
from workflow.org import admin as org_admin
from workflow.org.members import MIN_PASSWORD_LENGTH, user_by_name
from workflow.org.models import User
from workflow.org.sessions import end_sessions, live_sessions
from workflow.org.tree import unit_by_code

bp = Blueprint("admin", __name__, url_prefix="/admin")
protect_forms(bp)
html_errors(bp)

CHANNELS = ("members", "email", "sms", "wecom", "dingtalk", "webhook")


def _refuse(form: Any, exc: DomainError) -> str | None:
    """Put a refusal under the field it names; return it as a page message when no field of ``form`` fits."""
    target = getattr(form, exc.field, None) if exc.field else None
    if target is not None and hasattr(target, "errors"):
        target.errors = [*target.errors, reason_of(exc).removeprefix(f"{exc.field}: ")]
        return None
    return reason_of(exc)


def _unit_choices() -> list[SelectChoice]:
    with db_session() as session:
        units = org_admin.flatten(org_admin.org_tree(session))
    return [SelectChoice(u.code, f"{'· ' * u.depth}{u.name} ({u.code}, {level_name(u.level)})") for u in units]


# --- the org tree and its units ---------------------------------------------------------------

@bp.get("/org")
@roles_required(Role.ADMIN)
def org() -> ResponseReturnValue:
    """The org tree, each unit with its members and links to edit them."""
    with db_session() as session:
        tree = org_admin.org_tree(session)
    return render_template("admin/org.html", tree=tree)


def _render_unit(code: str, rename: RenameUnitForm | None = None, child: ChildUnitForm | None = None,
                 error: str | None = None, status: int = 200) -> ResponseReturnValue:
    with db_session() as session:
        unit = unit_by_code(session, code)
        node = next(n for n in org_admin.flatten(org_admin.org_tree(session)) if n.code == unit.code)
        parent = (unit.parent.code, unit.parent.name) if unit.parent is not None else None
        below = org_admin.child_level(unit.level).value if node.may_have_children else None
    rename = rename or RenameUnitForm(prefix="rename", name=node.name)
    child = child or ChildUnitForm(prefix="child")
    return render_template("admin/unit.html", unit=node, parent=parent, below=below, rename_form=rename,
                           child_form=child, error=error), status


@bp.get("/units/<code>")
@roles_required(Role.ADMIN)
def unit(code: str) -> ResponseReturnValue:
    """One unit: rename it, add a unit below it, see and add its members."""
    return _render_unit(code)


@bp.post("/units/<code>/rename")
@roles_required(Role.ADMIN)
def rename_unit(code: str) -> ResponseReturnValue:
    """Give a unit a new name."""
    form = RenameUnitForm(prefix="rename")
    if not form.validate_on_submit():
        return _render_unit(code, rename=form, status=422)
    try:
        with db_session() as session:
            org_admin.rename_unit(session, code, form.name.data or "")
            note(session, member_row(session), "unit.edit", f"unit {code}", name=form.name.data or "")
    except DomainError as exc:
        return _render_unit(code, rename=form, error=_refuse(form, exc), status=status_of(exc))
    flash(_("Unit renamed."), "success")
    return redirect(url_for("admin.unit", code=code))


@bp.post("/units/<code>/children")
@roles_required(Role.ADMIN)
def add_child(code: str) -> ResponseReturnValue:
    """Add a unit one level below this one."""
    form = ChildUnitForm(prefix="child")
    if not form.validate_on_submit():
        return _render_unit(code, child=form, status=422)
    try:
        with db_session() as session:
            added = org_admin.add_unit(session, code, form.code.data or "", form.name.data or "")
            added_code = added.code
            note(session, member_row(session), "unit.add", f"unit {added_code}", parent=code, name=added.name)
    except DomainError as exc:
        return _render_unit(code, child=form, error=_refuse(form, exc), status=status_of(exc))
    flash(_("Unit %(code)s added.", code=added_code), "success")
    return redirect(url_for("admin.unit", code=added_code))


# --- members ----------------------------------------------------------------------------------

def _fill_member_choices(form: MemberForm) -> None:
    form.role.choices = [SelectChoice(r.value, role_label(r.value)) for r in Role]
    form.unit.choices = _unit_choices()


def _changes(form: MemberForm) -> org_admin.MemberChanges:
    return org_admin.MemberChanges(
        display_name=form.display_name.data or "", role=form.role.data or "", unit_code=form.unit.data or "",
        phone=form.phone.data, email=form.email.data, language=form.language.data or None,
        active=bool(form.active.data), password=form.password.data or None)


def _render_member(form: MemberForm, name: str | None, error: str | None = None,
                   status: int = 200) -> ResponseReturnValue:
    sessions = None
    if name:
        with db_session() as session:
            sessions = live_sessions(session, user_by_name(session, name))
    return render_template("admin/member.html", form=form, name=name, error=error, sessions=sessions,
                           end_form=ConfirmForm(), min_password=MIN_PASSWORD_LENGTH), status


@bp.route("/members/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def new_member() -> ResponseReturnValue:
    """Add a member with a login name, unit, role and password."""
    form = NewMemberForm(unit=request.args.get("unit"))
    _fill_member_choices(form)
    if not form.validate_on_submit():
        return _render_member(form, None, status=422 if request.method == "POST" else 200)
    try:
        with db_session() as session:
            added = org_admin.create_member(session, form.name.data or "", _changes(form))
            name = added.name
            note(session, member_row(session), "member.add", f"member {name}", role=added.role,
                 unit=form.unit.data or "", active=added.active)
    except DomainError as exc:
        return _render_member(form, None, error=_refuse(form, exc), status=status_of(exc))
    flash(_("Member %(name)s added; they can log in now.", name=name), "success")
    return redirect(url_for("admin.edit_member", name=name))


@bp.route("/members/<name>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def edit_member(name: str) -> ResponseReturnValue:
    """Change a member's name shown, role, unit, contacts, language, active flag or password."""
    if request.method == "GET":
        with db_session() as session:
            user = user_by_name(session, name)
            form = MemberForm(display_name=user.display_name, role=user.role, unit=user.unit.code, phone=user.phone,
                              email=user.email, language=user.language or "", active=user.active)
        _fill_member_choices(form)
        return _render_member(form, name)
    form = MemberForm()
    _fill_member_choices(form)
    with db_session() as session:
        user_by_name(session, name)  # 404 for a member who does not exist, before judging the form
    if not form.validate_on_submit():
        return _render_member(form, name, status=422)
    try:
        with db_session() as session:
            old = user_by_name(session, name)
            was = {"role": old.role, "unit": old.unit.code, "active": old.active}
            contacts = (old.display_name, old.phone, old.email, old.language)
            user = org_admin.update_member(session, member_row(session), name, _changes(form))
            _note_member_changes(session, name, was, contacts, user, bool(form.password.data))
            # My own new password ended every session of mine: this one goes on in a new one.
            myself = log_in_again(session, user) if user.id == member().user_id and form.password.data else None
    except DomainError as exc:
        return _render_member(form, name, error=_refuse(form, exc), status=status_of(exc))
    if myself is not None:
        login_user(myself)
    flash(_("Member %(name)s saved.", name=name), "success")
    return redirect(url_for("admin.edit_member", name=name))


def _note_member_changes(session: Session, name: str, was: dict[str, Any], contacts: tuple[Any, ...], user: User,
                         new_password: bool) -> None:
    """Put each kind of change on the audit log: role, unit, activity, password, contacts (named, not copied)."""
    actor, target = member_row(session), f"member {name}"
    now = {"role": user.role, "unit": user.unit.code, "active": user.active}
    if now["role"] != was["role"]:
        note(session, actor, "member.role", target, before=was["role"], after=now["role"])
    if now["active"] != was["active"]:
        note(session, actor, "member.activate" if now["active"] else "member.deactivate", target)
    changed = [k for k in ("unit",) if now[k] != was[k]]
    changed += [k for k, a, b in zip(("display_name", "phone", "email", "language"), contacts,
                                     (user.display_name, user.phone, user.email, user.language), strict=True) if a != b]
    if changed:
        note(session, actor, "member.edit", target, fields=changed,
             **({"unit": {"before": was["unit"], "after": now["unit"]}} if "unit" in changed else {}))
    if new_password:
        note(session, actor, "member.password", target)


@bp.post("/members/<name>/sessions/end")
@roles_required(Role.ADMIN)
def end_member_sessions(name: str) -> ResponseReturnValue:
    """End every session of a member on the pages (a lost phone, a member who left); they log in again."""
    with db_session() as session:
        ended = end_sessions(session, user_by_name(session, name), "administrator")
        note(session, member_row(session), "member.end_sessions", f"member {name}", sessions=ended)
    flash(ngettext("%(num)d session of %(name)s ended.", "%(num)d sessions of %(name)s ended.", ended, name=name),
          "success")
    return redirect(url_for("admin.edit_member", name=name))


# --- subscriptions ----------------------------------------------------------------------------

def _fill_subscription_choices(form: SubscriptionForm) -> None:
    form.unit.choices = _unit_choices()
    form.topics.choices = [SelectChoice("*", _("All events (*)"))] + [SelectChoice(t, t) for t in TOPICS]
    form.categories.choices = [SelectChoice(c.value, f"{c.value} {category_name(c.value)}") for c in Category]
    form.severities.choices = [SelectChoice(s.value, s.value) for s in Severity]
    form.channel.choices = [SelectChoice(c, c) for c in CHANNELS]


def _render_subscriptions(form: SubscriptionForm, error: str | None = None, status: int = 200) -> ResponseReturnValue:
    with db_session() as session:
        lines = subscription_admin.subscription_lines(session)
    return render_template("admin/subscriptions.html", subscriptions=lines, form=form, error=error), status


@bp.route("/subscriptions", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def subscriptions() -> ResponseReturnValue:
    """Every subscription (targets without keys) and a form to add one."""
    form = SubscriptionForm()
    _fill_subscription_choices(form)
    if request.method == "GET":
        form.topics.data = form.topics.data or ["*"]
        form.channel.data = form.channel.data or "members"
    if not form.validate_on_submit():
        return _render_subscriptions(form, status=422 if request.method == "POST" else 200)
    try:
        with db_session() as session:
            sub = subscription_admin.add_subscription(
                session, form.unit.data or "", topics=list(form.topics.data or []), subtree=bool(form.subtree.data),
                categories=list(form.categories.data or []), severities=list(form.severities.data or []),
                channel=form.channel.data or "members", target=form.target.data, secret=form.secret.data,
                language=form.language.data or None)
            sub_id = sub.id
            note(session, member_row(session), "subscription.add", f"subscription {sub_id}", unit=form.unit.data or "",
                 channel=sub.channel, topics=list(sub.topics or []), subtree=bool(sub.subtree))
    except DomainError as exc:
        return _render_subscriptions(form, error=_refuse(form, exc), status=status_of(exc))
    flash(_("Subscription %(id)d added.", id=sub_id), "success")
    return redirect(url_for("admin.subscriptions"))


@bp.route("/subscriptions/<int:sub_id>/remove", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def remove_subscription(sub_id: int) -> ResponseReturnValue:
    """Ask to confirm, then remove a subscription."""
    form = ConfirmForm()
    with db_session() as session:
        line = subscription_admin.subscription_line(session, sub_id)
    if not form.validate_on_submit():
        return render_template("admin/remove_subscription.html", sub=line, form=form)
    try:
        with db_session() as session:
            remove(session, sub_id)
            note(session, member_row(session), "subscription.remove", f"subscription {sub_id}", unit=line.unit_code,
                 channel=line.channel)
    except NotFound:
        pass  # removed by someone else in the meantime: what was asked holds
    flash(_("Subscription %(id)d removed.", id=sub_id), "success")
    return redirect(url_for("admin.subscriptions"))


# --- categories and the deadline policy -------------------------------------------------------

def span_text(span: timedelta) -> str:
    """Say a span of time in days, hours and minutes, in the page language."""
    minutes = int(span.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = []
    if days:
        parts.append(ngettext("%(num)d day", "%(num)d days", days))
    if hours:
        parts.append(ngettext("%(num)d hour", "%(num)d hours", hours))
    if minutes or not parts:
        parts.append(ngettext("%(num)d minute", "%(num)d minutes", minutes))
    return " ".join(str(part) for part in parts)


def counts_text(counts: str) -> str:
    """Say whether a duration counts working time or calendar time."""
    return str(_("working time") if counts == "working" else _("calendar time"))


@bp.get("/policy")
@roles_required(Role.ADMIN)
def policy() -> ResponseReturnValue:
    """The categories with their default severity, and the deadline policy in force with its source and digest."""
    categories = [(c.value, category_name(c.value), info.default_severity.value) for c, info in CATEGORIES.items()]
    return render_template("admin/policy.html", categories=categories, policy=policy_in_force(),
                           span_text=span_text, counts_text=counts_text)


# --- the audit log ----------------------------------------------------------------------------

AUDIT_PAGE = 50


@bp.get("/audit")
@roles_required(Role.ADMIN)
def audit() -> ResponseReturnValue:
    """The administrators' audit log, newest first: filter by actor, act or area, and days."""
    args = request.args
    error, status = None, 200
    try:
        flt = filter_of(args.get("actor"), args.get("action"), args.get("since"), args.get("until"))
    except DomainError as exc:
        flt, error, status = Filter(), explain(exc), status_of(exc)
    page_arg = args.get("page", "1")
    page = min(int(page_arg), 100_000) if page_arg.isdigit() and int(page_arg) > 0 else 1
    zone = ZoneInfo(config.timezone_name())
    with db_session() as session:
        rows, total = entries(session, flt, limit=AUDIT_PAGE, offset=(page - 1) * AUDIT_PAGE)
        # Targets and details hold no personal data by design; numbers are masked anyway, as in any free text.
        lines = [{"seq": e.seq, "at": e.at.astimezone(zone).strftime("%Y-%m-%d %H:%M"), "actor": e.actor,
                  "unit": e.actor_unit, "action": e.action, "label": audit_action_label(e.action),
                  "target": scrub(e.target),
                  "detail": scrub("; ".join(f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in e.detail.items()))}
                 for e in rows]
    choices = [(a, audit_action_label(a)) for a in AUDIT_AREAS] + [(a, audit_action_label(a)) for a in ACTIONS]
    pages = max(1, -(-total // AUDIT_PAGE))
    return render_template("admin/audit.html", lines=lines, total=total, page=page, pages=pages, choices=choices,
                           args=args, error=error), status
