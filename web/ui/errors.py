"""Refusals on the pages: an HTML page that says why, with the status the API would give."""

from __future__ import annotations

from flask import Blueprint, Flask, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from werkzeug.exceptions import HTTPException

from web.api.errors import STATUS, http_error_json
from workflow.base.errors import (
    DomainError,
    EventConflict,
    Forbidden,
    InvalidInput,
    InvalidTransition,
    NotFound,
    StaleVersion,
)

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


def explain(exc: DomainError) -> str:
    """Say why something was refused: a sentence in the page language, then the precise reason."""
    sentence = next((str(text) for kind, text in _SENTENCES.items() if isinstance(exc, kind)), None)
    return f"{sentence} ({exc.message})" if sentence else exc.message


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
        return render_template("error.html", status=status, message=exc.description or exc.name), status
