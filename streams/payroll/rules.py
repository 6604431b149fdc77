"""Payroll deviation rules as pure functions: a closed run (its lines, master data, previous run) in, findings out.

Every rule has an id, a version, a severity and parameters with defaults; every finding carries the
evidence (the lines, the previous values, the threshold) and a deterministic id, so re-evaluating the
same run re-emits the same findings. Subjects are anstid, or a pseudonym for protected persons; no
personnummer or name ever reaches this module.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from servicepulse.domain.money import format_amount
from servicepulse.domain.rules import Rule, build_finding, declare
from servicepulse.domain.zone import STOCKHOLM
from servicepulse.schemas.events import Finding, PayLine, PayrollRun, PayrollRunKind, Severity

from .people import Person, protected_line_evidence, source_reference, subject_for

__all__ = [
    "BANK_CHANGE_PAID",
    "DUPLICATE_LINE",
    "GROSS_CEILING",
    "NEGATIVE_NET",
    "PAID_AFTER_TERMINATION",
    "PAY_CHANGE",
    "PENSION_AGE",
    "RETROACTIVE",
    "RULES",
    "RUN_RULES",
    "SHARED_BANK_ACCOUNT",
    "TRAVEL_PER_DIEM",
    "URGENT_PAYMENT",
    "EmployeeTotals",
    "Line",
    "RunContext",
    "UrgentRunSummary",
    "evaluate_run",
    "rule_by_id",
    "urgent_payments",
]

# Categories a person registers (as opposed to tax, net and pension contributions the system computes).
_REGISTERED = frozenset({"gross", "deduction", "benefit", "travel", "per_diem", "other"})


class Line(NamedTuple):
    """One pay line as the rules need it; built from a PayLine event or a ClickHouse row.

    A named tuple rather than a frozen dataclass: a Stockholm run loads 1.2 M of them, and a tuple is built
    several times faster.
    """

    event_id: str
    line_no: int
    employee_id: str
    pay_type: str
    category: str
    amount_ore: int
    quantity: Decimal | None = None
    unit_price_ore: int | None = None
    work_date: date | None = None
    period_from: date | None = None
    period_to: date | None = None
    # The pay type's name (benämning): tells final settlement (slutlön, semesterersättning) from regular pay
    # when the installation's pay-type codes are not in the parameters.
    pay_type_name: str | None = None

    @classmethod
    def from_event(cls, line: PayLine) -> Line:
        return cls(line.event_id, line.line_no, line.employee_id, line.pay_type, line.category.value,
                   line.amount_ore, line.quantity, line.unit_price_ore, line.work_date, line.period_from,
                   line.period_to, line.pay_type_name)

    def as_evidence(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id, "line_no": self.line_no, "pay_type": self.pay_type,
            "category": self.category, "amount_ore": self.amount_ore,
            "quantity": None if self.quantity is None else str(self.quantity),
            "unit_price_ore": self.unit_price_ore,
            "work_date": _iso(self.work_date), "period_from": _iso(self.period_from),
            "period_to": _iso(self.period_to),
        }


@dataclass(frozen=True, slots=True)
class EmployeeTotals:
    """An employee's gross and net in one run (the previous main run, for `payroll.pay_change`)."""

    run_id: str
    gross_ore: int
    net_ore: int


@dataclass(frozen=True)
class RunContext:
    """Everything the per-run rules look at; `previous` is each employee's previous main run."""

    run: PayrollRun
    lines: Sequence[Line]
    people: Mapping[str, Person] = field(default_factory=dict)
    previous: Mapping[str, EmployeeTotals] = field(default_factory=dict)
    # The pseudonym key (`settings.payroll.pseudonym_key`); needed only when a protected person is flagged.
    salt: str | None = None


PAID_AFTER_TERMINATION = declare(
    "payroll.paid_after_termination", Severity.high,
    "Net paid later than `grace_days` after the end of employment, gross for work dated after it, or regular "
    "(undated, not final-settlement) salary for a pay period that starts after it.")
