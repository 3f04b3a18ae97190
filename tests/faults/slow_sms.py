"""An SMS provider for the fault suite (``GRIDCASE_SMS_SENDER=tests.faults.slow_sms:factory``).

Like the default file sink it appends each SMS as a JSON line to ``sms.jsonl`` in GRIDCASE_HOME, and
adds who sent it (the process id) and when; then it takes a few milliseconds, as a real provider's
HTTP call does. A test can so tell which worker is sending right now, and kill it between a send
and the commit of its batch, the moment that decides whether a notice can go out twice.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from workflow.base import config

SECONDS_PER_SMS = float(os.environ.get("GRIDCASE_FAULT_SMS_SECONDS", "0.01"))


def sink_path(home: Path | None = None) -> Path:
    """Return the file the SMS go to."""
    return (home or config.data_dir()) / "sms.jsonl"


class SlowSink:
    """Writes the SMS, then waits as a provider would."""

    def send(self, phone: str, text: str, message: Any) -> None:
        """Append the SMS with its sender's pid and time to the sink, then wait ``SECONDS_PER_SMS``."""
        line = json.dumps({"at": time.time(), "pid": os.getpid(), "id": message.id, "phone": phone, "text": text},
                          ensure_ascii=False)
        with sink_path().open("a", encoding="utf-8") as sink:
            sink.write(line + "\n")
        time.sleep(SECONDS_PER_SMS)


def factory() -> SlowSink:
    """Return the sender (the plug-in's factory)."""
    return SlowSink()


def last_sender(home: Path) -> tuple[int, float] | None:
    """Return the pid that wrote the newest SMS in ``home`` and how many seconds ago, or None if none was sent."""
    path = sink_path(home)
    try:
        with path.open("rb") as sink:
            sink.seek(0, os.SEEK_END)
            size = sink.tell()
            sink.seek(max(0, size - 4096))
            lines = sink.read().splitlines()
    except FileNotFoundError:
        return None
    for raw in reversed(lines):
        try:
            sms = json.loads(raw)
        except ValueError:
            continue  # a line being written, or cut by the seek
        if "pid" in sms and "at" in sms:
            return int(sms["pid"]), time.time() - float(sms["at"])
    return None
