"""Structured logs for every process: one JSON object per line (or coloured lines on a terminal), scrubbed.

Every module keeps ``logger = logging.getLogger(__name__)`` and passes its fields as
``extra={"case_id": ...}``; the root handler installed here runs those records, and
structlog's own loggers, through one structlog chain: the fields bound in context
(request id, task id, inbox id), the ``extra`` fields, a timestamp, the personal-data
scrubber, then the renderer. Chinese is written as text, not escapes.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from workflow.base.privacy import mask_name, mask_phone, scrub

FORMATS = ("json", "console")
# Fields whose whole value is a resident's personal data, whatever it looks like.
# (Not plain "name": Celery logs task names under it.)
_NAME_KEYS = frozenset({"reporter_name", "party_name", "resident_name", "member_name"})
_PHONE_KEYS = frozenset({"phone", "mobile", "reporter_phone", "phone_last4"})
_CODE_KEYS = frozenset({"tracking_code", "id_number", "id_card"})
# A tracking code: 16 characters of Crockford's alphabet, maybe in groups of four with
# dashes, as stored, typed in a URL or printed on a slip. Masked when upper case (as stored)
# or holding a digit, so that an ordinary 16-letter word stays readable.
_TRACKING_CODE = re.compile(
    r"(?<![0-9A-Za-z_-])([0-9A-Za-z]{4})-?([0-9A-Za-z]{4})-?([0-9A-Za-z]{4})-?([0-9A-Za-z]{4})(?![0-9A-Za-z_-])"
)
_EMAIL = re.compile(r"(?<![\w.+-])([\w.+-])[\w.+-]*@([\w-]+(?:\.[\w-]+)+)")


# Anything the masks below could match holds one of these; most lines hold none, and one search
# is then all the scrubbing costs (bench/logging_cost.py).
_CANDIDATE = re.compile(r"\d{11}|@|[0-9A-Za-z]{16}|[0-9A-Za-z]{4}-[0-9A-Za-z]{4}-[0-9A-Za-z]{4}-[0-9A-Za-z]{4}")
# Fields the chain itself writes: never personal data.
_OWN_KEYS = frozenset({"timestamp", "level", "logger", "process", "task", "task_id"})


def mask_code(code: str) -> str:
    """Return a tracking or ID code with only its first four characters left: ``7Q2M************``."""
    return code[:4] + "*" * max(len(code) - 4, 4)


def scrub_text(text: str) -> str:
    """Mask mobile numbers, ID numbers, email addresses and tracking codes in a free text (a message, a URL)."""
    if not _CANDIDATE.search(text):
        return text
    # ID numbers first: an 18-digit ID also looks like a tracking code's digits.
    text = _EMAIL.sub(r"\1***@\2", scrub(text))
    return _TRACKING_CODE.sub(_mask_tracking_code, text)


def _mask_tracking_code(match: re.Match[str]) -> str:
    code = "".join(match.groups())
    if code.isupper() or any(ch.isdigit() for ch in code):
        return match.group(1) + "-****-****-****"
    return match.group(0)


def _scrub_value(key: str, value: Any) -> Any:
    if isinstance(value, str):
        lowered = key.lower()
        if lowered in _NAME_KEYS:
            return mask_name(value)
        if lowered in _PHONE_KEYS:
            return mask_phone(value)
        if lowered in _CODE_KEYS:
            return mask_code(value)
        return scrub_text(value)
    if isinstance(value, Mapping):
        return {k: _scrub_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub_value(key, v) for v in value]
    return value


def scrub_personal_data(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """Structlog processor: no name, phone, ID number or tracking code leaves a process in full."""
    return {key: value if key in _OWN_KEYS else _scrub_value(key, value) for key, value in event_dict.items()}


def log_format(stream: TextIO | None = None) -> str:
    """Return ``GRIDCASE_LOG_FORMAT`` (``json`` or ``console``); unset, console on a terminal, JSON otherwise."""
    chosen = os.environ.get("GRIDCASE_LOG_FORMAT", "").strip().lower()
    if chosen in FORMATS:
        return chosen
    stream = stream or sys.stderr
    return "console" if hasattr(stream, "isatty") and stream.isatty() else "json"


def log_level() -> str:
    """Return ``GRIDCASE_LOG_LEVEL`` (default ``INFO``)."""
    return os.environ.get("GRIDCASE_LOG_LEVEL", "INFO").upper()


def _add_process(process: str) -> Processor:
    def add(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
        event_dict.setdefault("process", process)
        return event_dict
    return add


def _drop_color_message(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    # uvicorn-style duplicates and Celery's own formatting hints are noise in JSON.
    event_dict.pop("color_message", None)
    return event_dict


def shared_processors(process: str) -> list[Processor]:
    """Return the chain every record goes through before rendering (stdlib records and structlog's own)."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_process(process),
    ]


def formatter(process: str, fmt: str) -> structlog.stdlib.ProcessorFormatter:
    """Return the logging formatter that renders every record as ``fmt`` (``json`` or ``console``)."""
    renderer: Processor
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer(serializer=functools.partial(json.dumps, ensure_ascii=False,
                                                                                  default=str))
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=True)
    return structlog.stdlib.ProcessorFormatter(
        # Fields passed as logging's ``extra=`` (case_id, inbox_id, ...) become keys of the line.
        foreign_pre_chain=[*shared_processors(process), structlog.stdlib.ExtraAdder()],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            _drop_color_message,
            structlog.processors.format_exc_info,
            scrub_personal_data,
            renderer,
        ],
    )


def configure(process: str, stream: TextIO | None = None, fmt: str | None = None) -> None:
    """Send every log record of this process (its own, Flask's, Celery's, gunicorn's) through structlog."""
    stream = stream or sys.stderr
    fmt = fmt or log_format(stream)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter(process, fmt))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(log_level())
    logging.captureWarnings(True)  # a library's warning becomes a line like any other
    # Libraries that install their own handlers would print every line twice.
    for name in ("celery", "celery.app.trace", "gunicorn.error", "gunicorn.access", "flower", "tornado.access"):
        named = logging.getLogger(name)
        named.handlers.clear()
        named.propagate = True
    # transitions logs every state entered at INFO: the step's own line already says it.
    logging.getLogger("transitions").setLevel(logging.WARNING)
    structlog.configure(
        processors=[*shared_processors(process), structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def bind(**fields: Any) -> None:
    """Put fields on every line this request or task logs from now on (structlog contextvars)."""
    structlog.contextvars.bind_contextvars(**fields)


def clear() -> None:
    """Forget the fields bound for the request or task that ended."""
    structlog.contextvars.clear_contextvars()


def bound() -> MutableMapping[str, Any]:
    """Return the fields bound now (for handing the request id on to a task)."""
    return dict(structlog.contextvars.get_contextvars())