SHARED_BANK_ACCOUNT = declare(
    "payroll.shared_bank_account", Severity.high,
    "At least `min_employees` employees paid in one run to the same bank account.")
PAY_CHANGE = declare(
    "payroll.pay_change", Severity.medium,
    "Net or gross changed by more than `max_change_pct` % from the employee's previous main run (previous "
    "amounts under `min_previous_ore` not compared).")
NEGATIVE_NET = declare(
    "payroll.negative_net", Severity.medium, "Net pay below zero: a salary debt (löneskuld) to recover.")
GROSS_CEILING = declare(
    "payroll.gross_ceiling", Severity.high, "Gross pay in one run above `ceiling_ore`.")
TRAVEL_PER_DIEM = declare(
    "payroll.travel_per_diem", Severity.low,
    "Travel or per-diem lines above a limit; per diem above the tax-free day rate, without trip dates, for more "
    "days than the trip, on overlapping trips or on days of leave. Weekend days inside a trip are normal.")
RETROACTIVE = declare(
    "payroll.retroactive", Severity.low,
    "Lines covering a period that ended more than `max_months` months before the run's period.")
PENSION_AGE = declare(
    "payroll.pension_age", Severity.high,
    "Pension paid out to someone younger than `min_age` (employer contributions excluded).")
DUPLICATE_LINE = declare(
    "payroll.duplicate_line", Severity.medium,
    "The same registered line (employee, pay type, amount, quantity, dates) twice in one run, after reversals "
    "(the same line negated) have cancelled what they correct.")
BANK_CHANGE_PAID = declare(
    "payroll.bank_change_paid", Severity.high,
    "Bank account changed within `window_days` before the pay date, and the run pays net to it.")
URGENT_PAYMENT = declare(
    "payroll.urgent_payment", Severity.low,
    "Urgent payments outside the main run, per customer and period: flagged from `max_count` runs or "
    "`max_net_ore` net (across runs, `urgent_payments`).")


# --------------------------------------------------------------------------- helpers


def _iso(d: date | None) -> str | None:
    return None if d is None else d.isoformat()


@dataclass
class _Employee:
    lines: list[Line] = field(default_factory=list)
    gross_ore: int = 0
    net_ore: int = 0
    has_net: bool = False


def _by_employee(lines: Iterable[Line]) -> dict[str, _Employee]:
    out: dict[str, _Employee] = defaultdict(_Employee)
    for line in lines:
        emp = out[line.employee_id]
        emp.lines.append(line)
        if line.category == "gross":
            emp.gross_ore += line.amount_ore
        elif line.category == "net":
            emp.net_ore += line.amount_ore
            emp.has_net = True
    return out


class _Emitter:
    """Builds findings for one run with the shared fields filled in."""

    def __init__(self, ctx: RunContext, now: datetime) -> None:
        self.ctx = ctx
        self.now = now
        run = ctx.run
        self.occurred = datetime.combine(run.pay_date, time(12), STOCKHOLM)

    def subject(self, employee_id: str) -> str:
        return subject_for(employee_id, self.ctx.people.get(employee_id), self.ctx.salt)

    def finding(self, rule: Rule, subject_type: str, subject_id: str, key: object, summary: str,
                doc: dict[str, Any], lines: Sequence[Line] = ()) -> Finding:
        run = self.ctx.run
        doc = {"run_id": run.run_id, "run_kind": run.kind.value, "period": run.period,
               "pay_date": run.pay_date.isoformat(), "parameters": rule.params(), **doc}
        # A protected person's lines are referenced by keyed hashes: their event ids join to payroll_lines
        # (anstid) and would reverse the pseudonym (`people.source_reference`).
        hidden = {ln.employee_id for ln in lines if (p := self.ctx.people.get(ln.employee_id)) and p.protected}
        if lines:
            doc["lines"] = [protected_line_evidence(line.as_evidence(), self.ctx.salt) if line.employee_id in hidden
                            else line.as_evidence() for line in lines]
        return build_finding(
            rule, key=(run.run_id, subject_id, key), subject_type=subject_type, subject_id=subject_id,
            company=run.customer, occurred_at=self.occurred, detected_at=self.now, summary=summary,
            evidence=doc, source_event_ids=[source_reference(line.event_id, self.ctx.salt) if line.employee_id in hidden
                                            else line.event_id for line in lines],
        )


