"""The pay types (lönearter) of the simulated payroll system and the shape of one drawn pay line."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from servicepulse.schemas.events import PayCategory

__all__ = [
    "DEBT", "HOLIDAY_PAY", "HOURLY", "LEAVE", "MILEAGE", "MONTHLY", "NET", "OB", "OVERTIME", "PENSION",
    "PENSION_PAYOUT", "PER_DIEM", "PER_DIEM_RATE_ORE", "RETRO", "SETTLEMENT", "SICK", "TAX", "URGENT", "LineSpec",
    "PayType", "line_spec",
]


@dataclass(frozen=True, slots=True)
class PayType:
    """One löneart: its code and name in the payroll system, its category and the cost account it books to."""

    code: str
    name: str
    category: PayCategory
    account: str


MONTHLY = PayType("11", "Månadslön", PayCategory.gross, "5110")
URGENT = PayType("13", "Akut löneutbetalning", PayCategory.gross, "5110")
RETRO = PayType("15", "Retroaktiv lön", PayCategory.gross, "5110")
SETTLEMENT = PayType("17", "Slutlön", PayCategory.gross, "5110")
HOLIDAY_PAY = PayType("18", "Semesterersättning", PayCategory.gross, "5110")
HOURLY = PayType("21", "Timlön", PayCategory.gross, "5120")
OB = PayType("31", "OB-tillägg", PayCategory.gross, "5130")
OVERTIME = PayType("41", "Övertid", PayCategory.gross, "5140")
LEAVE = PayType("52", "Tjänstledighet, avdrag", PayCategory.gross, "5110")
SICK = PayType("61", "Sjukavdrag", PayCategory.gross, "5110")
PER_DIEM = PayType("711", "Traktamente, skattefritt", PayCategory.per_diem, "5820")
MILEAGE = PayType("721", "Bilersättning, skattefri", PayCategory.travel, "5810")
DEBT = PayType("81", "Avdrag löneskuld", PayCategory.deduction, "1690")
TAX = PayType("91", "Preliminär skatt", PayCategory.tax, "2710")
PENSION = PayType("95", "Pensionsavgift AKAP-KR", PayCategory.pension, "7410")
NET = PayType("99", "Nettolön", PayCategory.net, "2820")
# Only ever planted (to someone too young for a pension); the family never draws it.
PENSION_PAYOUT = PayType("96", "Pension, utbetald", PayCategory.pension, "7420")

# Tax-free full-day per diem (Skatteverket, inrikes heldag): what the payroll system pays per trip day.
PER_DIEM_RATE_ORE = 30_000

# (pay type, quantity, unit price öre, amount öre, work date, period from, period to)
LineSpec = tuple[PayType, Decimal | None, int | None, int, date | None, date | None, date | None]


def line_spec(pay_type: PayType, amount: int, quantity: Decimal | None = None, price: int | None = None,
              work_date: date | None = None, period_from: date | None = None,
              period_to: date | None = None) -> LineSpec:
    """A drawn pay line before it gets a run, a line number and a time (see `payroll_family.pay_line`)."""
    return pay_type, quantity, price, amount, work_date, period_from, period_to

