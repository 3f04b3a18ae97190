"""Working time on a Chinese calendar: weekends, statutory holidays, make-up workdays, optional hours."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from workflow.base import config
from workflow.base.errors import InvalidInput

HOLIDAYS_FILE = Path(__file__).parent / "data" / "holidays-cn.yaml"
_MAX_DAYS = 3 * 366  # no deadline is years away: stop rather than loop on a broken calendar


def _days(entry: Any, where: str) -> Iterator[date]:
    text = str(entry)
    first, _, last = text.partition("..")
    try:
        start = date.fromisoformat(first.strip())
        end = date.fromisoformat(last.strip()) if last else start
    except ValueError as exc:
        raise InvalidInput(f"{where}: '{text}' is not a date or a range DATE..DATE", field=where) from exc
    if end < start:
        raise InvalidInput(f"{where}: range {text} ends before it starts", field=where)
    while start <= end:
        yield start
        start += timedelta(days=1)


def read_holidays(path: Path) -> tuple[frozenset[date], frozenset[date]]:
    """Read a holidays file: return (days off, make-up working days).

    Raises:
        InvalidInput: the file is missing or an entry is not a date or range; the message names it.
    """
    try:
        # BaseLoader keeps dates as text, so a bad one is reported by entry, not by YAML.
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.BaseLoader) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidInput(f"{path}: {exc}") from exc
    off: set[date] = set()
    work: set[date] = set()
    for year, spec in raw.items():
        for kind, target in (("holidays", off), ("workdays", work)):
            for i, entry in enumerate((spec or {}).get(kind) or []):
                target.update(_days(entry, f"{path.name}: {year}.{kind}[{i}]"))
    clash = off & work
    if clash:
        raise InvalidInput(f"{path.name}: {min(clash)} is both a holiday and a workday")
    return frozenset(off), frozenset(work)


@dataclass(frozen=True)
class WorkCalendar:
    """Which instants count as working time in a deployment's time zone."""

    zone: ZoneInfo
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()
    # Working hours of a working day, as (start, end) pairs; empty means the whole day.
    hours: tuple[tuple[time, time], ...] = field(default=())

    def is_working_day(self, day: date) -> bool:
        """Tell whether ``day`` is a working day (make-up weekends are; holidays are not)."""
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def periods(self, day: date) -> list[tuple[datetime, datetime]]:
        """Return the working periods of ``day`` as UTC instants, in order."""
        if not self.is_working_day(day):
            return []
        spans = self.hours or ((time(0), None),)
        out = []
        for start, end in spans:
            begin = datetime.combine(day, start, self.zone)
            finish = (datetime.combine(day, end, self.zone) if end is not None
                      else datetime.combine(day + timedelta(days=1), time(0), self.zone))
            out.append((begin.astimezone(UTC), finish.astimezone(UTC)))
        return out

    def _periods_from(self, instant: datetime) -> Iterator[tuple[datetime, datetime]]:
        day = instant.astimezone(self.zone).date()
        for offset in range(_MAX_DAYS):
            for begin, end in self.periods(day + timedelta(days=offset)):
                if end > instant:
                    yield max(begin, instant), end
        raise InvalidInput(f"no working time within {_MAX_DAYS} days of {instant.isoformat()}")

    def add_working(self, start: datetime, span: timedelta) -> datetime:
        """Return the instant when ``span`` of working time has passed after ``start``."""
        if span <= timedelta(0):
            return start
        left = span
        for begin, end in self._periods_from(start):
            if left <= end - begin:
                return begin + left
            left -= end - begin
        raise AssertionError("unreachable: _periods_from raises when it runs out")

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """Return the same local clock time ``days`` working days later (first moved into working time)."""
        instant = self.add_working(start, timedelta(microseconds=1)) - timedelta(microseconds=1)
        local = instant.astimezone(self.zone)
        day, moved = local.date(), 0
        while moved < days:
            day += timedelta(days=1)
            if self.is_working_day(day):
                moved += 1
            if (day - local.date()).days > _MAX_DAYS:
                raise InvalidInput(f"no {days} working days within {_MAX_DAYS} days")
        return datetime.combine(day, local.timetz().replace(tzinfo=None), self.zone).astimezone(UTC)

    def working_between(self, start: datetime, end: datetime) -> timedelta:
        """Return how much working time lies between ``start`` and ``end`` (zero if end is earlier)."""
        total = timedelta(0)
        if end <= start:
            return total
        for begin, finish in self._periods_from(start):
            if begin >= end:
                break
            total += min(finish, end) - begin
        return total

    def is_working_instant(self, instant: datetime) -> bool:
        """Tell whether ``instant`` falls in working time."""
        day = instant.astimezone(self.zone).date()
        return any(begin <= instant < end for begin, end in self.periods(day))


@functools.cache
def _cached(path: str, zone: str, hours: tuple[tuple[time, time], ...]) -> WorkCalendar:
    holidays, workdays = read_holidays(Path(path))
    return WorkCalendar(ZoneInfo(zone), holidays, workdays, hours)


def deployment_calendar(hours: tuple[tuple[time, time], ...] = ()) -> WorkCalendar:
    """Return the calendar of this deployment: ``GRIDCASE_HOLIDAYS`` (or the shipped file) in its zone."""
    path = os.environ.get("GRIDCASE_HOLIDAYS") or str(HOLIDAYS_FILE)
    return _cached(path, config.timezone_name(), hours)
