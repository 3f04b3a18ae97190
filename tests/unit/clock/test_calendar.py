"""Working-time arithmetic on the Chinese calendar, checked by properties rather than examples alone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workflow.base.errors import InvalidInput
from workflow.clock.calendar import HOLIDAYS_FILE, WorkCalendar, read_holidays

SHANGHAI = ZoneInfo("Asia/Shanghai")
HOLIDAYS, WORKDAYS = read_holidays(HOLIDAYS_FILE)
WHOLE_DAYS = WorkCalendar(SHANGHAI, HOLIDAYS, WORKDAYS)
OFFICE = WorkCalendar(SHANGHAI, HOLIDAYS, WORKDAYS, ((time(9), time(12)), (time(13, 30), time(17, 30))))

instants = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 6, 30),  # noqa: DTZ001
                        timezones=st.just(UTC))
spans = st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=20))
calendars = st.sampled_from([WHOLE_DAYS, OFFICE])


@settings(max_examples=300, deadline=None)
@given(calendars, instants, spans)
def test_adding_working_time_then_counting_it_back_gives_the_same_span(cal: WorkCalendar, start: datetime,
                                                                      span: timedelta) -> None:
    assert cal.working_between(start, cal.add_working(start, span)) == span


@settings(max_examples=300, deadline=None)
@given(calendars, instants, spans)
def test_a_deadline_never_lands_inside_a_holiday_or_off_hours(cal: WorkCalendar, start: datetime,
                                                             span: timedelta) -> None:
    deadline = cal.add_working(start, span)
    # The last moment counted before the deadline is working time, on a working day.
    last = deadline - timedelta(microseconds=1)
    assert cal.is_working_instant(last)
    assert last.astimezone(SHANGHAI).date() not in HOLIDAYS


@settings(max_examples=200, deadline=None)
@given(calendars, instants, instants)
def test_holidays_and_weekends_are_never_counted(cal: WorkCalendar, a: datetime, b: datetime) -> None:
    start, end = min(a, b), max(a, b)
    counted = cal.working_between(start, end)
    by_day = timedelta(0)
    day = start.astimezone(SHANGHAI).date()
    while day <= end.astimezone(SHANGHAI).date():
        for begin, finish in cal.periods(day):
            by_day += max(timedelta(0), min(finish, end) - max(begin, start))
        assert cal.periods(day) == [] or cal.is_working_day(day)
        day += timedelta(days=1)
    assert counted == by_day


@settings(max_examples=200, deadline=None)
@given(instants, st.integers(min_value=1, max_value=15))
def test_working_days_land_on_a_working_day(start: datetime, days: int) -> None:
    due = WHOLE_DAYS.add_working_days(start, days)
    assert WHOLE_DAYS.is_working_day(due.astimezone(SHANGHAI).date())
    assert due > start


@pytest.mark.parametrize(("day", "working"), [
    (date(2026, 10, 1), False),   # 国庆节
    (date(2026, 10, 10), True),   # Saturday, 调休上班
    (date(2026, 2, 14), True),    # Saturday before 春节, 调休上班
    (date(2026, 2, 20), False),   # Friday inside 春节
    (date(2026, 11, 28), False),  # an ordinary Saturday
    (date(2026, 11, 26), True),   # an ordinary Thursday
])
def test_shipped_calendar_knows_2026(day: date, working: bool) -> None:
    assert WHOLE_DAYS.is_working_day(day) is working


def test_three_working_days_over_national_day_end_on_the_makeup_saturday() -> None:
    start = datetime(2026, 9, 30, 10, 0, tzinfo=SHANGHAI)
    due = WHOLE_DAYS.add_working_days(start, 3)
    assert due.astimezone(SHANGHAI) == datetime(2026, 10, 10, 10, 0, tzinfo=SHANGHAI)


def test_office_hours_skip_lunch_and_the_night() -> None:
    friday_late = datetime(2026, 11, 27, 17, 0, tzinfo=SHANGHAI)
    due = OFFICE.add_working(friday_late, timedelta(hours=1))
    assert due.astimezone(SHANGHAI) == datetime(2026, 11, 30, 9, 30, tzinfo=SHANGHAI)
    before_lunch = datetime(2026, 11, 26, 11, 30, tzinfo=SHANGHAI)
    assert OFFICE.add_working(before_lunch, timedelta(hours=1)).astimezone(SHANGHAI).time() == time(14)


def test_malformed_holiday_file_names_the_entry(tmp_path: Path) -> None:
    path = tmp_path / "h.yaml"
    path.write_text("2026:\n  holidays: [2026-13-01]\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"2026.holidays\[0\]"):
        read_holidays(path)
    path.write_text("2026:\n  holidays: [2026-10-10]\n  workdays: [2026-10-10]\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="both a holiday and a workday"):
        read_holidays(path)
