"""Swedish working days, holidays, office hours, tertials and millisecond time arithmetic: one calendar for the
rules, the simulator and the ClickHouse calendar table."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

import holidays

from .zone import STOCKHOLM

__all__ = [
    "DAY_MS",
    "HOUR_MS",
    "MINUTE_MS",
    "OFFICE_CLOSE",
    "OFFICE_OPEN",
    "SECOND_MS",
    "STOCKHOLM",
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
    "office_window",
    "on_or_after_working_day",
    "previous_working_day",
    "slot_tag",
    "sub_working_days",
    "to_ms",
]

OFFICE_OPEN = time(8, 0)
OFFICE_CLOSE = time(16, 30)
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
