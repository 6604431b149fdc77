"""Working-time clocks in Stockholm: working days (holidays + julafton, midsommarafton, nyårsafton) and office hours."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from servicepulse.domain.calendar import holiday_name, is_working_day

from ..rules import STOCKHOLM

__all__ = ["WorkingCalendar", "holiday_name", "is_working_day"]

_DAY = timedelta(days=1)


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r}: working-time clocks need tz-aware times")
    return moment.astimezone(STOCKHOLM)


@dataclass(frozen=True)
class WorkingCalendar:
    """Office hours on working days. Working days come from the `holidays` package (categories public +
    de_facto) with julafton, midsommarafton and nyårsafton always non-working (the simulator's calendar)."""

    opens: time = time(8, 0)
    closes: time = time(16, 30)

    def __post_init__(self) -> None:
        if self.closes <= self.opens:
            raise ValueError("office hours must close after they open")

    @property
    def office_day(self) -> timedelta:
        """Length of one working day of office time (8 h 30 min with the defaults)."""
        return datetime.combine(date.min, self.closes) - datetime.combine(date.min, self.opens)

    def window(self, day: date) -> tuple[datetime, datetime] | None:
        if not is_working_day(day):
            return None
        return (datetime.combine(day, self.opens, tzinfo=STOCKHOLM),
                datetime.combine(day, self.closes, tzinfo=STOCKHOLM))

    def add_office_time(self, start: datetime, amount: timedelta) -> datetime:
        """The instant `amount` of office time after `start` (time outside office hours does not count)."""
        if amount < timedelta(0):
            raise ValueError("amount must not be negative")
        now = _aware(start)
        day = now.date()
        remaining = amount
        while True:
            window = self.window(day)
            if window is not None:
                begin = max(now, window[0])
                if begin < window[1] or (remaining == timedelta(0) and begin == window[1]):
                    if begin + remaining <= window[1]:
                        return begin + remaining
                    remaining -= window[1] - begin
            day += _DAY

    def office_time_between(self, start: datetime, end: datetime) -> timedelta:
        """Office time elapsed from `start` to `end` (zero if end is not after start)."""
        a, b = _aware(start), _aware(end)
        total = timedelta(0)
        day = a.date()
        while day <= b.date():
            window = self.window(day)
            if window is not None:
                lo, hi = max(a, window[0]), min(b, window[1])
                if hi > lo:
                    total += hi - lo
            day += _DAY
        return total

    def working_days_due(self, start: datetime, days: int) -> datetime:
        """Deadline of `days` working days after `start`: `days` full office days of office time."""
        return self.add_office_time(start, self.office_day * days)

    def case_day_due(self, start: datetime, day_limit: int) -> datetime:
        """Deadline of a lead time 'day 1-N': the end of the N-th working day counting the start day (or, when
        the start is outside office hours, the next working day) as day 1."""
        local = _aware(start)
        day = local.date()
        window = self.window(day)
        if window is None or local >= window[1]:
            day += _DAY
            while not is_working_day(day):
                day += _DAY
        for _ in range(day_limit - 1):
            day += _DAY
            while not is_working_day(day):
                day += _DAY
        return datetime.combine(day, self.closes, tzinfo=STOCKHOLM)
