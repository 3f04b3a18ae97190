"""Capturing what a process logs, as the JSON lines it would print (for tests of logs and privacy)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from workflow.base import logs


class Captured:
    """The JSON lines logged since the capture began."""

    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self) -> list[dict[str, Any]]:
        """Every line parsed; a line that is not one JSON object fails the test."""
        parsed = []
        for line in self.text.splitlines():
            value = json.loads(line)
            assert isinstance(value, dict), line
            parsed.append(value)
        return parsed


@pytest.fixture
def captured_logs(monkeypatch: pytest.MonkeyPatch) -> Iterator[Captured]:
    """Configure this process's logging as a deployed one (JSON, DEBUG) into a buffer; restore it after."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    monkeypatch.setenv("GRIDCASE_LOG_LEVEL", "DEBUG")
    stream = io.StringIO()
    logs.configure("test", stream, "json")
    logs.clear()
    try:
        yield Captured(stream)
    finally:
        logs.clear()
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved_handlers:
            root.addHandler(handler)
        root.setLevel(saved_level)
        structlog.reset_defaults()
