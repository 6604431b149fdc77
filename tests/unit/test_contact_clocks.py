"""Working-time clocks: Easter, julafton and the other eves, office hours (08:00-16:30 Stockholm by default)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest

from servicepulse.domain.calendar import WorkingCalendar, is_working_day
from servicepulse.domain.zone import STOCKHOLM

CAL = WorkingCalendar()  # 08:00-16:30, so one working day is 8 h 30 min of office time


def sthlm(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=STOCKHOLM)


def test_email_on_maundy_thursday_at_1600_is_due_the_tuesday_after_easter() -> None:
    # 2026: Good Friday 3 April, Easter Monday 6 April. 30 min left on Thursday + 8 h on Tuesday.
    due = CAL.working_days_due(sthlm(2026, 4, 2, 16, 0), 1)
    assert due == sthlm(2026, 4, 7, 16, 0)
    assert due.astimezone(STOCKHOLM).weekday() == 1


@pytest.mark.parametrize("day", [date(2026, 12, 24), date(2026, 12, 31), date(2026, 6, 19), date(2025, 12, 24)])
def test_eves_are_not_working_days(day: date) -> None:
    assert not is_working_day(day)


def test_ordinary_days() -> None:
    assert is_working_day(date(2026, 12, 23))
    assert not is_working_day(date(2026, 12, 26))  # Saturday (and annandag jul)
    assert not is_working_day(date(2026, 1, 6))  # trettondedag jul
    assert not is_working_day(date(2026, 6, 6))  # national day (a Saturday in 2026)


def test_julafton_is_skipped_by_the_clock() -> None:
    # Wednesday 23 December 10:00 + one working day: 24 (julafton), 25, 26, 27 skipped -> Monday 28th 10:00.
    assert CAL.working_days_due(sthlm(2026, 12, 23, 10, 0), 1) == sthlm(2026, 12, 28, 10, 0)


def test_eight_office_hours_and_out_of_hours_start() -> None:
    # Friday 17:00 (after closing): the clock starts Monday 08:00.
    assert CAL.add_office_time(sthlm(2026, 3, 13, 17, 0), timedelta(hours=8)) == sthlm(2026, 3, 16, 16, 0)
    assert CAL.add_office_time(sthlm(2026, 3, 16, 12, 0), timedelta(hours=8)) == sthlm(2026, 3, 17, 11, 30)
    assert CAL.office_time_between(sthlm(2026, 3, 13, 15, 0), sthlm(2026, 3, 16, 9, 0)) == timedelta(hours=2.5)


def test_opening_hours_are_configurable() -> None:
    cal = WorkingCalendar(opens=time(9, 0), closes=time(15, 0))
    assert cal.office_day == timedelta(hours=6)
    assert cal.working_days_due(sthlm(2026, 4, 2, 14, 0), 1) == sthlm(2026, 4, 7, 14, 0)
    with pytest.raises(ValueError, match="close after"):
        WorkingCalendar(opens=time(16, 0), closes=time(8, 0))


def test_case_lead_time_days() -> None:
    # "Day 1-2" for a new hire registered on Thursday before Easter: day 1 Thursday, day 2 Tuesday.
    assert CAL.case_day_due(sthlm(2026, 4, 2, 10, 0), 2) == sthlm(2026, 4, 7, 16, 30)
    # After closing, day 1 is the next working day.
    assert CAL.case_day_due(sthlm(2026, 4, 2, 17, 0), 1) == sthlm(2026, 4, 7, 16, 30)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        CAL.add_office_time(datetime(2026, 1, 1), timedelta(hours=1))  # noqa: DTZ001
