"""A main run with every payroll deviation planted among normal pay, and its ground truth (which rule finds what)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, time, timedelta
from decimal import Decimal

from servicepulse.domain.calendar import add_working_days, local_ms, sub_working_days
from servicepulse.schemas.events import PayCategory, PayLine, PayrollRun, PayrollRunKind, PayrollRunStatus

from . import pay_types
from .organisations import CUSTOMERS
from .pay_types import LineSpec, line_spec
from .payroll_family import (
    CHANNEL_GIROVISION,
    CHANNEL_MAIN,
    LINE_STEP_MS,
    OPEN_AT,
    Employee,
    main_lines,
    main_run_id,
    main_run_schedule,
    pay_line,
    run_header,
    urgent_lines,
)
from .randomness import lognormal, rng_for

__all__ = ["Planted", "PlantedRun", "SimPerson", "planted_main_run", "previous_run_lines"]

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
                     month: int = 11, plant: bool = True) -> PlantedRun:
    """A realistic main run of `employees` with every payroll deviation planted, and its ground truth.

    Normal pay is drawn like the streaming simulator's, with its noise: trips over weekends, corrections
    (reversals), retroactive pay, sick leave and leave of absence; the previous run's totals stay within
    ±10 %, so only planted cases are deviations. Near misses (final settlement 25 days after termination, a
    bank change 200 days back, a change of 29 %, a trip over a weekend) are planted too. `plant=False` gives
    the clean month: the same noise, no planted case and no near miss.
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
    per_employee: dict[str, list[LineSpec]] = {e.employee_id: main_lines(rng, e, year, month) for e in staff}

    base = {anstid: (sum(ln[3] for ln in lines if ln[0].category is PayCategory.gross),
                     sum(ln[3] for ln in lines if ln[0].category is PayCategory.net))
            for anstid, lines in per_employee.items()}
    planted: list[Planted] = []
    protected_ids: tuple[str, ...] = ()
    if plant:
        picks = _plant(rng, staff, people, per_employee, planted, year, month, pay_date)
        protected_ids = (picks[0],)
    prev_run = main_run_id(customer, prev_year, prev_month)
    # Previous main run: within ±10 % of this run for everyone, then pay_change planted.
    previous: dict[str, tuple[str, int, int]] = {}
    for anstid, (gross, net) in base.items():
        factor = Decimal(rng.randrange(93, 108)) / 100
        previous[anstid] = (prev_run, int(gross * factor), int(net * factor))
    if plant:
        _plant_previous(previous, per_employee, planted, prev_run, picks)
    opened = local_ms(sub_working_days(pay_date, 3), OPEN_AT)
    out_lines: list[PayLine] = []
    gross = net = 0
    for employee in staff:
        for line in per_employee[employee.employee_id]:
            number = len(out_lines) + 1
            out_lines.append(pay_line(run_id, number, employee.employee_id, customer.name, line,
                                       opened + number * LINE_STEP_MS))
            gross += line[3] if line[0].category is PayCategory.gross else 0
            net += line[3] if line[0].category is PayCategory.net else 0
    period = f"{year:04d}-{month:02d}"
    header = run_header(run_id, PayrollRunKind.main, PayrollRunStatus.closed, customer.name, period, pay_date,
                         CHANNEL_MAIN, opened + (len(out_lines) + 1) * LINE_STEP_MS, len(out_lines), gross, net)

    # Urgent runs: six for one customer this month (flagged), two for another (near miss).
    urgent: list[tuple[PayrollRun, list[PayLine]]] = []
    cheapest = sorted(staff, key=lambda e: e.hourly_ore * 80 or e.salary_ore)
    for cust, count in ((customer, 6 if plant else 2), (CUSTOMERS[(customer_index + 1) % len(CUSTOMERS)], 2)):
        for i in range(count):
            day = add_working_days(period_start, i + 2)
            uid = f"{cust.code}-{period}-urgent-P{i:02d}"
            at = local_ms(day, time(9))
            employee = cheapest[i]
            lines = urgent_lines(rng, employee)
            pl = [pay_line(uid, n, employee.employee_id, cust.name, ln, at) for n, ln in enumerate(lines, start=1)]
            head = run_header(uid, PayrollRunKind.urgent, PayrollRunStatus.closed, cust.name, period,
                               add_working_days(day, 1), CHANNEL_GIROVISION, at, len(pl),
                               sum(x.amount_ore for x in pl if x.category is PayCategory.gross),
                               sum(x.amount_ore for x in pl if x.category is PayCategory.net))
            urgent.append((head, pl))
    if plant:
        planted.append(Planted("payroll.urgent_payment", (customer.name,), "six urgent payments in a month"))
    return PlantedRun(header, out_lines, people, previous, urgent, planted, protected_ids)


