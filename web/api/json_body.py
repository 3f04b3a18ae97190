"""Reading JSON bodies: a body nested too deeply is a 400 that says so, not a ``RecursionError``."""

from __future__ import annotations

from typing import Any

from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import BadRequest

NESTED_TOO_DEEPLY = "the JSON body is nested too deeply to read (at most a few hundred levels of [ and {)"


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON provider, with ``loads`` that answers a too-deep body with 400."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        """Parse a request body (``request.get_json``)."""
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise BadRequest(NESTED_TOO_DEEPLY) from None
