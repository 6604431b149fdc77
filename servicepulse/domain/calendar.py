"""Swedish working days, holidays, office hours, tertials and millisecond time arithmetic: one calendar for the
rules, the simulator and the ClickHouse calendar table (`non_working_days`, written at migrate time)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

import holidays

from .parameters import Parameters, default_parameters
from .zone import STOCKHOLM

__all__ = [
    "DAY_MS",
    "HOUR_MS",
    "MINUTE_MS",
    "OFFICE_CLOSE",
    "OFFICE_OPEN",
    "SECOND_MS",
    "STOCKHOLM",
    "WorkingCalendar",
    "add_office_ms",
    "add_working_days",
    "ceil_ms",
    "from_ms",
    "holiday_name",
    "is_working_day",
    "local_date",
    "local_ms",
    "main_pay_date",
    "next_working_day",
    "non_working_days",
    "office_window",
    "on_or_after_working_day",
    "previous_working_day",
    "slot_tag",
    "sub_working_days",
    "tertial_bounds",
    "tertial_of",
    "to_ms",
]

# Office hours come from the parameters file, like every business target.
OFFICE_OPEN: time = default_parameters().office_opens
OFFICE_CLOSE: time = default_parameters().office_closes
SECOND_MS = 1_000
MINUTE_MS = 60 * SECOND_MS
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)
_ONE_DAY = timedelta(days=1)
# Non-working by the Annual Leave Act (SFS 1977:480 §7) without being public holidays; added by hand so
# an older `holidays` without the de_facto category still gets them right.
_EVES = {"Julafton": (12, 24), "Nyårsafton": (12, 31)}


def to_ms(moment: datetime) -> int:
    """Milliseconds since the epoch, rounded down; `moment` must be tz-aware."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r}: the simulator needs tz-aware times")
    return (moment - _EPOCH) // _ONE_MS