def _plant(rng: random.Random, staff: list[Employee], people: dict[str, SimPerson],
           per_employee: dict[str, list[LineSpec]], planted: list[Planted], year: int, month: int,
           pay_date: date) -> list[str]:
    """Plants every deviation and its near miss into the drawn month; returns the chosen anstid (0: protected)."""
    ids = [e.employee_id for e in staff]
    picks = rng.sample(ids, 24)
    # The trip cases go to employees without a drawn trip or leave, so a drawn sick day cannot land inside a
    # planted near miss; salary-after-end cases need a monthly salary (hourly pay is in arrears).
    away = (pay_types.PER_DIEM, pay_types.SICK, pay_types.LEAVE)
    quiet = [i for i in ids if i not in picks and not any(ln[0] in away for ln in per_employee[i])]
    monthly_ids = {e.employee_id for e in staff if not e.hourly_ore}
    picks += rng.sample([i for i in quiet if i in monthly_ids], 2)
    picks += rng.sample([i for i in quiet if i not in picks], 6)
    period_start = date(year, month, 1)
    prev_month_day = period_start - timedelta(days=20)

    def replace_person(anstid: str, **changes: object) -> None:
        people[anstid] = _replace(people[anstid], **changes)

    # The protected person carries two deviations, so their pseudonym must show up in findings.
    protected = picks[0]
    replace_person(protected, protected=True)
    # paid_after_termination: ended four months ago and still paid; a regular month's salary for this month
    # paid 25 days after the end (within the grace); near miss: ended last month, paid final settlement
    # (holiday pay instead of the month's salary).
    replace_person(picks[1], employed_to=period_start - timedelta(days=100))
    planted.append(Planted("payroll.paid_after_termination", (picks[1],), "employment ended 100 days before"))
    replace_person(picks[24], employed_to=period_start - timedelta(days=1))
    planted.append(Planted("payroll.paid_after_termination", (picks[24],), "a month's salary after the end"))
    replace_person(picks[2], employed_to=period_start - timedelta(days=1))
    per_employee[picks[2]] = [line_spec(pay_types.HOLIDAY_PAY, *ln[3:4]) if ln[0] is pay_types.MONTHLY else ln
                              for ln in per_employee[picks[2]]]
    # shared_bank_account: two employees paid to one account (one of them protected).
    replace_person(picks[3], bank_clearing=people[protected].bank_clearing, bank_account=people[protected].bank_account)
    planted.append(Planted("payroll.shared_bank_account", tuple(sorted((protected, picks[3]))), "one account, two"))
    # negative_net: a salary debt larger than the month's net.
    lines = per_employee[picks[4]]
    net = lines[-1][3]
    lines.insert(-2, line_spec(pay_types.DEBT, -(net + 250_000)))
    lines[-1] = line_spec(pay_types.NET, -250_000)
    planted.append(Planted("payroll.negative_net", (picks[4],), "debt deduction above net"))
    # gross_ceiling: one-offs above 150,000 kr (one for the protected person); near miss: exactly at it.
    for anstid, extra in ((picks[5], 16_000_000), (protected, 15_500_000), (picks[18], None)):
        lines = per_employee[anstid]
        gross_before = sum(ln[3] for ln in lines if ln[0].category is PayCategory.gross)
        amount = extra if extra is not None else 15_000_000 - gross_before
        lines.insert(0, line_spec(pay_types.OVERTIME, amount, Decimal(1), amount, prev_month_day))
        lines[-1] = line_spec(pay_types.NET, lines[-1][3] + amount)
        if extra is not None:
            planted.append(Planted("payroll.gross_ceiling", (anstid,), "one-off above 150,000 kr"))
    # travel_per_diem: per diem without a trip, mileage above 5,000 kr, a day rate above the tax-free one,
    # overlapping trips, per diem on a day of sick leave; near misses: mileage at the limit, a Friday-Monday
    # trip (weekend inside it) as one line and as a line a day.
    sunday = prev_month_day + timedelta(days=(6 - prev_month_day.weekday()) % 7)
    weekday = sunday - timedelta(days=4)
    friday = sunday - timedelta(days=2)
    rate = pay_types.PER_DIEM_RATE_ORE
    per_employee[picks[6]].insert(0, line_spec(pay_types.PER_DIEM, 2 * rate, Decimal(2), rate))
    per_employee[picks[7]].insert(0, line_spec(pay_types.MILEAGE, 600_000, Decimal(2400), 250, weekday))
    per_employee[picks[8]].insert(0, line_spec(pay_types.MILEAGE, 500_000, Decimal(2000), 250, weekday))
    per_employee[picks[26]].insert(0, line_spec(pay_types.PER_DIEM, 2 * 35_000, Decimal(2), 35_000, None,
                                                weekday, weekday + timedelta(days=1)))
    per_employee[picks[27]][:0] = [line_spec(pay_types.PER_DIEM, 3 * rate, Decimal(3), rate, None, friday,
                                             sunday),
                                   line_spec(pay_types.PER_DIEM, 2 * rate, Decimal(2), rate, None, sunday,
                                             sunday + timedelta(days=1))]
    per_employee[picks[28]][:0] = [line_spec(pay_types.SICK, -60_000, Decimal(2), -30_000, weekday),
                                   line_spec(pay_types.PER_DIEM, rate, Decimal(1), rate, weekday + timedelta(days=1))]
    per_employee[picks[29]].insert(0, line_spec(pay_types.PER_DIEM, 4 * rate, Decimal(4), rate, None, friday,
                                                friday + timedelta(days=3)))
    per_employee[picks[30]][:0] = [line_spec(pay_types.PER_DIEM, rate, Decimal(1), rate, friday + timedelta(days=d))
                                   for d in range(4)]
    planted += [Planted("payroll.travel_per_diem", (picks[6],), "per diem without a trip"),
                Planted("payroll.travel_per_diem", (picks[7],), "mileage above 5,000 kr"),
                Planted("payroll.travel_per_diem", (picks[26],), "per diem above the tax-free rate"),
                Planted("payroll.travel_per_diem", (picks[27],), "two overlapping trips"),
                Planted("payroll.travel_per_diem", (picks[28],), "per diem on a day of sick leave")]
    # retroactive: a line for a period 6 months back; near miss: 3 months back (allowed).
    for anstid, back in ((picks[9], 6), (picks[10], 3)):
        first = date(year, month, 1)
        for _ in range(back):
            first = (first - timedelta(days=1)).replace(day=1)
        last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        per_employee[anstid].insert(0, line_spec(pay_types.RETRO, 120_000, None, None, None, first, last))
    planted.append(Planted("payroll.retroactive", (picks[9],), "retro pay for 6 months back"))
    # pension_age: a pension paid out to a 40-year-old; near miss: to a 63-year-old.
    for anstid, age in ((picks[11], 40), (picks[12], 63)):
        born = date(year - age, 3, 3)  # the personnummer carries the birth date: both change
        replace_person(anstid, birth_date=born, personnummer=_personnummer(rng, born))
        per_employee[anstid].insert(0, line_spec(pay_types.PENSION_PAYOUT, 450_000))
    planted.append(Planted("payroll.pension_age", (picks[11],), "pension to someone aged 40"))
    # duplicate_line: the same overtime line twice; near miss: same overtime on two different days.
    for anstid, days in ((picks[13], (0, 0)), (picks[14], (0, 1))):
        for d in days:
            overtime = line_spec(pay_types.OVERTIME, 180_000, Decimal(4), 45_000, weekday - timedelta(days=d))
            per_employee[anstid].insert(0, overtime)
    planted.append(Planted("payroll.duplicate_line", (picks[13],), "overtime registered twice"))
    # bank_change_paid: account changed 12 days before pay date (the protected person); near miss: 200 days.
    for anstid, before in ((protected, 12), (picks[15], 200)):
        replace_person(anstid, previous_bank_account=f"{rng.randrange(10**8, 10**9)}",
                       bank_changed_on=pay_date - timedelta(days=before))
    planted.append(Planted("payroll.bank_change_paid", (protected,), "new account 12 days before pay"))
    return picks


