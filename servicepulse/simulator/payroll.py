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

from .agenda import Agenda
from .organisations import CUSTOMERS, Customer
from .randomness import WeightedPicker, lognormal, poisson, rng_for, uniform_times

__all__ = [
    "Employee",
    "PayrollFamily",
    "Planted",
    "PlantedRun",
    "Roster",
    "SimPerson",
    "main_run_id",
    "main_run_schedule",
    "paxml_people",
    "paxml_run",
    "planted_main_run",
    "previous_run_lines",
]

URGENT_RUNS_PER_DAY = 4
CHANNEL_MAIN = "bank file"
CHANNEL_GIROVISION = "girovision"
CHANNEL_AGRESSO = "agresso"
_LINE_STEP_MS = 40  # the payroll system writes lines in one batch while the run computes
_OPEN_AT = time(6, 0)
_CLOSE_AT = time(10, 0)
_CENT = Decimal("0.01")
# Employer pension contribution AKAP-KR: 6 % up to 7.5 income base amounts a year, 31.5 % above.
_PENSION_LIMIT_ORE = 83_400 * 100 * 75 // 10 // 12  # income base amount 2026: 83,400 kr
_PENSION_LOW, _PENSION_HIGH = Decimal("0.06"), Decimal("0.315")


@dataclass(frozen=True, slots=True)
class _PayType:
    code: str
    name: str
    category: PayCategory
    account: str


_MONTHLY = _PayType("11", "Månadslön", PayCategory.gross, "5110")
_URGENT = _PayType("13", "Akut löneutbetalning", PayCategory.gross, "5110")
_RETRO = _PayType("15", "Retroaktiv lön", PayCategory.gross, "5110")
_HOURLY = _PayType("21", "Timlön", PayCategory.gross, "5120")
_OB = _PayType("31", "OB-tillägg", PayCategory.gross, "5130")
_OVERTIME = _PayType("41", "Övertid", PayCategory.gross, "5140")
_SICK = _PayType("61", "Sjukavdrag", PayCategory.gross, "5110")
_PER_DIEM = _PayType("711", "Traktamente, skattefritt", PayCategory.per_diem, "5820")
_MILEAGE = _PayType("721", "Bilersättning, skattefri", PayCategory.travel, "5810")
_DEBT = _PayType("81", "Avdrag löneskuld", PayCategory.deduction, "1690")
_TAX = _PayType("91", "Preliminär skatt", PayCategory.tax, "2710")
_PENSION = _PayType("95", "Pensionsavgift AKAP-KR", PayCategory.pension, "7410")
_NET = _PayType("99", "Nettolön", PayCategory.net, "2820")


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


_Line = tuple[_PayType, Decimal | None, int | None, int, date | None, date | None, date | None]


def _line(pay_type: _PayType, amount: int, quantity: Decimal | None = None, price: int | None = None,
          work_date: date | None = None, period_from: date | None = None, period_to: date | None = None) -> _Line:
    return pay_type, quantity, price, amount, work_date, period_from, period_to


def _quarter_hours(rng: random.Random, low: int, high: int) -> Decimal:
    return Decimal(rng.randrange(low * 4, high * 4 + 1)) / 4


def _previous_month(year: int, month: int) -> tuple[date, date]:
    last = date(year, month, 1) - timedelta(days=1)
    return last.replace(day=1), last


