"""Refusals on the pages: an HTML page that says why, with the status the API would give."""

from __future__ import annotations

from flask import Blueprint, Flask, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from schemas.vocabulary import Level, State
from web.api.errors import STATUS, http_error_json
from web.ui.i18n import level_name, state_name
from web.ui.wording import action_label, channel_label, field_label
from workflow.base.errors import (
    DomainError,
    EventConflict,
    Forbidden,
    InvalidInput,
    InvalidTransition,
    NotFound,
    StaleVersion,
)

STATES, LEVELS = {s.value for s in State}, {lv.value for lv in Level}
_ACTORS: dict[str, LazyString] = {"staff": _l("staff"), "resident": _l("the resident"), "system": _l("the system"),
                                  # The positions of a mediation's rules (workflow/mediation/machine.py).
                                  "holder": _l("mediating unit"), "mediator": _l("assigned mediator"),
                                  "grid": _l("case's grid")}

# The domain words its refusals in English for operators and logs; a page leads with one of
# these sentences in the reader's language and keeps the precise reason after it.
_SENTENCES: dict[type[DomainError], LazyString] = {
    NotFound: _l("Not found."),
    InvalidInput: _l("Please check what you entered."),
    InvalidTransition: _l("This is not possible while the case is in its present state."),
    StaleVersion: _l("The case changed since you opened this page: reload it and try again."),
    Forbidden: _l("You may not do this."),
    EventConflict: _l("This conflicts with what is already stored."),
}


def _word(name: str, value: object) -> object:
    # The words among a refusal's params (an action, a state, a level, a field) in the page language.
    text = str(value)
    if name == "trigger":
        return action_label(text)
    if name == "state" and text in STATES:
        return state_name(text)
    if name == "level" and text in LEVELS:
        return level_name(text)
    if name == "field_name":
        return field_label(text)
    if name == "channel":
        return channel_label(text)
    if name in {"who", "actor"}:
        return " / ".join(str(_ACTORS.get(part, part)) for part in text.split(" or "))
    return value


def reason_of(exc: DomainError) -> str:
    """Return the precise reason of a refusal in the page language (the domain's sentence, translated)."""
    params = {name: _word(name, value) for name, value in exc.params.items()}
    return str(gettext(exc.template, **params) if params else gettext(exc.template))

_HTTP_SENTENCES: dict[int, LazyString] = {
    400: _l("The request could not be understood. Reload the page and try again."),
    401: _l("Please log in."),
    403: _l("You may not open this page."),
    404: _l("There is no such page."),
    405: _l("This page cannot be used that way."),
    413: _l("What was sent is too large."),
    429: _l("Too many attempts in a short time. Wait a minute, then try again."),
    500: _l("Something went wrong on our side. Try again later."),
}

_CSRF = _l("The form's security token (CSRF) is missing or expired: reload the page and try again.")


def explain(exc: DomainError) -> str:
    """Say why something was refused: a sentence in the page language, then the precise reason."""
    sentence = next((str(text) for kind, text in _SENTENCES.items() if isinstance(exc, kind)), None)
    reason = reason_of(exc)
    return f"{sentence} ({reason})" if sentence else reason


def status_of(exc: DomainError) -> int:
    """Return the HTTP status a refusal is shown with (the same as the API's)."""
    return next((code for kind, code in STATUS.items() if isinstance(exc, kind)), 400)


def html_errors(blueprint: Blueprint) -> None:
    """Show a domain refusal in ``blueprint``'s pages as an HTML page instead of JSON."""

    @blueprint.errorhandler(DomainError)
    def refused(exc: DomainError) -> ResponseReturnValue:
        return render_template("error.html", status=status_of(exc), message=explain(exc)), status_of(exc)


def init(app: Flask) -> None:
    """Answer HTTP errors with a page outside the API and with JSON inside it."""

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> ResponseReturnValue:
        if request.path.startswith(("/api/", "/open311/")):
            return http_error_json(exc)
        status = exc.code or 500
        # Werkzeug and the limiter describe errors in English ("10 per 1 minute"): a page says it in
        # the reader's language instead.
        message = str(_CSRF if isinstance(exc, CSRFError) else _HTTP_SENTENCES.get(status, _HTTP_SENTENCES[500]))
        return render_template("error.html", status=status, message=message), status
