"""Periods in the deployment's time zone: from–to dates, months, weeks, and the one before."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from workflow.base import config, wallclock
from workflow.base.errors import N_, InvalidInput

# A longer period is a report for a different purpose; the facts are read row by row.
MAX_DAYS = 366


@dataclass(frozen=True)
class Period:
    """The days ``first`` to ``last`` inclusive, local to the deployment: ``[start, end)`` in UTC."""

    first: date
    last: date

    @property
    def zone(self) -> ZoneInfo:
        """Return the deployment's zone."""
        return ZoneInfo(config.timezone_name())

    @property
    def start(self) -> datetime:
        """Return the first instant of the period, in UTC."""
        return datetime.combine(self.first, time(0), self.zone).astimezone(UTC)

    @property
    def end(self) -> datetime:
        """Return the first instant after the period, in UTC."""
        return datetime.combine(self.last + timedelta(days=1), time(0), self.zone).astimezone(UTC)

    @property
    def days(self) -> int:
        """Return the number of days in the period."""
        return (self.last - self.first).days + 1

    def contains(self, instant: datetime | None) -> bool:
        """Tell whether ``instant`` falls in the period."""
        return instant is not None and self.start <= instant < self.end

    def previous(self) -> Period:
        """Return the period just before: the month before a whole month, else as many days before."""
        if self.first.day == 1 and self.last == month_of(self.first).last:
            before = self.first - timedelta(days=1)
            return month_of(before)
        return Period(self.first - timedelta(days=self.days), self.first - timedelta(days=1))

    def label(self) -> str:
        """Return ``YYYY-MM-DD–YYYY-MM-DD`` (or ``YYYY-MM`` for a whole month)."""
        if self.first.day == 1 and self.last == month_of(self.first).last:
            return self.first.strftime("%Y-%m")
        return f"{self.first.isoformat()}–{self.last.isoformat()}"


def month_of(day: date) -> Period:
    """Return the calendar month holding ``day``."""
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return Period(first, following - timedelta(days=1))


def week_of(day: date) -> Period:
    """Return the week (Monday to Sunday) holding ``day``."""
    monday = day - timedelta(days=day.weekday())
    return Period(monday, monday + timedelta(days=6))


def parse_month(text: str) -> Period:
    """Parse ``YYYY-MM``.

    Raises:
        InvalidInput: it is not a month.
    """
    if not re.fullmatch(r"\d{4}-\d{2}", text or ""):
        raise InvalidInput(N_("month '%(month)s' is not YYYY-MM"), field="month", month=text)
    try:
        return month_of(date(int(text[:4]), int(text[5:]), 1))
    except ValueError as exc:
        raise InvalidInput(N_("month '%(month)s' is not YYYY-MM"), field="month", month=text) from exc


def parse_period(first: str | None, last: str | None) -> Period:
    """Parse ``from`` and ``to`` (YYYY-MM-DD, inclusive); either missing means this month so far.

    Raises:
        InvalidInput: a date is malformed, ``to`` is before ``from``, or the span is over a year.
    """
    today = local_today()
    if not first and not last:
        return Period(today.replace(day=1), today)
    try:
        start = date.fromisoformat(first) if first else None
    except ValueError as exc:
        raise InvalidInput(N_("from '%(start)s' is not a date YYYY-MM-DD"), field="from", start=first) from exc
    try:
        end = date.fromisoformat(last) if last else None
    except ValueError as exc:
        raise InvalidInput(N_("to '%(end)s' is not a date YYYY-MM-DD"), field="to", end=last) from exc
    start = start or (end or today).replace(day=1)
    end = end or max(start, today)
    if end < start:
        raise InvalidInput(N_("to %(end)s is before from %(start)s"), field="to", end=end, start=start)
    if (end - start).days + 1 > MAX_DAYS:
        raise InvalidInput(N_("a period is at most %(days)s days; %(start)s–%(end)s is longer"), field="to",
                           days=MAX_DAYS, start=start, end=end)
    return Period(start, end)


def local_today() -> date:
    """Return today's date in the deployment's zone."""
    return wallclock.now().astimezone(ZoneInfo(config.timezone_name())).date()


def weeks_back(last: date, count: int) -> list[Period]:
    """Return the ``count`` weeks up to the one holding ``last``, oldest first."""
    newest = week_of(last)
    return [Period(newest.first - timedelta(weeks=i), newest.last - timedelta(weeks=i))
            for i in range(count - 1, -1, -1)]
