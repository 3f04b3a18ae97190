"""SMS through a pluggable sender; by default a sink that appends JSON lines to a file.

Providers (Aliyun, Tencent Cloud) send only pre-approved templates: a deployment plugs in
its sender with ``GRIDCASE_SMS_SENDER=package.module:factory``, a callable returning an
object with ``send(phone, text, message) -> None`` that raises DeliveryError on failure.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from workflow.base import config
from workflow.base.private_files import append_private
from workflow.notices.channels.base import DeliveryError, Message, register


class SmsSender(Protocol):
    """What an SMS provider plug-in offers."""

    def send(self, phone: str, text: str, message: Message) -> None:
        """Send one SMS; raise DeliveryError on failure."""


class FileSink:
    """Writes each SMS as a JSON line to ``GRIDCASE_SMS_FILE`` (default: sms.jsonl in the data folder)."""

    _lock = threading.Lock()

    def send(self, phone: str, text: str, message: Message) -> None:
        """Append the SMS to the sink file."""
        path = Path(os.environ.get("GRIDCASE_SMS_FILE") or config.data_dir() / "sms.jsonl")
        line = json.dumps({"at": datetime.now(UTC).isoformat(), "id": message.id, "phone": phone, "text": text},
                          ensure_ascii=False)
        with self._lock:
            path.parent.mkdir(parents=True, exist_ok=True)
            append_private(path, line + "\n")  # full phone numbers: for this user's eyes only


@functools.cache
def _sender(spec: str | None) -> SmsSender:
    if not spec:
        return FileSink()
    module, _, attr = spec.partition(":")
    try:
        factory = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise DeliveryError(f"GRIDCASE_SMS_SENDER={spec} cannot be loaded: {exc}", retryable=False) from exc
    sender: SmsSender = factory()
    return sender


@register
class Sms:
    """Sends to the phone number in ``target``."""

    name = "sms"
    rate = None

    def send(self, message: Message) -> None:
        """Hand the text to the configured sender."""
        _sender(os.environ.get("GRIDCASE_SMS_SENDER")).send(message.target, f"【网格】{message.body}", message)