def ceil_ms(moment: datetime) -> int:
    """Milliseconds since the epoch, rounded up (so `t_ms < ceil_ms(x)` iff the instant t is before x)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r}: the simulator needs tz-aware times")
    return -((_EPOCH - moment) // _ONE_MS)


def from_ms(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)


def local_date(ms: int) -> date:
    return from_ms(ms).astimezone(STOCKHOLM).date()


@lru_cache(maxsize=65536)
def local_ms(day: date, at: time) -> int:
    """The instant of wall-clock time `at` on `day` in Stockholm."""
    return to_ms(datetime.combine(day, at, tzinfo=STOCKHOLM))


def slot_tag(slot_ms: int) -> str:
    """Compact UTC hour label (yymmddHH) used in ids; UTC so the autumn DST hour does not repeat."""
    return from_ms(slot_ms).strftime("%y%m%d%H")


def _without_sunday(name: str) -> str:
    return "; ".join(part for part in name.split("; ") if part not in ("Söndag", "Sunday"))


@lru_cache(maxsize=64)
def _non_working(year: int) -> dict[date, str]:
    cls = holidays.Sweden
    categories = [c for c in ("public", "de_facto") if c in getattr(cls, "supported_categories", ("public",))]
    language = "sv" if "sv" in getattr(cls, "supported_languages", ()) else None
    found = holidays.country_holidays("SE", years=year, categories=categories, language=language)
    # Depending on version and options the package lists every Sunday as a holiday ("Söndag"); weekends
    # are decided by weekday, so keep only named holidays.
    days = {d: _without_sunday(name) for d, name in found.items() if _without_sunday(name)}
    for name, (month, day) in _EVES.items():
        days.setdefault(date(year, month, day), name)
    midsummer_eve = next(date(year, 6, d) for d in range(19, 26) if date(year, 6, d).weekday() == 4)
    days.setdefault(midsummer_eve, "Midsommarafton")
    return days


def holiday_name(day: date) -> str | None:
    """Name of the public holiday or de-facto holiday (julafton, midsommarafton, nyårsafton) on `day`."""
    return _non_working(day.year).get(day)


@lru_cache(maxsize=4096)
def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _non_working(day.year)


def next_working_day(day: date) -> date:
    """The first working day strictly after `day`."""
    day += _ONE_DAY
    while not is_working_day(day):
        day += _ONE_DAY
    return day


def previous_working_day(day: date) -> date:
    """The last working day strictly before `day`."""
    day -= _ONE_DAY
    while not is_working_day(day):
        day -= _ONE_DAY
    return day


def on_or_after_working_day(day: date) -> date:
    return day if is_working_day(day) else next_working_day(day)


def add_working_days(day: date, count: int) -> date:
    for _ in range(count):
        day = next_working_day(day)
    return day


def sub_working_days(day: date, count: int) -> date:
    for _ in range(count):
        day = previous_working_day(day)
    return day


@lru_cache(maxsize=512)
def main_pay_date(year: int, month: int) -> date:
    """Pay date of the monthly main run: the 25th, or the working day before it when the 25th is not one."""
    day = date(year, month, 25)
    return day if is_working_day(day) else previous_working_day(day)


@lru_cache(maxsize=8192)
def office_window(day: date, opens: time = OFFICE_OPEN, closes: time = OFFICE_CLOSE) -> tuple[int, int] | None:
    """Start and end (ms) of the office hours on `day`, or None on a day off."""
    if not is_working_day(day):
        return None
    return local_ms(day, opens), local_ms(day, closes)


def add_office_ms(start_ms: int, office_ms: int) -> int:
    """The instant `office_ms` of office time after `start_ms`, counting only office hours on working days."""
    day = local_date(start_ms)
    now = start_ms
    remaining = office_ms
    while True:
        window = office_window(day)
        if window is not None:
            begin = max(now, window[0])
            if begin < window[1]:
                if begin + remaining <= window[1]:
                    return begin + remaining
                remaining -= window[1] - begin
        day += _ONE_DAY


def non_working_days(first_year: int, last_year: int) -> list[tuple[date, str]]:
    """Every named non-working day (public holidays and julafton, midsommarafton, nyårsafton) of the years, in
    order: the rows of the ClickHouse table `non_working_days`."""
    return sorted(item for year in range(first_year, last_year + 1) for item in _non_working(year).items())


def tertial_of(moment: date | datetime) -> str:
    """`YYYY-T1` (Jan-Apr), `-T2` (May-Aug) or `-T3` (Sep-Dec); a datetime counts in Stockholm time."""
    day = moment.astimezone(STOCKHOLM).date() if isinstance(moment, datetime) else moment
    return f"{day.year}-T{(day.month - 1) // 4 + 1}"


def tertial_bounds(tertial: str) -> tuple[date, date]:
    """First day of the tertial and first day after it: tertial_bounds('2026-T1') -> (2026-01-01, 2026-05-01)."""
    try:
        year_text, part = tertial.split("-T")
        year, index = int(year_text), int(part)
    except ValueError:
        raise ValueError(f"not a tertial: {tertial!r} (expected e.g. 2026-T1)") from None
    if index not in (1, 2, 3):
        raise ValueError(f"not a tertial: {tertial!r} (T1, T2 or T3)")
    start = date(year, 4 * (index - 1) + 1, 1)
    return start, date(year + 1, 1, 1) if index == 3 else date(year, 4 * index + 1, 1)


_DAY = timedelta(days=1)


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r}: working-time clocks need tz-aware times")
    return moment.astimezone(STOCKHOLM)


@dataclass(frozen=True)
class WorkingCalendar:
    """Office hours on Swedish working days, on aware datetimes (the rules' clock; `add_office_ms` above is the
    simulator's, on milliseconds). Defaults: the office hours of the parameters file."""

    opens: time = OFFICE_OPEN
    closes: time = OFFICE_CLOSE

    def __post_init__(self) -> None:
        if self.closes <= self.opens:
            raise ValueError("office hours must close after they open")

    @classmethod
    def from_parameters(cls, parameters: Parameters) -> WorkingCalendar:
        return cls(parameters.office_opens, parameters.office_closes)

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
