"""The period a report covers: a tertial (T1 Jan-Apr, T2 May-Aug, T3 Sep-Dec) or one month."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from servicepulse.domain.calendar import tertial_bounds

__all__ = ["Period"]

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    """[start, end) with its label; `months` are the YYYY-MM months it holds."""

    kind: str  # "tertial" or "month"
    label: str
    start: date
    end: date

    @classmethod
    def tertial(cls, label: str) -> Period:
        start, end = tertial_bounds(label)
        return cls("tertial", label, start, end)

    @classmethod
    def month(cls, label: str) -> Period:
        match = _MONTH.match(label)
        if not match or not 1 <= int(match.group(2)) <= 12:
            raise ValueError(f"not a month: {label!r} (expected e.g. 2026-03)")
        start = date(int(match.group(1)), int(match.group(2)), 1)
        return cls("month", label, start, _add_months(start, 1))

    @property
    def months(self) -> tuple[str, ...]:
        out, day = [], self.start
        while day < self.end:
            out.append(f"{day.year:04d}-{day.month:02d}")
            day = _add_months(day, 1)
        return tuple(out)

    @property
    def month_ends(self) -> tuple[date, ...]:
        """The first day after each month (the moment a month's backlog is read)."""
        return tuple(_add_months(date(int(m[:4]), int(m[5:]), 1), 1) for m in self.months)

    def year_before(self) -> Period:
        """The same period one year earlier (9894 postings are compared with it)."""
        return Period(self.kind, f"{self.start.year - 1}{self.label[4:]}", self.start.replace(year=self.start.year - 1),
                      self.end.replace(year=self.end.year - 1))