def _plant_previous(previous: dict[str, tuple[str, int, int]], per_employee: dict[str, list[LineSpec]],
                    planted: list[Planted], prev_run: str, picks: list[str]) -> None:
    """Plants pay_change and keeps the previous run in step for cases whose planted lines move gross."""
    protected = picks[0]
    for anstid in (picks[5], protected, picks[4], picks[18]):  # the ceiling and debt cases change a lot
        planted.append(Planted("payroll.pay_change", (anstid,), "follows from the planted one-off/debt"))
    gross_now = sum(ln[3] for ln in per_employee[picks[16]] if ln[0].category is PayCategory.gross)
    net_now = sum(ln[3] for ln in per_employee[picks[16]] if ln[0].category is PayCategory.net)
    previous[picks[16]] = (prev_run, gross_now * 10 // 14, net_now * 10 // 14)  # +40 %
    planted.append(Planted("payroll.pay_change", (picks[16],), "pay up 40 %"))
    gross_now = sum(ln[3] for ln in per_employee[picks[17]] if ln[0].category is PayCategory.gross)
    net_now = sum(ln[3] for ln in per_employee[picks[17]] if ln[0].category is PayCategory.net)
    previous[picks[17]] = (prev_run, gross_now * 100 // 129 + 1, net_now * 100 // 129 + 1)  # +29 %: near miss
    for anstid in (picks[9], picks[6], picks[7], picks[13], picks[11], picks[14], picks[10], picks[8], picks[12],
                   *picks[26:31]):
        # lines planted above move gross: keep the previous run in step so pay_change stays quiet for them
        gross = sum(ln[3] for ln in per_employee[anstid] if ln[0].category is PayCategory.gross)
        previous[anstid] = (prev_run, gross, previous[anstid][2])


def _replace(person: SimPerson, **changes: object) -> SimPerson:
    from dataclasses import replace

    return replace(person, **changes)  # type: ignore[arg-type]


def previous_run_lines(planted: PlantedRun) -> list[PayLine]:
    """The previous main run as one gross and one net line per employee, matching `planted.previous`."""
    out: list[PayLine] = []
    at = local_ms(planted.header.pay_date - timedelta(days=35), OPEN_AT)
    for anstid, (run_id, gross, net) in planted.previous.items():
        for pay_type, amount in ((pay_types.MONTHLY, gross), (pay_types.NET, net)):
            number = len(out) + 1
            out.append(pay_line(run_id, number, anstid, planted.header.customer, line_spec(pay_type, amount), at))
    return out
