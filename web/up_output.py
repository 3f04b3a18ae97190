"""What ``gridcase up`` prints of its children: their lines as they are in JSON, everything else as a JSON line too."""

from __future__ import annotations

import json
import logging
from typing import Any, TextIO

from honcho.printer import Printer

logger = logging.getLogger("gridcase.up")


class JsonLinesPrinter(Printer):  # type: ignore[misc]
    """A honcho printer with no ``time name |`` prefix, so that each line stays one JSON object.

    A child's JSON line is passed through; any other line (honcho's own "web.1 started",
    a traceback printed before logging was set up) becomes a JSON line of ``gridcase up``
    naming the child it came from.
    """

    def __init__(self, output: TextIO) -> None:
        super().__init__(output=output, prefix=False, colour=False)

    def write(self, message: Any) -> None:
        """Print each line of a child's output as one JSON object."""
        data = message.data.decode("utf-8", "replace") if isinstance(message.data, bytes) else message.data
        for line in data.splitlines():
            if _is_json_object(line):
                print(line, file=self.output, flush=True)
            elif line.strip():
                logger.info(line, extra={"child": (message.name or "").strip() or "system"})


def _is_json_object(line: str) -> bool:
    if not line.startswith("{"):
        return False
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False
