"""Refusals on the pages: an HTML page that says why, with the status the API would give."""

from __future__ import annotations

from flask import Blueprint, Flask, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from web.errors import STATUS, http_error_json
from workflow.errors import DomainError


def status_of(exc: DomainError) -> int:
    """Return the HTTP status a refusal is shown with (the same as the API's)."""
    return next((code for kind, code in STATUS.items() if isinstance(exc, kind)), 400)


def html_errors(blueprint: Blueprint) -> None:
    """Show a domain refusal in ``blueprint``'s pages as an HTML page instead of JSON."""

    @blueprint.errorhandler(DomainError)
    def refused(exc: DomainError) -> ResponseReturnValue:
        return render_template("error.html", status=status_of(exc), message=exc.message), status_of(exc)


def init(app: Flask) -> None:
    """Answer HTTP errors with a page outside the API and with JSON inside it."""

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> ResponseReturnValue:
        if request.path.startswith("/api/"):
            return http_error_json(exc)
        status = exc.code or 500
        return render_template("error.html", status=status, message=exc.description or exc.name), status
