"""Tertials and the calendar table rows from the domain calendar."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from servicepulse.domain.calendar import (
    OFFICE_CLOSE,
    OFFICE_OPEN,
    WorkingCalendar,
    is_working_day,
    non_working_days,
    tertial_bounds,
    tertial_of,
)
from servicepulse.domain.parameters import default_parameters
from servicepulse.domain.zone import STOCKHOLM


@pytest.mark.parametrize(("day", "expected"), [
    (date(2026, 1, 1), "2026-T1"), (date(2026, 4, 30), "2026-T1"), (date(2026, 5, 1), "2026-T2"),
    (date(2026, 8, 31), "2026-T2"), (date(2026, 9, 1), "2026-T3"), (date(2026, 12, 31), "2026-T3"),
])
def test_tertial_of_a_date(day: date, expected: str) -> None:
    assert tertial_of(day) == expected
    start, end = tertial_bounds(expected)
    assert start <= day < end


def test_tertial_of_a_datetime_counts_in_stockholm() -> None:
    # 23:30 UTC on 30 April is 1 May in Stockholm.
    assert tertial_of(datetime(2026, 4, 30, 23, 30, tzinfo=STOCKHOLM).astimezone(STOCKHOLM)) == "2026-T1"
    assert tertial_of(datetime.fromisoformat("2026-04-30T23:30:00+00:00")) == "2026-T2"


def test_tertial_bounds() -> None:
    assert tertial_bounds("2026-T1") == (date(2026, 1, 1), date(2026, 5, 1))
    assert tertial_bounds("2026-T2") == (date(2026, 5, 1), date(2026, 9, 1))
    assert tertial_bounds("2026-T3") == (date(2026, 9, 1), date(2027, 1, 1))
    for bad in ("2026-T4", "2026T1", "T1"):
        with pytest.raises(ValueError, match="not a tertial"):
            tertial_bounds(bad)


def test_non_working_days_rows() -> None:
    rows = non_working_days(2025, 2026)
    days = [d for d, _ in rows]
    assert days == sorted(days) and len(days) == len(set(days))
    assert (date(2026, 6, 19), "Midsommarafton") in rows and (date(2025, 12, 24), "Julafton") in rows
    assert all(not is_working_day(d) for d in days)
    # Every weekday that is not a working day is in the table (the views decide weekends by weekday).
    day = date(2025, 1, 1)
    while day.year < 2027:
        if day.weekday() < 5 and not is_working_day(day):
            assert day in days
        day = day.fromordinal(day.toordinal() + 1)


def test_office_hours_come_from_the_parameters_file() -> None:
    p = default_parameters()
    assert (p.office_opens, p.office_closes) == (OFFICE_OPEN, OFFICE_CLOSE)
    assert WorkingCalendar() == WorkingCalendar.from_parameters(p)
