"""gunicorn's access log without residents' tracking codes: each is cut to its first four characters.

A tracking code with the phone's last four digits opens a resident's case; the log is read by
more people, and kept longer, than the cases. Four characters still let an operator match a
line to a resident's call. ``--logger-class web.access_log.PrivateLogger`` (``gridcase up``
and the Procfile) puts it in place of gunicorn's own.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from gunicorn.glogging import Logger

# /track/CODE and /api/v1/track/CODE[/evaluation] (a path, a raw URI or a Referer), and ?code=CODE;
# the first four characters are kept.
_IN_PATH = re.compile(r"(/track/)([^/?#\s\"]{4})[^/?#\s\"]*")
_IN_QUERY = re.compile(r"((?:^|[?&;])code=)([^&#\s\"]{0,4})[^&#\s\"]*")


def scrub(text: str) -> str:
    """Return ``text`` with every tracking code in it cut to its first characters and ``...``."""
    if "track/" not in text and "code=" not in text:
        return text  # nearly every line: no regular expression run
    text = _IN_PATH.sub(r"\1\2...", text)
    return _IN_QUERY.sub(r"\1\2...", text)


class PrivateLogger(Logger):  # type: ignore[misc]
    """gunicorn's logger, with tracking codes cut short in every field of the access log."""

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: timedelta) -> dict[str, Any]:
        """Return gunicorn's atoms with tracking codes cut short in the request line, path, query and headers."""
        found = super().atoms(resp, req, environ, request_time)
        return {key: scrub(value) if isinstance(value, str) else value for key, value in found.items()}
