"""Bearer-token authentication of staff on the API."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import g, request

from web.api.errors import error_response
from web.session import db_session
from workflow.org.members import user_for_token
from workflow.org.models import User

F = TypeVar("F", bound=Callable[..., Any])
SECURITY: list[dict[str, list[Any]]] = [{"bearer": []}]


def staff_required(view: F) -> F:
    """Require ``Authorization: Bearer <token>``; put the member on ``g.user``."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return error_response(401, "unauthorized", "send 'Authorization: Bearer <token>'; "
                                  "create one with 'gridcase token create NAME'",
                                  headers={"WWW-Authenticate": "Bearer"})
        with db_session() as session:
            user = user_for_token(session, token.strip())
        if user is None:
            return error_response(401, "unauthorized", "the bearer token is not valid",
                                  headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        g.user = user
        return view(*args, **kwargs)

    return cast(F, wrapper)


def current_user() -> User:
    """Return the member authenticated for this request."""
    return cast(User, g.user)
