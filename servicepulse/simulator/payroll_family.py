"""Monthly main payroll runs and urgent payments: a stable roster, run headers and one pay line per pay type."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, time, timedelta
from decimal import Decimal
from functools import lru_cache

from servicepulse.domain.calendar import (
    HOUR_MS,
    MINUTE_MS,
    SECOND_MS,
    STOCKHOLM,
    add_working_days,
    from_ms,
    is_working_day,
    local_ms,
    main_pay_date,
    office_window,
    slot_tag,
    sub_working_days,
)
from servicepulse.schemas.events import PayCategory, PayLine, PayrollRun, PayrollRunKind, PayrollRunStatus

from . import pay_types
from .agenda import Agenda
from .organisations import CUSTOMERS, Customer
from .pay_types import LineSpec, line_spec
from .randomness import WeightedPicker, lognormal, poisson, rng_for, uniform_times

__all__ = [
    "CHANNEL_AGRESSO",
    "CHANNEL_GIROVISION",
    "CHANNEL_MAIN",
    "LINE_STEP_MS",
    "OPEN_AT",
    "Employee",
    "PayrollFamily",
    "Roster",
    "main_lines",
    "main_run_id",
    "main_run_schedule",
    "pay_line",
    "run_header",
    "urgent_lines",
]

URGENT_RUNS_PER_DAY = 4
CHANNEL_MAIN = "bank file"
CHANNEL_GIROVISION = "girovision"
CHANNEL_AGRESSO = "agresso"
LINE_STEP_MS = 40  # the payroll system writes lines in one batch while the run computes
OPEN_AT = time(6, 0)
_CLOSE_AT = time(10, 0)
_CENT = Decimal("0.01")
# Employer pension contribution AKAP-KR: 6 % up to 7.5 income base amounts a year, 31.5 % above.
_PENSION_LIMIT_ORE = 83_400 * 100 * 75 // 10 // 12  # income base amount 2026: 83,400 kr
_PENSION_LOW, _PENSION_HIGH = Decimal("0.06"), Decimal("0.315")

@dataclass(frozen=True, slots=True)
class Employee:
    """One employment (anstid) on the roster; no personnummer, no name."""

    employee_id: str
    customer: Customer
    salary_ore: int  # full-time monthly salary
    rate: int  # percent of full time
    hourly_ore: int  # hourly wage, 0 for monthly paid
    shift: bool  # rostered work with unsocial-hours pay (OB)


class Roster:
    """The stable set of employees per customer for a seed and scale (~56,000 at scale 1)."""

    def __init__(self, seed: int, scale: float) -> None:
        rng = rng_for(seed, "roster")
        sizes = [max(1, round(c.employees * scale)) for c in CUSTOMERS]
        numbers = rng.sample(range(1, 1_000_000), sum(sizes))
        self.by_customer: dict[str, list[Employee]] = {}
        start = 0
        for customer, size in zip(CUSTOMERS, sizes, strict=True):
            staff = []
            for number in sorted(numbers[start:start + size]):
                hourly = rng.random() < customer.hourly_share
                salary = round(min(110_000, max(22_500, lognormal(rng, 33_500, 0.22)))) * 100
                rate = 100 if hourly or rng.random() < 0.72 else rng.choice((50, 60, 75, 80, 90))
                staff.append(Employee(
                    employee_id=f"A{number:06d}",
                    customer=customer,
                    salary_ore=salary,
                    rate=rate,
                    hourly_ore=rng.randrange(150, 230) * 100 if hourly else 0,
                    shift=rng.random() < customer.shift_share,
                ))
            self.by_customer[customer.code] = staff
            start += size

    def __len__(self) -> int:
        return sum(len(staff) for staff in self.by_customer.values())


def main_run_id(customer: Customer, year: int, month: int) -> str:
    return f"{customer.code}-{year:04d}-{month:02d}-main"


@lru_cache(maxsize=1024)
def main_run_schedule(year: int, month: int) -> tuple[date, date, date]:
    """(open day, close day, pay date) of the monthly main run: opened three working days before pay date,
    closed after the sample checks two working days before it."""
    pay = main_pay_date(year, month)
    return sub_working_days(pay, 3), sub_working_days(pay, 2), pay


def _tax_ore(taxable_ore: int) -> int:
    """Preliminary tax rounded to whole kronor: ~31 % municipal tax less an earned-income credit, plus state tax."""
    kr = taxable_ore / 100
    tax = 0.31 * kr - min(3_000.0, 0.10 * kr) + 0.20 * max(0.0, kr - 53_000)
    return max(0, round(tax)) * 100


def _pension_ore(pensionable_ore: int) -> int:
    low = min(pensionable_ore, _PENSION_LIMIT_ORE)
    high = max(0, pensionable_ore - _PENSION_LIMIT_ORE)
    return int((low * _PENSION_LOW + high * _PENSION_HIGH).quantize(Decimal(1)))


def _quarter_hours(rng: random.Random, low: int, high: int) -> Decimal:
    return Decimal(rng.randrange(low * 4, high * 4 + 1)) / 4


def _previous_month(year: int, month: int) -> tuple[date, date]:
    last = date(year, month, 1) - timedelta(days=1)
    return last.replace(day=1), last


def main_lines(rng: random.Random, employee: Employee, year: int, month: int) -> list[LineSpec]:
    prev_first, prev_last = _previous_month(year, month)
    lines: list[LineSpec] = []
    if employee.hourly_ore:
        # Hourly staff are paid in arrears for the hours of the previous month.
        hours = _quarter_hours(rng, 8, 150)
        lines.append(line_spec(pay_types.HOURLY, int(hours * employee.hourly_ore), hours, employee.hourly_ore, None,
                               prev_first, prev_last))
    else:
        quantity = (Decimal(employee.rate) / 100).quantize(_CENT)
        lines.append(line_spec(pay_types.MONTHLY, employee.salary_ore * employee.rate // 100, quantity,
                               employee.salary_ore))
    monthly = employee.salary_ore * employee.rate // 100
    if employee.shift and rng.random() < 0.85:
        hours = _quarter_hours(rng, 4, 45)
        price = rng.choice((2_500, 5_500, 6_000, 12_500))
        work_date = prev_first + timedelta(days=rng.randrange((prev_last - prev_first).days + 1))
        lines.append(line_spec(pay_types.OB, int(hours * price), hours, price, work_date))
    if not employee.hourly_ore and rng.random() < 0.07:
        hours = _quarter_hours(rng, 1, 12)
        price = employee.salary_ore // 94
        work_date = prev_first + timedelta(days=rng.randrange((prev_last - prev_first).days + 1))
        lines.append(line_spec(pay_types.OVERTIME, int(hours * price), hours, price, work_date))
    if rng.random() < 0.04:
        # Retroactive pay (a salary revision or a late time report) for up to three months back.
        retro_to = prev_first - timedelta(days=1)
        retro_from = retro_to.replace(day=1)
        for _ in range(rng.randint(0, 1)):
            retro_from = (retro_from - timedelta(days=1)).replace(day=1)
        lines.append(line_spec(pay_types.RETRO, rng.randrange(200, 2_000) * 100, None, None, None,
                               retro_from, retro_to))
    away: list[tuple[date, date]] = []  # days of leave: no trip on them
    if not employee.hourly_ore and rng.random() < 0.06:
        days = rng.randint(1, 6)
        per_day = monthly * 12 // 365
        work_date = prev_first + timedelta(days=rng.randrange((prev_last - prev_first).days + 1))
        lines.append(line_spec(pay_types.SICK, -(days * per_day // 5), Decimal(days), -(per_day // 5), work_date))
        away.append((work_date, work_date + timedelta(days=days - 1)))
    if not employee.hourly_ore and rng.random() < 0.01:
        start = prev_first + timedelta(days=rng.randrange(20))
        days = rng.randint(2, 8)
        per_day = monthly * 12 // 365
        lines.append(line_spec(pay_types.LEAVE, -(days * per_day), Decimal(days), -per_day, None, start,
                               start + timedelta(days=days - 1)))
        away.append((start, start + timedelta(days=days - 1)))
    lines.extend(_corrections(rng, lines))
    taxable = sum(line[3] for line in lines)
    if rng.random() < 0.03:
        distance = Decimal(rng.randrange(10, 400))
        lines.append(line_spec(pay_types.MILEAGE, int(distance * 250), distance, 250,
                               prev_first + timedelta(days=rng.randrange(28))))
    if rng.random() < 0.03:
        lines.extend(_trip(rng, prev_first, away))
    tax = _tax_ore(taxable)
    lines.append(line_spec(pay_types.TAX, -tax))
    net = sum(line[3] for line in lines)
    if rng.random() < 0.008:
        debt = min(rng.randrange(500, 5_000) * 100, net * 3 // 10)
        if debt > 0:
            lines.append(line_spec(pay_types.DEBT, -debt))
            net -= debt
    lines.append(line_spec(pay_types.PENSION, _pension_ore(max(0, taxable))))
    lines.append(line_spec(pay_types.NET, net))
    return lines


def _trip(rng: random.Random, month_first: date, away: list[tuple[date, date]]) -> list[LineSpec]:
    """Per diem for one business trip of 1-5 days in the month, weekends inside it included (traktamente is
    paid for every day away): one line for the trip, or one line a day as some systems write it. Never on a
    day of leave."""
    days = rng.choice((1, 1, 2, 3, 3, 4, 5))
    for _ in range(10):
        start = month_first + timedelta(days=rng.randrange(26))
        end = start + timedelta(days=days - 1)
        if all(end < a or b < start for a, b in away):
            break
    else:
        return []
    rate = pay_types.PER_DIEM_RATE_ORE
    if days == 1:
        return [line_spec(pay_types.PER_DIEM, rate, Decimal(1), rate, start)]
    if rng.random() < 0.5:
        return [line_spec(pay_types.PER_DIEM, days * rate, Decimal(days), rate, None, start, end)]
    return [line_spec(pay_types.PER_DIEM, rate, Decimal(1), rate, start + timedelta(days=d)) for d in range(days)]


def _corrections(rng: random.Random, lines: list[LineSpec]) -> list[LineSpec]:
    """Corrections as a payroll system registers them: the wrong line reversed (negated) and the right one
    registered; a re-booking (another cost account) reverses and registers the same line again."""
    dated = [ln for ln in lines if ln[0] in (pay_types.OB, pay_types.OVERTIME)]
    if not dated or rng.random() >= 0.04:
        return []
    pay_type, quantity, price, amount, work_date, start, end = dated[0]
    reversal = line_spec(pay_type, -amount, None if quantity is None else -quantity, price, work_date, start, end)
    if rng.random() < 0.5 or quantity is None or price is None:
        return [reversal, dated[0]]
    hours = max(Decimal("0.25"), quantity - Decimal(rng.randint(1, 4)) / 4)
    return [reversal, line_spec(pay_type, int(hours * price), hours, price, work_date, start, end)]


def urgent_lines(rng: random.Random, employee: Employee) -> list[LineSpec]:
    monthly = employee.salary_ore * employee.rate // 100 if not employee.hourly_ore else employee.hourly_ore * 80
    gross = round(monthly * rng.uniform(0.15, 1.0) / 100) * 100
    tax = _tax_ore(gross)
    return [line_spec(pay_types.URGENT, gross), line_spec(pay_types.TAX, -tax), line_spec(pay_types.NET, gross - tax)]


def run_header(run_id: str, kind: PayrollRunKind, status: PayrollRunStatus, customer: str, period: str,
               pay_date: date, channel: str, at_ms: int, line_count: int | None, gross: int | None,
               net: int | None) -> PayrollRun:
    return PayrollRun(
        event_id=f"{run_id}:{status.value}",
        run_id=run_id,
        kind=kind,
        status=status,
        customer=customer,
        period=period,
        pay_date=pay_date,
        payment_channel=channel,
        line_count=line_count,
        gross_ore=gross,
        net_ore=net,
        occurred_at=from_ms(at_ms),
        source="simulator",
    )


def pay_line(run_id: str, line_no: int, employee_id: str, customer: str, line: LineSpec, at_ms: int) -> PayLine:
    pay_type, quantity, price, amount, work_date, period_from, period_to = line
    return PayLine(
        event_id=f"{run_id}:{line_no}",
        run_id=run_id,
        line_no=line_no,
        employee_id=employee_id,
        customer=customer,
        pay_type=pay_type.code,
        pay_type_name=pay_type.name,
        category=pay_type.category,
        quantity=quantity,
        unit_price_ore=price,
        amount_ore=amount,
        work_date=work_date,
        period_from=period_from,
        period_to=period_to,
        cost_account=pay_type.account,
        occurred_at=from_ms(at_ms),
        source="simulator",
    )


class PayrollFamily:
    """Opens each customer's main run on its day, writes its lines and closes it; urgent runs on working days."""

    name = "payroll"
    warmup_ms = 0

    def __init__(self, seed: int, scale: float) -> None:
        self._seed = seed
        self._scale = scale
        self._roster: Roster | None = None

    @property
    def roster(self) -> Roster:
        if self._roster is None:
            self._roster = Roster(self._seed, self._scale)
        return self._roster

    def generate(self, slot_ms: int, agenda: Agenda) -> None:
        if self._scale <= 0:
            return
        day = from_ms(slot_ms).astimezone(STOCKHOLM).date()
        if not is_working_day(day):
            return
        open_day, close_day, pay_date = main_run_schedule(day.year, day.month)
        if day == open_day:
            for index, customer in enumerate(CUSTOMERS):
                opened = local_ms(open_day, OPEN_AT) + index * 4 * MINUTE_MS
                if slot_ms <= opened < slot_ms + HOUR_MS and opened >= agenda.keep_from_ms:
                    closed = local_ms(close_day, _CLOSE_AT) + index * 3 * MINUTE_MS
                    self._main_run(agenda, customer, day.year, day.month, pay_date, opened, closed)
        window = office_window(day)
        if window is not None and window[0] < slot_ms + HOUR_MS and slot_ms < window[1]:
            lo, hi = max(slot_ms, window[0]), min(slot_ms + HOUR_MS, window[1])
            rng = rng_for(self._seed, "payroll-urgent", slot_ms)
            share = (hi - lo) / (window[1] - window[0])
            tag = slot_tag(slot_ms)
            for i, t0 in enumerate(uniform_times(rng, poisson(rng, URGENT_RUNS_PER_DAY * self._scale * share), lo, hi)):
                self._urgent_run(rng, agenda, f"{tag}{i:02d}", t0)

    def _main_run(self, agenda: Agenda, customer: Customer, year: int, month: int, pay_date: date, opened: int,
                  closed: int) -> None:
        run_id = main_run_id(customer, year, month)
        period = f"{year:04d}-{month:02d}"
        rng = rng_for(self._seed, "payroll-main", run_id)
        agenda.add(opened, run_header, run_id, PayrollRunKind.main, PayrollRunStatus.opened, customer.name, period,
                   pay_date, CHANNEL_MAIN, opened, None, None, None)
        at = opened + 2 * MINUTE_MS
        line_no = gross = net = 0
        for employee in self.roster.by_customer[customer.code]:
            for line in main_lines(rng, employee, year, month):
                line_no += 1
                at += LINE_STEP_MS
                category = line[0].category
                if category is PayCategory.gross:
                    gross += line[3]
                elif category is PayCategory.net:
                    net += line[3]
                agenda.add(at, pay_line, run_id, line_no, employee.employee_id, customer.name, line, at)
        agenda.add(max(closed, at + MINUTE_MS), run_header, run_id, PayrollRunKind.main, PayrollRunStatus.closed,
                   customer.name, period, pay_date, CHANNEL_MAIN, max(closed, at + MINUTE_MS), line_no, gross, net)

    def _urgent_run(self, rng: random.Random, agenda: Agenda, suffix: str, t0: int) -> None:
        roster = self.roster
        customer = _customer_picker().pick(rng)
        staff = roster.by_customer[customer.code]
        employees = rng.sample(staff, min(len(staff), rng.choice((1, 1, 1, 2, 2, 3))))
        girovision = rng.random() < 0.6
        channel = CHANNEL_GIROVISION if girovision else CHANNEL_AGRESSO
        day = from_ms(t0).astimezone(STOCKHOLM).date()
        # Lead times from the service agreement: Girovision day 1-5, Agresso day 1-2.
        pay_date = add_working_days(day, rng.choice((1, 2, 2, 3, 3, 4, 5)) if girovision else rng.randint(1, 2))
        lines = [(employee, line) for employee in employees for line in urgent_lines(rng, employee)]
        closed = t0 + (len(lines) + 1) * 20 * SECOND_MS + rng.randrange(2 * MINUTE_MS, 40 * MINUTE_MS)
        if t0 < agenda.keep_from_ms:
            return
        period = f"{day:%Y-%m}"
        run_id = f"{customer.code}-{period}-urgent-{suffix}"
        agenda.add(t0, run_header, run_id, PayrollRunKind.urgent, PayrollRunStatus.opened, customer.name, period,
                   pay_date, channel, t0, None, None, None)
        gross = net = 0
        for line_no, (employee, line) in enumerate(lines, start=1):
            at = t0 + line_no * 20 * SECOND_MS
            if line[0].category is PayCategory.gross:
                gross += line[3]
            elif line[0].category is PayCategory.net:
                net += line[3]
            agenda.add(at, pay_line, run_id, line_no, employee.employee_id, customer.name, line, at)
        agenda.add(closed, run_header, run_id, PayrollRunKind.urgent, PayrollRunStatus.closed, customer.name, period,
                   pay_date, channel, closed, len(lines), gross, net)


@lru_cache(maxsize=1)
def _customer_picker() -> WeightedPicker[Customer]:
    return WeightedPicker(CUSTOMERS, [c.employees for c in CUSTOMERS])

