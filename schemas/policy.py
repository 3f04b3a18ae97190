"""The deadline policy file: durations per severity, category and level, warnings, evaluation window."""

from __future__ import annotations

import re
from datetime import time, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from schemas.vocabulary import Category, Level, Severity

# Days and time only: years, months and weeks vary in length (or read as months by mistake).
_DURATION = re.compile(r"^\s*(P(?=\d|T\d)(?:\d+D)?(?:T(?=\d)(?:\d+H)?(?:\d+M)?(?:\d+(?:\.\d+)?S)?)?)"
                       r"\s+(working|calendar)\s*$")
_TIMEDELTA = TypeAdapter(timedelta)


class Duration(BaseModel):
    """A span of time and whether it counts working or calendar time."""

    model_config = ConfigDict(frozen=True)

    span: timedelta
    counts: Literal["working", "calendar"]
    text: str

    @classmethod
    def parse(cls, text: str) -> Duration:
        """Read ``"P3D working"`` or ``"PT15M calendar"``.

        Raises:
            ValueError: the text is not an ISO 8601 duration (days and time only) with its counting.
        """
        match = _DURATION.match(text)
        if not match:
            raise ValueError(f"'{text}' is not like 'P3D working' or 'PT15M calendar' "
                             "(ISO 8601 days and time, then working or calendar)")
        try:
            span = _TIMEDELTA.validate_python(match.group(1))
        except ValidationError as exc:
            raise ValueError(f"'{match.group(1)}' is not an ISO 8601 duration") from exc
        if span <= timedelta(0):
            raise ValueError(f"'{text}' must be longer than zero")
        return cls(span=span, counts=match.group(2), text=f"{match.group(1)} {match.group(2)}")


def _duration(value: object) -> object:
    return Duration.parse(value) if isinstance(value, str) else value


class SeverityTimes(BaseModel):
    """The times of one severity."""

    model_config = ConfigDict(extra="forbid")

    first_contact: Duration
    resolve: Duration

    _parse = field_validator("first_contact", "resolve", mode="before")(_duration)


class Rule(BaseModel):
    """An override for the cases it matches."""

    model_config = ConfigDict(extra="forbid")

    category: Category | None = None
    severity: Severity | None = None
    level: Level | None = None
    first_contact: Duration | None = None
    resolve: Duration | None = None
    warn_at: Annotated[float, Field(gt=0, lt=1)] | None = None

    _parse = field_validator("first_contact", "resolve", mode="before")(_duration)


class PolicyFile(BaseModel):
    """The whole policy file."""

    model_config = ConfigDict(extra="forbid")

    working_hours: list[tuple[time, time]] = Field(default_factory=list)
    warn_at: Annotated[float, Field(gt=0, lt=1)] = 0.75
    supervision_repeat: Duration
    evaluation: Duration
    severity: dict[Severity, SeverityTimes]
    rules: list[Rule] = Field(default_factory=list)
    # The longest extension one request may ask for (extend_by), compared as a span of time.
    max_extension: Duration = Field(default_factory=lambda: Duration.parse("P90D calendar"))
    # How long a community decision's resolution and then its result stay posted (公开), at least.
    publication: Duration = Field(default_factory=lambda: Duration.parse("P5D working"))

    _parse = field_validator("supervision_repeat", "evaluation", "max_extension", "publication",
                             mode="before")(_duration)

    @field_validator("severity")
    @classmethod
    def _every_severity(cls, value: dict[Severity, SeverityTimes]) -> dict[Severity, SeverityTimes]:
        missing = [s.value for s in Severity if s not in value]
        if missing:
            raise ValueError(f"no times for {', '.join(missing)}")
        return value

    @field_validator("working_hours")
    @classmethod
    def _hours_in_order(cls, value: list[tuple[time, time]]) -> list[tuple[time, time]]:
        last = time(0)
        for start, end in value:
            if not last <= start < end:
                raise ValueError(f"working hours {start}-{end} overlap or run backwards")
            last = end
        return value