def _kr(ore: int) -> str:
    # The form payroll findings have always carried in their summaries and evidence ("1 250.00 SEK").
    return f"{format_amount(ore, thousands=' ')} SEK"


def _months_before(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def _period_start(period: str) -> date:
    year, month = (int(p) for p in period.split("-")[:2])
    return date(year, month, 1)


def _mirror_key(ln: Line) -> tuple[Any, ...]:
    # A reversal repeats the line with amount (and quantity) negated: same pay type, price and dates.
    return (ln.pay_type, abs(ln.amount_ore), None if ln.quantity is None else abs(ln.quantity), ln.unit_price_ore,
            ln.work_date, ln.period_from, ln.period_to)


def _after_reversals(lines: Iterable[Line]) -> list[Line]:
    """The lines left when each reversal (a negated copy) has cancelled one line it mirrors, and itself.

    Corrections in a payroll system are a reversal plus the right line; a re-booking (another cost account) is a
    reversal plus the same line again. Neither is a duplicate or a second trip.
    """
    lines = list(lines)
    positives: dict[tuple[Any, ...], list[Line]] = defaultdict(list)
    negatives: dict[tuple[Any, ...], list[Line]] = defaultdict(list)
    for ln in lines:
        (positives if ln.amount_ore > 0 else negatives if ln.amount_ore < 0 else positives)[_mirror_key(ln)].append(ln)
    cancelled: set[str] = set()
    for key, undo in negatives.items():
        originals = positives.get(key, [])
        for original, reversal in zip(originals, undo, strict=False):
            cancelled.update((original.event_id, reversal.event_id))
    return [ln for ln in lines if ln.event_id not in cancelled] if cancelled else list(lines)


def _span(ln: Line) -> tuple[date, date] | None:
    """The days a dated line covers: its period, else its work date."""
    if ln.period_from is not None or ln.period_to is not None:
        start = ln.period_from or ln.period_to
        end = ln.period_to or ln.period_from
        assert start is not None and end is not None
        return start, end
    if ln.work_date is not None:
        return ln.work_date, ln.work_date
    return None


def _leave_span(ln: Line) -> tuple[date, date] | None:
    """Days of leave a leave line (sick deduction, leave of absence) stands for: its period, else its date and
    the `quantity` days from it (a sick deduction of 3 days dated the first day)."""
    if ln.period_from is None and ln.period_to is None and ln.work_date is not None and ln.quantity is not None:
        days = min(31, max(1, int(abs(ln.quantity))))
        return ln.work_date, ln.work_date + timedelta(days=days - 1)
    return _span(ln)


def _age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


# --------------------------------------------------------------------------- per-run rules


def _is_settlement(rule: Rule, ln: Line) -> bool:
    if ln.pay_type in rule["settlement_pay_types"]:
        return True
    name = (ln.pay_type_name or "").lower()
    return any(word in name for word in rule["settlement_words"])


def _paid_after_termination(rule: Rule, ctx: RunContext, emps: dict[str, _Employee],
                            out: _Emitter) -> Iterable[Finding]:
    pay_date = ctx.run.pay_date
    period_start = _period_start(ctx.run.period)
    for employee_id, emp in emps.items():
        person = ctx.people.get(employee_id)
        if person is None or person.employed_to is None:
            continue
        end = person.employed_to
        after = [ln for ln in emp.lines if ln.category == "gross" and ln.amount_ore > 0
                 and ((ln.work_date or ln.period_from or date.min) > end)]
        # An undated gross line is for the payslip's own period: a month's salary for a month that starts
        # after the end was not worked, however soon it is paid. Final settlement (slutlön, holiday pay) is.
        regular = [] if period_start <= end else [
            ln for ln in emp.lines if ln.category == "gross" and ln.amount_ore > 0 and _span(ln) is None
            and not _is_settlement(rule, ln)]
        late = emp.net_ore > 0 and pay_date > end + timedelta(days=rule["grace_days"])
        if not after and not late and not regular:
            continue
        subject = out.subject(employee_id)
        if late or not regular:
            summary = f"Paid {_kr(emp.net_ore)} net on {pay_date} after employment ended {end}"
        else:
            summary = f"Regular pay for period {ctx.run.period} after employment ended {end}"
        yield out.finding(
            rule, "employee", subject, end.isoformat(), summary,
            {"employed_to": end.isoformat(), "net_ore": emp.net_ore, "days_after_end": (pay_date - end).days,
             "threshold_days": rule["grace_days"], "work_after_end": bool(after),
             "regular_pay_after_end": bool(regular), "pay_period": ctx.run.period},
            after + regular or [ln for ln in emp.lines if ln.category == "net"],
        )


def _shared_bank_account(rule: Rule, ctx: RunContext, emps: dict[str, _Employee],
                         out: _Emitter) -> Iterable[Finding]:
    accounts: dict[str, list[str]] = defaultdict(list)
    for employee_id, emp in emps.items():
        person = ctx.people.get(employee_id)
        if person is not None and person.bank_hash and emp.net_ore > 0:
            accounts[person.bank_hash].append(employee_id)
    for account, staff in sorted(accounts.items()):
        if len(staff) < rule["min_employees"]:
            continue
        subjects = sorted(out.subject(e) for e in staff)
        lines = [ln for e in sorted(staff) for ln in emps[e].lines if ln.category == "net"]
        yield out.finding(
            rule, "bank_account", f"bank:{account[:12]}", ",".join(subjects),
            f"{len(staff)} employees paid to one bank account in run {ctx.run.run_id}",
            {"bank_account_hash": account, "employees": subjects, "employee_count": len(staff),
             "net_ore": {out.subject(e): emps[e].net_ore for e in staff}, "threshold": rule["min_employees"]},
            lines,
        )


def _pay_change(rule: Rule, ctx: RunContext, emps: dict[str, _Employee], out: _Emitter) -> Iterable[Finding]:
    if ctx.run.kind is not PayrollRunKind.main:
        return
    for employee_id, emp in emps.items():
        prev = ctx.previous.get(employee_id)
        if prev is None:
            continue
        changes = {}
        for name, now_ore, prev_ore in (("gross", emp.gross_ore, prev.gross_ore), ("net", emp.net_ore, prev.net_ore)):
            if abs(prev_ore) < rule["min_previous_ore"]:
                continue
            # Integer comparison: |now - prev| * 100 > pct * |prev|, no float rounding at the threshold.
            if abs(now_ore - prev_ore) * 100 > rule["max_change_pct"] * abs(prev_ore):
                changes[name] = {"previous_ore": prev_ore, "current_ore": now_ore,
                                 "change_pct": str((Decimal(now_ore - prev_ore) * 100 / abs(prev_ore))
                                                   .quantize(Decimal("0.1")))}
        if not changes:
            continue
        subject = out.subject(employee_id)
        yield out.finding(
            rule, "employee", subject, prev.run_id,
            f"Pay changed more than {rule['max_change_pct']} % from run {prev.run_id}: " + ", ".join(
                f"{k} {v['change_pct']} %" for k, v in sorted(changes.items())),
            {"previous_run_id": prev.run_id, "changes": changes, "threshold_pct": rule["max_change_pct"]},
            [ln for ln in emp.lines if ln.category in ("gross", "net")],
        )


def _negative_net(rule: Rule, ctx: RunContext, emps: dict[str, _Employee],
                  out: _Emitter) -> Iterable[Finding]:
    for employee_id, emp in emps.items():
        if emp.has_net and emp.net_ore < 0:
            yield out.finding(
                rule, "employee", out.subject(employee_id), emp.net_ore,
                f"Negative net pay {_kr(emp.net_ore)}: salary debt (löneskuld)",
                {"net_ore": emp.net_ore, "gross_ore": emp.gross_ore, "threshold_ore": 0},
                emp.lines,
            )


def _gross_ceiling(rule: Rule, ctx: RunContext, emps: dict[str, _Employee],
                   out: _Emitter) -> Iterable[Finding]:
    for employee_id, emp in emps.items():
        if emp.gross_ore > rule["ceiling_ore"]:
            yield out.finding(
                rule, "employee", out.subject(employee_id), emp.gross_ore,
                f"Gross pay {_kr(emp.gross_ore)} above the ceiling {_kr(rule['ceiling_ore'])}",
                {"gross_ore": emp.gross_ore, "ceiling_ore": rule["ceiling_ore"]},
                [ln for ln in emp.lines if ln.category == "gross"],
            )


def _travel_reasons(rule: Rule, ln: Line, leave: list[tuple[date, date]]) -> list[str]:
    reasons = []
    if ln.amount_ore > rule["max_line_ore"]:
        reasons.append(f"amount above {_kr(rule['max_line_ore'])}")
    if ln.category != "per_diem" or ln.amount_ore <= 0:
        return reasons
    rate = rule["max_per_diem_day_ore"]
    days = ln.quantity if ln.quantity is not None and ln.quantity > 0 else None
    if (ln.unit_price_ore or 0) > rate or (days is not None and ln.amount_ore > rate * days):
        reasons.append(f"per-diem day rate above the tax-free {_kr(rate)}")
    span = _span(ln)
    if span is None:
        reasons.append("per diem without trip dates")
        return reasons
    length = (span[1] - span[0]).days + 1
    if days is not None and days > length:
        reasons.append(f"{days} per-diem days for a trip of {length}")
    on_leave = sorted({max(a, span[0]) for a, b in leave if a <= span[1] and span[0] <= b})
    if on_leave:
        reasons.append(f"per diem on a day of leave ({on_leave[0]})")
    return reasons


def _travel_per_diem(rule: Rule, ctx: RunContext, emps: dict[str, _Employee],
                     out: _Emitter) -> Iterable[Finding]:
    # Weekends are not a reason: per diem is paid for every day of a trip, Saturdays and Sundays included.
    leave_types = rule["leave_pay_types"]
    for employee_id, emp in emps.items():
        checked = [ln for ln in emp.lines if ln.category in rule["categories"]]
        if not checked:
            continue
        leave = [s for ln in emp.lines if ln.pay_type in leave_types and (s := _leave_span(ln)) is not None]
        reasons: dict[str, list[str]] = {ln.event_id: _travel_reasons(rule, ln, leave) for ln in checked}
        # Overlapping trips: two per-diem lines (left after reversals, identical copies being the duplicate
        # rule's) whose days meet.
        trips = sorted(((s, ln) for ln in _after_reversals([x for x in checked if x.category == "per_diem"])
                        if ln.amount_ore > 0 and (s := _span(ln)) is not None), key=lambda t: (t[0], t[1].line_no))
        for i, (span, ln) in enumerate(trips):
            for other_span, other in trips[i + 1:]:
                if other_span[0] > span[1]:
                    break
                if _mirror_key(other) == _mirror_key(ln):
                    continue
                for (a, a_span), b_span in (((ln, span), other_span), ((other, other_span), span)):
                    reasons[a.event_id].append(f"trip {a_span[0]}..{a_span[1]} overlaps another trip "
                                               f"{b_span[0]}..{b_span[1]}")
        for ln in checked:
            found = list(dict.fromkeys(reasons[ln.event_id]))
            if found:
                yield out.finding(
                    rule, "employee", out.subject(employee_id), ln.event_id,
                    f"{ln.category.replace('_', '-')} line {ln.pay_type}: " + "; ".join(found),
                    {"reasons": found, "max_line_ore": rule["max_line_ore"],
                     "max_per_diem_day_ore": rule["max_per_diem_day_ore"]}, [ln],
                )


def _retroactive(rule: Rule, ctx: RunContext, emps: dict[str, _Employee],
                 out: _Emitter) -> Iterable[Finding]:
    year, month = (int(p) for p in ctx.run.period.split("-"))
    limit = _months_before(date(year, month, 1), rule["max_months"])
    for employee_id, emp in emps.items():
        for ln in emp.lines:
            end = ln.period_to or ln.period_from
            if ln.category in _REGISTERED and end is not None and end < limit:
                yield out.finding(
                    rule, "employee", out.subject(employee_id), ln.event_id,
                    f"Retroactive line {ln.pay_type} for {ln.period_from or end}..{end}, older than "
                    f"{rule['max_months']} months",
                    {"period_to": end.isoformat(), "oldest_allowed": limit.isoformat(),
                     "max_months": rule["max_months"]}, [ln],
                )


def _pension_age(rule: Rule, ctx: RunContext, emps: dict[str, _Employee],
                 out: _Emitter) -> Iterable[Finding]:
    pay_date = ctx.run.pay_date
    for employee_id, emp in emps.items():
        person = ctx.people.get(employee_id)
        if person is None or person.birth_date is None:
            continue
        age = _age(person.birth_date, pay_date)
        if age >= rule["min_age"]:
            continue
        paid = [ln for ln in emp.lines if ln.category == "pension" and ln.amount_ore > 0
                and ln.pay_type not in rule["contribution_pay_types"]]
        if paid:
            yield out.finding(
                rule, "employee", out.subject(employee_id), ",".join(ln.event_id for ln in paid),
                f"Pension of {_kr(sum(ln.amount_ore for ln in paid))} paid to someone aged {age}",
                {"age": age, "min_age": rule["min_age"]}, paid,
            )


def _duplicate_line(rule: Rule, ctx: RunContext, emps: dict[str, _Employee],
                    out: _Emitter) -> Iterable[Finding]:
    for employee_id, emp in emps.items():
        seen: dict[tuple[Any, ...], list[Line]] = defaultdict(list)
        for ln in _after_reversals(ln for ln in emp.lines if ln.category in _REGISTERED):
            seen[(ln.pay_type, ln.amount_ore, ln.quantity, ln.unit_price_ore, ln.work_date, ln.period_from,
                  ln.period_to)].append(ln)
        for group in seen.values():
            if len(group) > 1:
                yield out.finding(
                    rule, "employee", out.subject(employee_id), ",".join(ln.event_id for ln in group),
                    f"Pay type {group[0].pay_type} of {_kr(group[0].amount_ore)} registered {len(group)} times",
                    {"copies": len(group)}, group,
                )


def _bank_change_paid(rule: Rule, ctx: RunContext, emps: dict[str, _Employee],
                      out: _Emitter) -> Iterable[Finding]:
    pay_date = ctx.run.pay_date
    for employee_id, emp in emps.items():
        person = ctx.people.get(employee_id)
        if person is None or person.bank_changed_on is None or emp.net_ore <= 0:
            continue
        if person.previous_bank_hash in (None, person.bank_hash):
            continue
        days = (pay_date - person.bank_changed_on).days
        if 0 <= days <= rule["window_days"]:
            yield out.finding(
                rule, "employee", out.subject(employee_id), person.bank_changed_on.isoformat(),
                f"Bank account changed {person.bank_changed_on}, {days} days before paying {_kr(emp.net_ore)}",
                {"bank_changed_on": person.bank_changed_on.isoformat(), "days_before_pay": days,
                 "window_days": rule["window_days"], "previous_bank_hash": person.previous_bank_hash,
                 "bank_hash": person.bank_hash, "net_ore": emp.net_ore},
                [ln for ln in emp.lines if ln.category == "net"],
            )


_Check = Callable[[Rule, RunContext, dict[str, _Employee], _Emitter], Iterable[Finding]]

_CHECKS: dict[str, _Check] = {
    PAID_AFTER_TERMINATION.rule_id: _paid_after_termination,
    SHARED_BANK_ACCOUNT.rule_id: _shared_bank_account,
    PAY_CHANGE.rule_id: _pay_change,
    NEGATIVE_NET.rule_id: _negative_net,
    GROSS_CEILING.rule_id: _gross_ceiling,
    TRAVEL_PER_DIEM.rule_id: _travel_per_diem,
    RETROACTIVE.rule_id: _retroactive,
    PENSION_AGE.rule_id: _pension_age,
    DUPLICATE_LINE.rule_id: _duplicate_line,
    BANK_CHANGE_PAID.rule_id: _bank_change_paid,
}

RUN_RULES: tuple[Rule, ...] = (PAID_AFTER_TERMINATION, SHARED_BANK_ACCOUNT, PAY_CHANGE, NEGATIVE_NET, GROSS_CEILING,
                               TRAVEL_PER_DIEM, RETROACTIVE, PENSION_AGE, DUPLICATE_LINE, BANK_CHANGE_PAID)
"""Per-run rules with their defaults from the parameters file, in the order `evaluate_run` applies them."""
RULES: tuple[Rule, ...] = (*RUN_RULES, URGENT_PAYMENT)
"""Every payroll rule; `payroll.urgent_payment` works across runs (`urgent_payments`)."""


def rule_by_id(rule_id: str, **params: Any) -> Rule:
    """A rule with its defaults, parameters (and `version`) overridden, e.g. for a replay with another threshold.
    An unknown rule raises KeyError, an unknown parameter TypeError."""
    found = {rule.rule_id: rule for rule in RULES}
    if rule_id not in found:
        raise KeyError(f"unknown rule {rule_id!r}; known: {', '.join(sorted(found))}")
    return found[rule_id].with_values(**params) if params else found[rule_id]


def evaluate_run(ctx: RunContext, rules: Iterable[Rule] | None = None, now: datetime | None = None) -> list[Finding]:
    """Every finding of the given rules (default: all per-run rules) for one run."""
    chosen = list(rules) if rules is not None else list(RUN_RULES)
    emps = _by_employee(ctx.lines)
    out = _Emitter(ctx, now or datetime.now(UTC))
    findings: list[Finding] = []
    for rule in chosen:
        check = _CHECKS[rule.rule_id]
        findings.extend(check(rule, ctx, emps, out))
    return findings


# --------------------------------------------------------------------------- across runs


@dataclass(frozen=True, slots=True)
class UrgentRunSummary:
    """One closed urgent run: what `payroll.urgent_payment` aggregates per customer and period."""

    run_id: str
    customer: str
    period: str
    pay_date: date
    payment_channel: str | None
    employees: int
    net_ore: int


def urgent_payments(runs: Iterable[UrgentRunSummary], rule: Rule | None = None,
                    now: datetime | None = None) -> list[Finding]:
    """One finding per customer and period whose urgent payments reach `max_count` or `max_net_ore`."""
    rule = rule or URGENT_PAYMENT
    groups: dict[tuple[str, str], list[UrgentRunSummary]] = defaultdict(list)
    for run in runs:
        groups[(run.customer, run.period)].append(run)
    findings = []
    for (customer, period), group in sorted(groups.items()):
        group.sort(key=lambda r: r.run_id)
        count = len(group)
        net = sum(r.net_ore for r in group)
        if count < rule["max_count"] and net < rule["max_net_ore"]:
            continue
        channels: defaultdict[str, int] = defaultdict(int)
        for r in group:
            channels[r.payment_channel or "unknown"] += 1
        last = max(r.pay_date for r in group)
        findings.append(build_finding(
            # One finding per customer and period: a later urgent run updates it (same id, newer evidence).
            rule,
            key=(customer, period),
            subject_type="customer",
            subject_id=customer,
            company=customer,
            occurred_at=datetime.combine(last, time(12), STOCKHOLM),
            detected_at=now or datetime.now(UTC),
            summary=f"{count} urgent payments of {_kr(net)} net for {customer} in {period}",
            evidence={
                "customer": customer, "period": period, "count": count, "net_ore": net,
                "channels": dict(channels), "parameters": rule.params(),
                "runs": [{"run_id": r.run_id, "pay_date": r.pay_date.isoformat(), "employees": r.employees,
                          "net_ore": r.net_ore, "payment_channel": r.payment_channel} for r in group],
            },
            source_event_ids=[f"{r.run_id}:closed" for r in group],
        ))
    return findings
