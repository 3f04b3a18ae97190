"""Staff log in with a password; each page knows the member and their role."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar, cast

import flask_login
from flask import Blueprint, Flask, Response, abort, flash, redirect, render_template, request, url_for
from flask import session as flask_session
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from sqlalchemy.orm import Session

from schemas.vocabulary import Role
from web.session import db_session
from web.ui.errors import reason_of
from web.ui.forms import LanguageForm, LoginForm, PasswordForm
from web.ui.i18n import safe_next
from web.ui.security import limiter, login_limit, protect_forms
from workflow.base.errors import DomainError
from workflow.org.members import authenticate, set_password
from workflow.org.models import User
from workflow.org.sessions import end_session, session_user, start_session

F = TypeVar("F", bound=Callable[..., Any])

bp = Blueprint("accounts", __name__)
protect_forms(bp)
login_manager = LoginManager()
login_manager.login_view = "accounts.login"
login_manager.login_message = _l("Please log in to see this page.")
login_manager.login_message_category = "info"

PARTY_ROLES = {Role.BRANCH_SECRETARY, Role.GENERAL_BRANCH_SECRETARY, Role.STREET_STAFF, Role.MEDIATOR}
# Who reads the figures (/analysis): the party levels above the grid, and the administrator.
ANALYSIS_ROLES = {Role.BRANCH_SECRETARY, Role.GENERAL_BRANCH_SECRETARY, Role.STREET_STAFF, Role.ADMIN}


@dataclass(frozen=True)
class Member(UserMixin):  # type: ignore[misc]
    """The logged-in member as the pages need it, detached from any database session."""

    user_id: int
    name: str
    display_name: str
    role: str
    unit_code: str
    unit_name: str
    unit_level: str
    language: str | None
    session_key: str

    def get_id(self) -> str:
        """Return what the session cookie carries: the random key of this session, nothing of the member."""
        return self.session_key

    @property
    def is_admin(self) -> bool:
        """Tell whether the member administers the deployment."""
        return self.role == Role.ADMIN

    @property
    def reads_analysis(self) -> bool:
        """Tell whether the member reads the figures (the party levels above the grid, the administrator)."""
        return self.role in ANALYSIS_ROLES

    @property
    def has_inbox(self) -> bool:
        """Tell whether the member works at a party level that receives escalations."""
        return self.role in PARTY_ROLES


def as_member(user: User, session_key: str) -> Member:
    """Return the page's view of a staff member logged in with the session ``session_key``."""
    return Member(user.id, user.name, user.display_name, user.role, user.unit.code, user.unit.name,
                  user.unit.level, user.language, session_key)


def load_member(session_key: str) -> Member | None:
    """Find the member of a live session, or None if it ended, idled out or expired, or they are inactive."""
    with db_session() as session:
        user = session_user(session, session_key)
        return as_member(user, session_key) if user is not None else None


def log_in_again(session: Session, user: User) -> Member:
    """Start a new session for ``user`` (after every one of theirs ended) and return its member."""
    return as_member(user, start_session(session, user))


login_manager.user_loader(load_member)


def login_required(view: F) -> F:
    """Send visitors who are not logged in to the login page (Flask-Login's, typed)."""
    return cast(F, flask_login.login_required(view))


def member() -> Member:
    """Return the member logged in for this request."""
    return cast(Member, current_user)


def member_row(session: Session) -> User:
    """Load the logged-in member's row in ``session`` (to act with it)."""
    user = session.get(User, member().user_id)
    if user is None:
        abort(401)
    return user


def roles_required(*roles: Role) -> Callable[[F], F]:
    """Let only members with one of ``roles`` open a page (403 for the others)."""

    def decorate(view: F) -> F:
        @wraps(view)
        @login_required
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if member().role not in roles:
                abort(403, _("Your role may not open this page."))
            return view(*args, **kwargs)

        return cast(F, wrapper)

    return decorate


def home_of(who: Member) -> str:
    """Return where a member starts: the inbox for party levels, administration, or the queue."""
    if who.is_admin:
        return url_for("admin.org")
    if who.has_inbox:
        return url_for("staff.inbox")
    return url_for("staff.queue")


def _login_name() -> str:
    return (request.form.get("name") or "").strip().lower() or "-"


def _failed(response: Response) -> bool:
    # Only failures use up the limit: ten colleagues behind one office address log in freely,
    # while a guesser still meets the limit after as many wrong passwords.
    return response.status_code != 302


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(login_limit, methods=["POST"], deduct_when=_failed)
@limiter.limit(login_limit, methods=["POST"], key_func=_login_name, deduct_when=_failed)
def login() -> ResponseReturnValue:
    """Show the login form; log the member in with name and password."""
    form = LoginForm()
    if form.validate_on_submit():
        with db_session() as session:
            user = authenticate(session, form.name.data or "", form.password.data or "")
            who = as_member(user, start_session(session, user)) if user is not None else None
        if who is None:
            flash(_("Wrong name or password."), "error")
            return render_template("login.html", form=form), 401
        login_user(who)
        return redirect(safe_next(request.args.get("next"), home_of(who)))
    return render_template("login.html", form=form)


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """End this session on the server, log out and go back to the login page."""
    if current_user.is_authenticated:
        with db_session() as session:
            end_session(session, member().session_key)
    logout_user()
    flash(_("You are logged out."), "info")
    return redirect(url_for("accounts.login"))


@bp.get("/account")
@login_required
def account() -> ResponseReturnValue:
    """My account: language of the pages and my password."""
    language = LanguageForm(language=member().language or "zh_Hans")
    return render_template("account.html", language_form=language, password_form=PasswordForm())


@bp.post("/account/language")
@login_required
def account_language() -> ResponseReturnValue:
    """Keep the language I chose for the pages."""
    form = LanguageForm()
    if form.validate_on_submit():
        with db_session() as session:
            member_row(session).language = form.language.data
        session_language_reset()
        flash(_("Language saved."), "success")
    return redirect(url_for("accounts.account"))


@bp.post("/account/password")
@login_required
@limiter.limit(login_limit, methods=["POST"], deduct_when=_failed)
def account_password() -> ResponseReturnValue:
    """Change my password after giving the current one; my other sessions end."""
    form = PasswordForm()
    language = LanguageForm(language=member().language or "zh_Hans")
    if not form.validate_on_submit():
        return render_template("account.html", language_form=language, password_form=form), 422
    try:
        with db_session() as session:
            user = authenticate(session, member().name, form.current.data or "")
            if user is None:
                form.current.errors = [_("The current password is wrong.")]
                return render_template("account.html", language_form=language, password_form=form), 403
            set_password(user, form.new.data or "")  # ends every session of mine
            who = log_in_again(session, user)
    except DomainError as exc:
        form.new.errors = [reason_of(exc)]
        return render_template("account.html", language_form=language, password_form=form), 422
    login_user(who)  # this session goes on under the new password; the others end
    flash(_("Password changed."), "success")
    return redirect(url_for("accounts.account"))


def session_language_reset() -> None:
    """Let the member's saved language win over a switch made earlier in this visit."""
    flask_session.pop("lang", None)


@bp.get("/")
def home() -> ResponseReturnValue:
    """Send members to their start page and everyone else to the resident's status page."""
    if current_user.is_authenticated:
        return redirect(home_of(member()))
    return render_template("welcome.html")


def init(app: Flask) -> None:
    """Install the login manager on ``app``."""
    login_manager.init_app(app)
