"""The deadline policy in force: loaded from a file, checked at start, resolved per case."""

from __future__ import annotations

import functools
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from schemas.policy import Duration, PolicyFile
from schemas.vocabulary import Category, Level, Severity
from workflow.base.errors import InvalidInput
from workflow.clock.calendar import WorkCalendar, deployment_calendar

DEFAULT_POLICY_FILE = Path(__file__).parent / "data" / "policy.yaml"


@dataclass(frozen=True)
class Policy:
    """A validated policy and the fingerprint cases record it by."""

    spec: PolicyFile
    digest: str
    source: str

    def times(self, category: str, severity: str, level: str) -> tuple[Duration, Duration, float]:
        """Return (first contact, resolve, warn_at) for a case of this category and severity at a level."""
        base = self.spec.severity[Severity(severity)]
        first, resolve, warn_at = base.first_contact, base.resolve, self.spec.warn_at
        for rule in self.spec.rules:
            if ((rule.category is None or rule.category == Category(category))
                    and (rule.severity is None or rule.severity == Severity(severity))
                    and (rule.level is None or rule.level == Level(level))):
                first = rule.first_contact or first
                resolve = rule.resolve or resolve
                warn_at = rule.warn_at or warn_at
                break
        return first, resolve, warn_at

    def calendar(self) -> WorkCalendar:
        """Return the working calendar with this policy's working hours."""
        return deployment_calendar(tuple(tuple(pair) for pair in self.spec.working_hours))  # type: ignore[misc]

    def due(self, start: datetime, duration: Duration) -> datetime:
        """Return when ``duration`` after ``start`` ends, counting working or calendar time."""
        if duration.counts == "calendar":
            return start + duration.span
        calendar = self.calendar()
        whole_days = duration.span.days
        rest = duration.span - timedelta(days=whole_days)
        if not self.spec.working_hours and whole_days:
            # Whole working days keep the clock time: three working days from Thursday
            # 10:00 end on Tuesday 10:00, not after 72 hours of weekday time.
            start = calendar.add_working_days(start, whole_days)
            return calendar.add_working(start, rest)
        return calendar.add_working(start, duration.span)

    def as_json(self) -> dict[str, Any]:
        """Return the policy as stored with the cases whose clocks it started."""
        return self.spec.model_dump(mode="json")


def parse_policy(raw: Any, source: str) -> Policy:
    """Validate a policy document.

    Raises:
        InvalidInput: naming the entry at fault, e.g. ``severity.P1.resolve``.
    """
    try:
        spec = PolicyFile.model_validate(raw)
    except ValidationError as exc:
        raise InvalidInput.from_validation(exc, str(source)) from exc
    text = json.dumps(spec.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return Policy(spec, hashlib.sha256(text.encode()).hexdigest()[:16], source)


def load_policy(path: Path) -> Policy:
    """Read and validate a policy file.

    Raises:
        InvalidInput: the file cannot be read or an entry is wrong; the message names it.
    """
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidInput(f"{path}: {exc}") from exc
    return parse_policy(raw, str(path))


@functools.cache
def _cached(path: str, mtime: float) -> Policy:
    return load_policy(Path(path))


def current_policy() -> Policy:
    """Return the policy in force: ``GRIDCASE_POLICY`` or the shipped default (re-read when changed)."""
    path = Path(os.environ.get("GRIDCASE_POLICY") or DEFAULT_POLICY_FILE)
    try:
        mtime = path.stat().st_mtime
    except OSError as exc:
        raise InvalidInput(f"GRIDCASE_POLICY names {path}, which cannot be read: {exc}") from exc
    return _cached(str(path), mtime)
