"""Every API refusal as JSON that names the field and the problem."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify, request
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from schemas.api import ErrorBody, Problem
from workflow.base.errors import (
    DomainError,
    EventConflict,
    Forbidden,
    InvalidInput,
    InvalidTransition,
    NotFound,
    StaleVersion,
)

OPEN311_PREFIX = "/open311/"

STATUS: dict[type[DomainError], int] = {
    NotFound: 404,
    InvalidInput: 422,
    InvalidTransition: 409,
    StaleVersion: 409,
    EventConflict: 409,
    Forbidden: 403,
}


def error_response(status: int, code: str, message: str, problems: list[Problem] | None = None,
                   headers: dict[str, str] | None = None) -> Response:
    """Return a JSON error body with ``status``."""
    body = ErrorBody(error=code, message=message, problems=problems or [])
    response = jsonify(body.model_dump())
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def problems_of(exc: ValidationError, prefix: str = "") -> list[Problem]:
    """Turn pydantic's errors into (field, problem) pairs with dotted paths."""
    problems = []
    for err in exc.errors():
        path = ".".join(str(part) for part in err["loc"])
        field = f"{prefix}{path}" if path else prefix.rstrip(".") or None
        problems.append(Problem(field=field, problem=err["msg"]))
    return problems


def validation_error(exc: ValidationError, prefix: str = "") -> Response:
    """Answer a request that failed validation with 422 and every field at fault."""
    problems = problems_of(exc, prefix)
    first = problems[0]
    message = f"{first.field}: {first.problem}" if first.field else first.problem
    return error_response(422, "invalid", message, problems)


def flask_openapi3_validation_error(exc: ValidationError) -> Response:
    """flask-openapi3's hook: its request validation failed (Open311 answers in its own error format)."""
    if request.path.startswith(OPEN311_PREFIX):
        from web.open311.formats import errors, format_of_path

        first = problems_of(exc)[0]
        return errors(format_of_path(request.path), 400,
                      f"{first.field}: {first.problem}" if first.field else first.problem)
    return validation_error(exc)


def domain_error(exc: DomainError) -> Response:
    """Answer a domain refusal with its status."""
    status = next((code for kind, code in STATUS.items() if isinstance(exc, kind)), 400)
    problems = [Problem(field=exc.field, problem=exc.message)] if exc.field else []
    return error_response(status, exc.code, exc.message, problems)


def database_unavailable(exc: OperationalError) -> Response:
    """Answer 503 with a retry hint while the database is away: nothing was stored, send it again."""
    return error_response(503, "unavailable", "the database is not reachable right now; nothing was stored, "
                          "retry in a few seconds", headers={"Retry-After": "5"})


def register(app: Flask) -> None:
    """Install the JSON error handlers on ``app``."""
    app.register_error_handler(DomainError, domain_error)
    app.register_error_handler(OperationalError, database_unavailable)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        if not request.path.startswith(("/api/", OPEN311_PREFIX)):
            return exc
        return http_error_json(exc)


def http_error_json(exc: HTTPException) -> Response:
    """Answer an HTTP error on the API as JSON (on Open311, in its error format)."""
    if request.path.startswith(OPEN311_PREFIX):
        from web.open311.formats import errors, format_of_path

        # The spec: 404 for what does not exist, 400 for the rest; a wrong method keeps its 405 and Allow.
        status = exc.code if exc.code in (404, 405) else 400 if (exc.code or 500) < 500 else exc.code or 500
        allow = {k: v for k, v in exc.get_headers() if k == "Allow"}
        return errors(format_of_path(request.path), status, exc.description or exc.name or "error", headers=allow)
    code = (exc.name or "error").lower().replace(" ", "_")
    # Keep what the exception says in headers: Allow on a 405 (RFC 9110), Retry-After on a 429.
    headers = {name: value for name, value in exc.get_headers() if name.lower() != "content-type"}
    return error_response(exc.code or 500, code, exc.description or exc.name, headers=headers)


def documented(*statuses: int) -> dict[str | int, type[BaseModel] | dict[Any, Any] | None]:
    """Return the ``responses`` entries of an operation's error statuses, all with ErrorBody."""
    return {status: ErrorBody for status in statuses}