def _main_lines(rng: random.Random, employee: Employee, year: int, month: int) -> list[_Line]:
    prev_first, prev_last = _previous_month(year, month)
    lines: list[_Line] = []
    if employee.hourly_ore:
        # Hourly staff are paid in arrears for the hours of the previous month.
        hours = _quarter_hours(rng, 8, 150)
        lines.append(_line(_HOURLY, int(hours * employee.hourly_ore), hours, employee.hourly_ore, None,
                           prev_first, prev_last))
    else:
        quantity = (Decimal(employee.rate) / 100).quantize(_CENT)
        lines.append(_line(_MONTHLY, employee.salary_ore * employee.rate // 100, quantity, employee.salary_ore))
    monthly = employee.salary_ore * employee.rate // 100
    if employee.shift and rng.random() < 0.85:
        hours = _quarter_hours(rng, 4, 45)
        price = rng.choice((2_500, 5_500, 6_000, 12_500))
        work_date = prev_first + timedelta(days=rng.randrange((prev_last - prev_first).days + 1))
        lines.append(_line(_OB, int(hours * price), hours, price, work_date))
    if not employee.hourly_ore and rng.random() < 0.07:
        hours = _quarter_hours(rng, 1, 12)
        price = employee.salary_ore // 94
        work_date = prev_first + timedelta(days=rng.randrange((prev_last - prev_first).days + 1))
        lines.append(_line(_OVERTIME, int(hours * price), hours, price, work_date))
    if rng.random() < 0.02:
        retro_to = prev_first - timedelta(days=1)
        lines.append(_line(_RETRO, rng.randrange(200, 2_000) * 100, None, None, None, retro_to.replace(day=1),
                           retro_to))
    if not employee.hourly_ore and rng.random() < 0.06:
        days = rng.randint(1, 6)
        per_day = monthly * 12 // 365
        work_date = prev_first + timedelta(days=rng.randrange((prev_last - prev_first).days + 1))
        lines.append(_line(_SICK, -(days * per_day // 5), Decimal(days), -(per_day // 5), work_date))
    taxable = sum(line[3] for line in lines)
    if rng.random() < 0.03:
        km = Decimal(rng.randrange(10, 400))
        lines.append(_line(_MILEAGE, int(km * 250), km, 250, prev_first + timedelta(days=rng.randrange(28))))
    if rng.random() < 0.012:
        days = Decimal(rng.randint(1, 4))
        lines.append(_line(_PER_DIEM, int(days * 30_000), days, 30_000, prev_first + timedelta(days=rng.randrange(25)),
                           None, None))
    tax = _tax_ore(taxable)
    lines.append(_line(_TAX, -tax))
    net = sum(line[3] for line in lines)
    if rng.random() < 0.008:
        debt = min(rng.randrange(500, 5_000) * 100, net * 3 // 10)
        if debt > 0:
            lines.append(_line(_DEBT, -debt))
            net -= debt
    lines.append(_line(_PENSION, _pension_ore(max(0, taxable))))
    lines.append(_line(_NET, net))
    return lines


def _urgent_lines(rng: random.Random, employee: Employee) -> list[_Line]:
    monthly = employee.salary_ore * employee.rate // 100 if not employee.hourly_ore else employee.hourly_ore * 80
    gross = round(monthly * rng.uniform(0.15, 1.0) / 100) * 100
    tax = _tax_ore(gross)
    return [_line(_URGENT, gross), _line(_TAX, -tax), _line(_NET, gross - tax)]


def _run_header(run_id: str, kind: PayrollRunKind, status: PayrollRunStatus, customer: str, period: str,
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


def _pay_line(run_id: str, line_no: int, employee_id: str, customer: str, line: _Line, at_ms: int) -> PayLine:
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
                opened = local_ms(open_day, _OPEN_AT) + index * 4 * MINUTE_MS
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
        agenda.add(opened, _run_header, run_id, PayrollRunKind.main, PayrollRunStatus.opened, customer.name, period,
                   pay_date, CHANNEL_MAIN, opened, None, None, None)
        at = opened + 2 * MINUTE_MS
        line_no = gross = net = 0
        for employee in self.roster.by_customer[customer.code]:
            for line in _main_lines(rng, employee, year, month):
                line_no += 1
                at += _LINE_STEP_MS
                category = line[0].category
                if category is PayCategory.gross:
                    gross += line[3]
                elif category is PayCategory.net:
                    net += line[3]
                agenda.add(at, _pay_line, run_id, line_no, employee.employee_id, customer.name, line, at)
        agenda.add(max(closed, at + MINUTE_MS), _run_header, run_id, PayrollRunKind.main, PayrollRunStatus.closed,
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
        lines = [(employee, line) for employee in employees for line in _urgent_lines(rng, employee)]
        closed = t0 + (len(lines) + 1) * 20 * SECOND_MS + rng.randrange(2 * MINUTE_MS, 40 * MINUTE_MS)
        if t0 < agenda.keep_from_ms:
            return
        period = f"{day:%Y-%m}"
        run_id = f"{customer.code}-{period}-urgent-{suffix}"
        agenda.add(t0, _run_header, run_id, PayrollRunKind.urgent, PayrollRunStatus.opened, customer.name, period,
                   pay_date, channel, t0, None, None, None)
        gross = net = 0
        for line_no, (employee, line) in enumerate(lines, start=1):
            at = t0 + line_no * 20 * SECOND_MS
            if line[0].category is PayCategory.gross:
                gross += line[3]
            elif line[0].category is PayCategory.net:
                net += line[3]
            agenda.add(at, _pay_line, run_id, line_no, employee.employee_id, customer.name, line, at)
        agenda.add(closed, _run_header, run_id, PayrollRunKind.urgent, PayrollRunStatus.closed, customer.name, period,
                   pay_date, channel, closed, len(lines), gross, net)


@lru_cache(maxsize=1)
def _customer_picker() -> WeightedPicker[Customer]:
    return WeightedPicker(CUSTOMERS, [c.employees for c in CUSTOMERS])


# --------------------------------------------------------------------------- planted deviations (ground truth)

_PENSION_PAYOUT = _PayType("96", "Pension, utbetald", PayCategory.pension, "7420")
_FIRST_NAMES = ("Anna", "Erik", "Maria", "Lars", "Karin", "Johan", "Sara", "Ali", "Fatima", "Mikael", "Elin", "Omar")
_LAST_NAMES = ("Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson", "Persson",
               "Svensson", "Gustafsson", "Hassan", "Lindberg")


@dataclass(frozen=True, slots=True)
class SimPerson:
    """Master data of a simulated employee, as a payroll system holds it (personal data: restricted table only)."""

    employee_id: str
    personnummer: str  # YYYYMMDDNNNN
    first_name: str
    last_name: str
    birth_date: date
    bank_clearing: str
    bank_account: str
    employed_from: date
    employed_to: date | None = None
    protected: bool = False
    previous_bank_account: str | None = None
    bank_changed_on: date | None = None


@dataclass(frozen=True, slots=True)
class Planted:
    """One planted deviation: the rule that must find it and the employments (or customer) it concerns."""

    rule_id: str
    subjects: tuple[str, ...]
    note: str


@dataclass
class PlantedRun:
    """A main run with deviations planted among normal pay, the previous main run's totals and urgent runs."""

    header: PayrollRun
    lines: list[PayLine]
    people: dict[str, SimPerson]
    previous: dict[str, tuple[str, int, int]]  # anstid -> (run id, gross öre, net öre)
    urgent_runs: list[tuple[PayrollRun, list[PayLine]]]
    planted: list[Planted]
    protected_ids: tuple[str, ...]


def _luhn(digits: str) -> int:
    total = 0
    for i, ch in enumerate(digits):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return (10 - total % 10) % 10


def _personnummer(rng: random.Random, birth: date) -> str:
    short = f"{birth:%y%m%d}{rng.randrange(100, 1000)}"
    return f"{birth:%Y%m%d}{short[6:]}{_luhn(short)}"


def planted_main_run(seed: int = 1, employees: int = 400, customer_index: int = 1, year: int = 2026,
                     month: int = 11) -> PlantedRun:
    """A realistic main run of `employees` with every payroll deviation planted, and its ground truth.

    Normal pay is drawn like the streaming simulator's; travel and per-diem dates are moved to working
    days and the previous run's totals stay within ±10 %, so only planted cases are deviations. Near misses
    (a final pay 25 days after termination, a bank change 200 days back, a change of 29 %) are planted too.
    """
    rng = rng_for(seed, "payroll-planted", year, month)
    customer = CUSTOMERS[customer_index]
    _, _, pay_date = main_run_schedule(year, month)
    run_id = main_run_id(customer, year, month)
    prev_year, prev_month = (year, month - 1) if month > 1 else (year - 1, 12)
    prev_run = main_run_id(customer, prev_year, prev_month)
    period_start = date(year, month, 1)
    staff: list[Employee] = []
    people: dict[str, SimPerson] = {}
    for number in sorted(rng.sample(range(1, 1_000_000), employees)):
        hourly = rng.random() < customer.hourly_share
        employee = Employee(f"A{number:06d}", customer, round(min(110_000, max(22_500, lognormal(rng, 33_500, 0.22))))
                            * 100, 100, rng.randrange(150, 230) * 100 if hourly else 0,
                            rng.random() < customer.shift_share)
        staff.append(employee)
        birth = date(rng.randint(1960, 2004), rng.randint(1, 12), rng.randint(1, 28))
        people[employee.employee_id] = SimPerson(
            employee.employee_id, _personnummer(rng, birth), rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES),
            birth, f"{rng.randrange(6000, 9000)}", f"{rng.randrange(10**8, 10**9)}",
            date(rng.randint(2000, 2025), 1, 1))
    per_employee: dict[str, list[_Line]] = {}
    for employee in staff:
        lines = []
        for line in _main_lines(rng, employee, year, month):
            if line[0].category in (PayCategory.travel, PayCategory.per_diem) and line[4] is not None:
                work = line[4]
                while not is_working_day(work):
                    work += timedelta(days=1)
                line = (*line[:4], work, *line[5:])
            lines.append(line)
        per_employee[employee.employee_id] = lines

    base = {anstid: (sum(ln[3] for ln in lines if ln[0].category is PayCategory.gross),
                     sum(ln[3] for ln in lines if ln[0].category is PayCategory.net))
            for anstid, lines in per_employee.items()}
    planted: list[Planted] = []
    ids = [e.employee_id for e in staff]
    picks = rng.sample(ids, 24)
    prev_month_day = period_start - timedelta(days=20)

    def replace_person(anstid: str, **changes: object) -> None:
        people[anstid] = _replace(people[anstid], **changes)

    # The protected person carries two deviations, so their pseudonym must show up in findings.
    protected = picks[0]
    replace_person(protected, protected=True)
    # paid_after_termination: ended four months ago and still paid; near miss: ended last month.
    replace_person(picks[1], employed_to=period_start - timedelta(days=100))
    planted.append(Planted("payroll.paid_after_termination", (picks[1],), "employment ended 100 days before"))
    replace_person(picks[2], employed_to=period_start - timedelta(days=1))
    # shared_bank_account: two employees paid to one account (one of them protected).
    replace_person(picks[3], bank_clearing=people[protected].bank_clearing, bank_account=people[protected].bank_account)
    planted.append(Planted("payroll.shared_bank_account", tuple(sorted((protected, picks[3]))), "one account, two"))
    # negative_net: a salary debt larger than the month's net.
    lines = per_employee[picks[4]]
    net = lines[-1][3]
    lines.insert(-2, _line(_DEBT, -(net + 250_000)))
    lines[-1] = _line(_NET, -250_000)
    planted.append(Planted("payroll.negative_net", (picks[4],), "debt deduction above net"))
    # gross_ceiling: one-offs above 150,000 kr (one for the protected person); near miss: exactly at it.
    for anstid, extra in ((picks[5], 16_000_000), (protected, 15_500_000), (picks[18], None)):
        lines = per_employee[anstid]
        gross_before = sum(ln[3] for ln in lines if ln[0].category is PayCategory.gross)
        amount = extra if extra is not None else 15_000_000 - gross_before
        lines.insert(0, _line(_OVERTIME, amount, Decimal(1), amount, prev_month_day))
        lines[-1] = _line(_NET, lines[-1][3] + amount)
        if extra is not None:
            planted.append(Planted("payroll.gross_ceiling", (anstid,), "one-off above 150,000 kr"))
    # travel_per_diem: a per diem on a Sunday, mileage above 5,000 kr; near miss at the limit on a weekday.
    sunday = prev_month_day + timedelta(days=(6 - prev_month_day.weekday()) % 7)
    weekday = sunday - timedelta(days=4)
    per_employee[picks[6]].insert(0, _line(_PER_DIEM, 60_000, Decimal(2), 30_000, sunday))
    per_employee[picks[7]].insert(0, _line(_MILEAGE, 600_000, Decimal(2400), 250, weekday))
    per_employee[picks[8]].insert(0, _line(_MILEAGE, 500_000, Decimal(2000), 250, weekday))
    planted += [Planted("payroll.travel_per_diem", (picks[6],), "per diem on a Sunday"),
                Planted("payroll.travel_per_diem", (picks[7],), "mileage above 5,000 kr")]
    # retroactive: a line for a period 6 months back; near miss: 3 months back (allowed).
    for anstid, back in ((picks[9], 6), (picks[10], 3)):
        first = date(year, month, 1)
        for _ in range(back):
            first = (first - timedelta(days=1)).replace(day=1)
        last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        per_employee[anstid].insert(0, _line(_RETRO, 120_000, None, None, None, first, last))
    planted.append(Planted("payroll.retroactive", (picks[9],), "retro pay for 6 months back"))
    # pension_age: a pension paid out to a 40-year-old; near miss: to a 63-year-old.
    for anstid, age in ((picks[11], 40), (picks[12], 63)):
        born = date(year - age, 3, 3)  # the personnummer carries the birth date: both change
        replace_person(anstid, birth_date=born, personnummer=_personnummer(rng, born))
        per_employee[anstid].insert(0, _line(_PENSION_PAYOUT, 450_000))
    planted.append(Planted("payroll.pension_age", (picks[11],), "pension to someone aged 40"))
    # duplicate_line: the same overtime line twice; near miss: same overtime on two different days.
    for anstid, days in ((picks[13], (0, 0)), (picks[14], (0, 1))):
        for d in days:
            per_employee[anstid].insert(0, _line(_OVERTIME, 180_000, Decimal(4), 45_000, weekday - timedelta(days=d)))
    planted.append(Planted("payroll.duplicate_line", (picks[13],), "overtime registered twice"))
    # bank_change_paid: account changed 12 days before pay date (the protected person); near miss: 200 days.
    for anstid, days in ((protected, 12), (picks[15], 200)):
        replace_person(anstid, previous_bank_account=f"{rng.randrange(10**8, 10**9)}",
                       bank_changed_on=pay_date - timedelta(days=days))
    planted.append(Planted("payroll.bank_change_paid", (protected,), "new account 12 days before pay"))

    # Previous main run: within ±10 % of this run for everyone, then pay_change planted.
    previous: dict[str, tuple[str, int, int]] = {}
    for anstid, (gross, net) in base.items():
        factor = Decimal(rng.randrange(93, 108)) / 100
        previous[anstid] = (prev_run, int(gross * factor), int(net * factor))
    for anstid in (picks[5], protected, picks[4], picks[18]):  # the ceiling and debt cases change a lot
        planted.append(Planted("payroll.pay_change", (anstid,), "follows from the planted one-off/debt"))
    gross_now = sum(ln[3] for ln in per_employee[picks[16]] if ln[0].category is PayCategory.gross)
    net_now = sum(ln[3] for ln in per_employee[picks[16]] if ln[0].category is PayCategory.net)
    previous[picks[16]] = (prev_run, gross_now * 10 // 14, net_now * 10 // 14)  # +40 %
    planted.append(Planted("payroll.pay_change", (picks[16],), "pay up 40 %"))
    gross_now = sum(ln[3] for ln in per_employee[picks[17]] if ln[0].category is PayCategory.gross)
    net_now = sum(ln[3] for ln in per_employee[picks[17]] if ln[0].category is PayCategory.net)
    previous[picks[17]] = (prev_run, gross_now * 100 // 129 + 1, net_now * 100 // 129 + 1)  # +29 %: near miss
    for anstid in (picks[9], picks[6], picks[7], picks[13], picks[11], picks[14], picks[10], picks[8], picks[12]):
        # lines planted above move gross: keep the previous run in step so pay_change stays quiet for them
        gross = sum(ln[3] for ln in per_employee[anstid] if ln[0].category is PayCategory.gross)
        previous[anstid] = (prev_run, gross, previous[anstid][2])

    opened = local_ms(sub_working_days(pay_date, 3), _OPEN_AT)
    out_lines: list[PayLine] = []
    gross = net = 0
    for employee in staff:
        for line in per_employee[employee.employee_id]:
            number = len(out_lines) + 1
            out_lines.append(_pay_line(run_id, number, employee.employee_id, customer.name, line,
                                       opened + number * _LINE_STEP_MS))
            gross += line[3] if line[0].category is PayCategory.gross else 0
            net += line[3] if line[0].category is PayCategory.net else 0
    period = f"{year:04d}-{month:02d}"
    header = _run_header(run_id, PayrollRunKind.main, PayrollRunStatus.closed, customer.name, period, pay_date,
                         CHANNEL_MAIN, opened + (len(out_lines) + 1) * _LINE_STEP_MS, len(out_lines), gross, net)

    # Urgent runs: six for one customer this month (flagged), two for another (near miss).
    urgent: list[tuple[PayrollRun, list[PayLine]]] = []
    cheapest = sorted(staff, key=lambda e: e.hourly_ore * 80 or e.salary_ore)
    for cust, count in ((customer, 6), (CUSTOMERS[(customer_index + 1) % len(CUSTOMERS)], 2)):
        for i in range(count):
            day = add_working_days(period_start, i + 2)
            uid = f"{cust.code}-{period}-urgent-P{i:02d}"
            at = local_ms(day, time(9))
            employee = cheapest[i]
            lines = _urgent_lines(rng, employee)
            pl = [_pay_line(uid, n, employee.employee_id, cust.name, ln, at) for n, ln in enumerate(lines, start=1)]
            head = _run_header(uid, PayrollRunKind.urgent, PayrollRunStatus.closed, cust.name, period,
                               add_working_days(day, 1), CHANNEL_GIROVISION, at, len(pl),
                               sum(x.amount_ore for x in pl if x.category is PayCategory.gross),
                               sum(x.amount_ore for x in pl if x.category is PayCategory.net))
            urgent.append((head, pl))
    planted.append(Planted("payroll.urgent_payment", (customer.name,), "six urgent payments in a month"))
    return PlantedRun(header, out_lines, people, previous, urgent, planted, (protected,))


def _replace(person: SimPerson, **changes: object) -> SimPerson:
    from dataclasses import replace

    return replace(person, **changes)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- PAXml 2.0 files of simulated runs

_LONETYP = {PayCategory.gross: "BRUTTO", PayCategory.travel: "BRUTTO", PayCategory.per_diem: "BRUTTO",
            PayCategory.tax: "SKATT", PayCategory.deduction: "NETTO", PayCategory.pension: "PENSION",
            PayCategory.benefit: "FÖRMÅN", PayCategory.other: "KAPITAL"}


def _kr(ore: int) -> str:
    return f"{Decimal(ore) / 100:.2f}"


def paxml_people(people: list[SimPerson], company: str, previous_accounts: bool = False) -> bytes:
    """A PAXml 2.0 file with `personal/person` master data (with the previous bank account if asked)."""
    from xml.sax.saxutils import escape

    out = [_paxml_header(company), "  <personal>"]
    for p in people:
        account = p.previous_bank_account if previous_accounts and p.previous_bank_account else p.bank_account
        end = f"<avgdatum>{p.employed_to}</avgdatum>" if p.employed_to else ""
        out.append(f'    <person anstid="{p.employee_id}" persnr="{p.personnummer}"><fornamn>{escape(p.first_name)}'
                   f"</fornamn><efternamn>{escape(p.last_name)}</efternamn><bankclearing>{p.bank_clearing}"
                   f"</bankclearing><bankkonto>{account}</bankkonto><anstdatum>{p.employed_from}</anstdatum>{end}"
                   "</person>")
    out += ["  </personal>", "</paxml>"]
    return "\n".join(out).encode()


def paxml_run(lines: list[PayLine], company: str, period_id: str, pay_date: date) -> bytes:
    """A PAXml 2.0 file with one `lonebesked` per employee: the run's lines, net pay as `utbetalt`."""
    from xml.sax.saxutils import escape

    by_employee: dict[str, list[PayLine]] = {}
    for line in lines:
        by_employee.setdefault(line.employee_id, []).append(line)
    out = [_paxml_header(company), "  <loneutbetalning>"]
    for employee_id, own in by_employee.items():
        net = sum(x.amount_ore for x in own if x.category is PayCategory.net)
        out.append(f'    <lonebesked anstid="{employee_id}"><periodid>{period_id}</periodid>'
                   f"<betaldatum>{pay_date}</betaldatum><utbetalt>{_kr(net)}</utbetalt><lonerader>")
        for x in own:
            if x.category is PayCategory.net:
                continue
            parts = [f"<lonart>{x.pay_type}</lonart>"]
            if x.pay_type_name:
                parts.append(f"<benamning>{escape(x.pay_type_name)}</benamning>")
            start, end = (x.work_date, x.work_date) if x.work_date else (x.period_from, x.period_to)
            if start:
                parts.append(f"<datumfrom>{start}T00:00:00</datumfrom>")
            if end:
                parts.append(f"<datumtom>{end}T00:00:00</datumtom>")
            if x.quantity is not None:
                parts.append(f"<antal>{x.quantity}</antal>")
            if x.unit_price_ore is not None:
                parts.append(f"<apris>{_kr(x.unit_price_ore)}</apris>")
            parts.append(f"<belopp>{_kr(x.amount_ore)}</belopp><lonetyp>{_LONETYP[x.category]}</lonetyp>")
            if x.cost_account:
                parts.append(f"<kontonr>{x.cost_account}</kontonr>")
            out.append("      <lonrad>" + "".join(parts) + "</lonrad>")
        out.append("    </lonerader></lonebesked>")
    out += ["  </loneutbetalning>", "</paxml>"]
    return "\n".join(out).encode()


def _paxml_header(company: str) -> str:
    from xml.sax.saxutils import escape

    return ('<?xml version="1.0" encoding="utf-8"?>\n<paxml xmlns="http://www.paxml.se/2.0/paxml.xsd">\n'
            f"  <header><format>LÖNIN</format><version>2.0</version><foretagid>{escape(company)}</foretagid>"
            "<foretagorgnr>2120000142</foretagorgnr></header>")


def previous_run_lines(planted: PlantedRun) -> list[PayLine]:
    """The previous main run as one gross and one net line per employee, matching `planted.previous`."""
    out: list[PayLine] = []
    at = local_ms(planted.header.pay_date - timedelta(days=35), _OPEN_AT)
    for anstid, (run_id, gross, net) in planted.previous.items():
        for pay_type, amount in ((_MONTHLY, gross), (_NET, net)):
            number = len(out) + 1
            out.append(_pay_line(run_id, number, anstid, planted.header.customer, _line(pay_type, amount), at))
    return out
