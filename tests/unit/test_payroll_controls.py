"""Payroll deviation rules: per rule a planted case that must be found and a near miss that must not."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
import pytest

from servicepulse.schemas.events import Finding, PayrollRun, PayrollRunKind, PayrollRunStatus
from servicepulse.streams.payroll.people import Person, pseudonym
from servicepulse.streams.payroll.rules import (
    URGENT_PAYMENT,
    EmployeeTotals,
    Line,
    RunContext,
    UrgentRunSummary,
    evaluate_run,
    rule_by_id,
    urgent_payments,
)

NOW = datetime(2026, 11, 23, 10, tzinfo=UTC)
PAY_DATE = date(2026, 11, 25)  # a Wednesday


def run(kind: PayrollRunKind = PayrollRunKind.main, run_id: str = "SF01-2026-11-main") -> PayrollRun:
    return PayrollRun(event_id=f"{run_id}:closed", run_id=run_id, kind=kind, status=PayrollRunStatus.closed,
                      customer="SF01", period="2026-11", pay_date=PAY_DATE, occurred_at=NOW, source="test")


class Lines:
    def __init__(self) -> None:
        self.lines: list[Line] = []

    def add(self, employee: str, category: str, amount: int, pay_type: str | None = None, **kw: object) -> Lines:
        n = len(self.lines) + 1
        code = pay_type or {"gross": "11", "tax": "91", "net": "99", "pension": "95", "travel": "721",
                            "per_diem": "711", "deduction": "81"}.get(category, "X")
        # kw names optional Line fields of several types, checked by Line itself at run time.
        self.lines.append(Line(f"R:{n}", n, employee, code, category, amount, **kw))  # type: ignore[arg-type]
        return self

    def salary(self, employee: str, gross: int, net: int | None = None) -> Lines:
        self.add(employee, "gross", gross)
        tax = gross * 3 // 10
        self.add(employee, "tax", -tax)
        return self.add(employee, "net", gross - tax if net is None else net)


def check(rule_id: str, lines: Lines, people: dict[str, Person] | None = None,
          previous: dict[str, EmployeeTotals] | None = None, kind: PayrollRunKind = PayrollRunKind.main,
          **params: object) -> list[Finding]:
    ctx = RunContext(run(kind), lines.lines, people or {}, previous or {})
    findings = evaluate_run(ctx, [rule_by_id(rule_id, **params)], now=NOW)
    assert all(f.rule_id == rule_id for f in findings)
    return findings


def ev(finding: Finding) -> dict[str, Any]:
    evidence = orjson.loads(finding.evidence_json)
    assert isinstance(evidence, dict)
    return evidence


def test_paid_after_termination() -> None:
    people = {"A1": Person("A1", employed_to=date(2026, 8, 31)), "A3": Person("A3", employed_to=date(2026, 10, 31))}
    lines = (Lines().salary("A1", 3_000_000)
             .add("A3", "gross", 2_000_000, "18").add("A3", "gross", 500_000, "Z7", pay_type_name="Slutlön okt")
             .add("A3", "net", 1_800_000))
    found = check("payroll.paid_after_termination", lines, people)
    # A1 ended 86 days before pay date (> 62); A3's final settlement 25 days after the end (holiday pay by
    # code, slutlön by name) is normal.
    assert [f.subject_id for f in found] == ["A1"]
    assert ev(found[0])["days_after_end"] == 86 and ev(found[0])["threshold_days"] == 62
    assert found[0].severity.value == "high"


def test_paid_after_termination_regular_salary_for_a_period_after_the_end() -> None:
    """A month's salary for November, the employment having ended on 31 October: flagged although paid 25 days
    after the end (within the 62-day grace); the payslip's period is the work period of an undated line."""
    people = {"A2": Person("A2", employed_to=date(2026, 10, 31)), "A4": Person("A4", employed_to=date(2026, 11, 10))}
    lines = Lines().salary("A2", 3_000_000).salary("A4", 3_000_000)
    found = check("payroll.paid_after_termination", lines, people)
    # A4 ended inside the period: the month's salary is partly worked (the payroll system pro-rates it).
    assert [f.subject_id for f in found] == ["A2"]
    doc = ev(found[0])
    assert doc["regular_pay_after_end"] is True and doc["days_after_end"] == 25 and doc["pay_period"] == "2026-11"
    assert found[0].source_event_ids == ["R:1"] and "Regular pay for period 2026-11" in found[0].summary


def test_paid_after_termination_work_dated_after_end() -> None:
    people = {"A2": Person("A2", employed_to=date(2026, 10, 31))}
    lines = Lines().add("A2", "gross", 150_000, "31", work_date=date(2026, 11, 3)).add("A2", "net", 100_000)
    found = check("payroll.paid_after_termination", lines, people)
    assert len(found) == 1 and ev(found[0])["work_after_end"] is True
    assert found[0].source_event_ids == ["R:1"]
    near = Lines().add("A2", "gross", 150_000, "31", work_date=date(2026, 10, 31)).add("A2", "net", 100_000)
    assert check("payroll.paid_after_termination", near, people) == []


def test_shared_bank_account() -> None:
    people = {"A1": Person("A1", bank_hash="h1"), "A2": Person("A2", bank_hash="h1"),
              "A3": Person("A3", bank_hash="h3"), "A4": Person("A4", bank_hash="h4")}
    lines = Lines().salary("A1", 3_000_000).salary("A2", 2_800_000).salary("A3", 2_000_000).salary("A4", 2_000_000)
    found = check("payroll.shared_bank_account", lines, people)
    assert len(found) == 1
    assert ev(found[0])["employees"] == ["A1", "A2"] and ev(found[0])["employee_count"] == 2
    assert found[0].subject_type == "bank_account"
    # Near miss: the shared account's second holder is not paid in this run (net 0).
    near = Lines().salary("A1", 3_000_000).add("A2", "net", 0)
    assert check("payroll.shared_bank_account", near, people) == []


def test_pay_change() -> None:
    previous = {"A1": EmployeeTotals("SF01-2026-10-main", 3_000_000, 2_100_000),
                "A2": EmployeeTotals("SF01-2026-10-main", 3_000_000, 2_100_000)}
    # A1: gross +31 % (3,930,000 vs 3,000,000); A2: +29 % gross, net within 30 %.
    lines = Lines().salary("A1", 3_930_000, 2_700_000).salary("A2", 3_870_000, 2_709_000)
    found = check("payroll.pay_change", lines, previous=previous)
    assert [f.subject_id for f in found] == ["A1"]
    changes = ev(found[0])["changes"]
    assert changes["gross"]["change_pct"] == "31.0" and changes["gross"]["previous_ore"] == 3_000_000
    assert "net" not in changes  # 2,700,000 vs 2,100,000 is +28.6 %
    # Exactly 30 % is not "more than 30 %".
    exact = Lines().salary("A1", 3_900_000, 2_100_000)
    assert check("payroll.pay_change", exact, previous=previous) == []
    # Urgent runs are not compared with the main run.
    assert check("payroll.pay_change", lines, previous=previous, kind=PayrollRunKind.urgent) == []


def test_pay_change_threshold_is_a_parameter() -> None:
    previous = {"A2": EmployeeTotals("SF01-2026-10-main", 3_000_000, 2_100_000)}
    lines = Lines().salary("A2", 3_870_000, 2_100_000)
    assert len(check("payroll.pay_change", lines, previous=previous, max_change_pct=20)) == 1


def test_negative_net() -> None:
    lines = Lines().add("A1", "deduction", -120_000).add("A1", "net", -120_000).salary("A2", 100_000, 0)
    found = check("payroll.negative_net", lines)
    assert [f.subject_id for f in found] == ["A1"] and ev(found[0])["net_ore"] == -120_000


def test_gross_ceiling() -> None:
    lines = Lines().salary("A1", 15_000_001).salary("A2", 15_000_000)
    found = check("payroll.gross_ceiling", lines)
    assert [f.subject_id for f in found] == ["A1"] and ev(found[0])["ceiling_ore"] == 15_000_000


def test_travel_per_diem() -> None:
    def oct_(day: int) -> date:
        return date(2026, 10, day)

    lines = (Lines()
             .add("A1", "travel", 500_001, work_date=oct_(14))                                # above the line limit
             .add("A2", "per_diem", 60_000, quantity=Decimal(2), unit_price_ore=30_000)       # no trip dates
             .add("A3", "per_diem", 70_000, quantity=Decimal(2), unit_price_ore=35_000,
                  period_from=oct_(14), period_to=oct_(15))                                   # rate above 300 kr
             .add("A6", "per_diem", 90_000, quantity=Decimal(3), period_from=oct_(14),
                  period_to=oct_(15))                                                         # 3 days, 2-day trip
             .add("A7", "per_diem", 60_000, quantity=Decimal(2), unit_price_ore=30_000,
                  period_from=oct_(5), period_to=oct_(6))
             .add("A7", "per_diem", 30_000, quantity=Decimal(1), unit_price_ore=30_000,
                  work_date=oct_(6))                                                          # overlapping trips
             .add("A8", "gross", -60_000, "61", quantity=Decimal(2), work_date=oct_(20))     # sick 20-21 Oct
             .add("A8", "per_diem", 30_000, quantity=Decimal(1), unit_price_ore=30_000,
                  work_date=oct_(21))                                                         # per diem while sick
             .add("A4", "travel", 500_000, work_date=oct_(14))                                # near miss: at the limit
             .add("A5", "per_diem", 30_000, quantity=Decimal(1), unit_price_ore=30_000,
                  work_date=oct_(30))                                                         # near miss: normal
             .add("A8", "per_diem", 30_000, quantity=Decimal(1), unit_price_ore=30_000,
                  work_date=oct_(22)))                                                        # near miss: back at work
    found = check("payroll.travel_per_diem", lines)
    assert sorted(f.subject_id for f in found) == ["A1", "A2", "A3", "A6", "A7", "A7", "A8"]
    by = {f.subject_id: ev(f) for f in found}
    assert by["A2"]["reasons"] == ["per diem without trip dates"]
    assert by["A3"]["reasons"] == ["per-diem day rate above the tax-free 300.00 SEK"]
    assert by["A6"]["reasons"] == ["3 per-diem days for a trip of 2"]
    assert by["A8"]["reasons"] == ["per diem on a day of leave (2026-10-21)"]
    assert {r for f in found if f.subject_id == "A7" for r in ev(f)["reasons"]} == {
        "trip 2026-10-05..2026-10-06 overlaps another trip 2026-10-06..2026-10-06",
        "trip 2026-10-06..2026-10-06 overlaps another trip 2026-10-05..2026-10-06"}


def test_travel_per_diem_weekend_days_inside_a_trip_are_never_flagged() -> None:
    """Per diem is paid for every day of a trip: a Friday-Monday trip (31 October is also All Saints' Day) as
    one line and as a line a day, and a trip corrected by a reversal and registered again, find nothing."""
    days = [date(2026, 10, 30) + timedelta(days=d) for d in range(4)]
    lines = Lines().add("A1", "per_diem", 120_000, quantity=Decimal(4), unit_price_ore=30_000, period_from=days[0],
                        period_to=days[-1])
    for day in days:
        lines.add("A2", "per_diem", 30_000, quantity=Decimal(1), unit_price_ore=30_000, work_date=day)
    for amount, quantity in ((60_000, 2), (-60_000, -2), (60_000, 2)):
        lines.add("A3", "per_diem", amount, quantity=Decimal(quantity), unit_price_ore=30_000, period_from=days[1],
                  period_to=days[2])
    assert check("payroll.travel_per_diem", lines) == []
    # The rule of version 1 flagged each weekend day: this rule's version says the logic changed.
    assert rule_by_id("payroll.travel_per_diem").version >= 2


def test_retroactive() -> None:
    lines = (Lines()
             .add("A1", "gross", 50_000, "15", period_from=date(2026, 7, 1), period_to=date(2026, 7, 31))
             .add("A2", "gross", 50_000, "15", period_from=date(2026, 8, 1), period_to=date(2026, 8, 31)))
    found = check("payroll.retroactive", lines)
    # Run period 2026-11, 3 months: lines ending before 2026-08-01 are flagged; August is the near miss.
    assert [f.subject_id for f in found] == ["A1"] and ev(found[0])["oldest_allowed"] == "2026-08-01"


def test_pension_age() -> None:
    people = {"A1": Person("A1", birth_date=date(1971, 11, 26)), "A2": Person("A2", birth_date=date(1971, 11, 25)),
              "A3": Person("A3", birth_date=date(1990, 1, 1))}
    lines = (Lines().add("A1", "pension", 800_000, "96").add("A2", "pension", 800_000, "96")
             .add("A3", "pension", 150_000, "95"))  # employer contribution: not a payment to the person
    found = check("payroll.pension_age", lines, people)
    # A1 turns 55 the day after the pay date; A2 turns 55 on it.
    assert [f.subject_id for f in found] == ["A1"] and ev(found[0])["age"] == 54


def test_duplicate_line() -> None:
    lines = (Lines()
             .add("A1", "gross", 120_000, "41", quantity=Decimal(3), work_date=date(2026, 10, 7))
             .add("A1", "gross", 120_000, "41", quantity=Decimal(3), work_date=date(2026, 10, 7))
             .add("A2", "gross", 120_000, "41", quantity=Decimal(3), work_date=date(2026, 10, 7))
             .add("A2", "gross", 120_000, "41", quantity=Decimal(3), work_date=date(2026, 10, 8))
             .add("A2", "tax", -10_000).add("A2", "tax", -10_000))
    found = check("payroll.duplicate_line", lines)
    assert [f.subject_id for f in found] == ["A1"] and found[0].source_event_ids == ["R:1", "R:2"]


def test_duplicate_line_after_reversals() -> None:
    """A correction (reversal + the right line) and a re-booking (reversal + the same line again) are no
    duplicates; a line registered twice and reversed once still leaves one copy too many only when three were."""
    ot = {"quantity": Decimal(3), "work_date": date(2026, 10, 7)}
    neg = {"quantity": Decimal(-3), "work_date": date(2026, 10, 7)}
    lines = (Lines()
             .add("A1", "gross", 120_000, "41", **ot).add("A1", "gross", -120_000, "41", **neg)
             .add("A1", "gross", 120_000, "41", **ot)                                  # re-booked
             .add("A2", "gross", 120_000, "41", **ot).add("A2", "gross", -120_000, "41", **neg)
             .add("A2", "gross", 80_000, "41", quantity=Decimal(2), work_date=date(2026, 10, 7))  # corrected
             .add("A3", "gross", 120_000, "41", **ot).add("A3", "gross", 120_000, "41", **ot)
             .add("A3", "gross", 120_000, "41", **ot).add("A3", "gross", -120_000, "41", **neg))
    found = check("payroll.duplicate_line", lines)
    assert [f.subject_id for f in found] == ["A3"] and ev(found[0])["copies"] == 2


def test_bank_change_paid() -> None:
    people = {"A1": Person("A1", bank_hash="new", previous_bank_hash="old", bank_changed_on=date(2026, 11, 10)),
              "A2": Person("A2", bank_hash="new", previous_bank_hash="old", bank_changed_on=date(2026, 8, 1)),
              "A3": Person("A3", bank_hash="same", previous_bank_hash="same", bank_changed_on=date(2026, 11, 10))}
    lines = Lines().salary("A1", 3_000_000).salary("A2", 3_000_000).salary("A3", 3_000_000)
    found = check("payroll.bank_change_paid", lines, people)
    assert [f.subject_id for f in found] == ["A1"] and ev(found[0])["days_before_pay"] == 15


def test_urgent_payment() -> None:
    def summary(i: int, customer: str, net: int) -> UrgentRunSummary:
        return UrgentRunSummary(f"{customer}-2026-11-urgent-{i}", customer, "2026-11", date(2026, 11, 10 + i),
                                "girovision", 1, net)

    runs = [summary(i, "SF01", 500_000) for i in range(5)] + [summary(i, "SF02", 500_000) for i in range(4)]
    found = urgent_payments(runs, URGENT_PAYMENT, now=NOW)
    assert [f.subject_id for f in found] == ["SF01"]
    assert ev(found[0])["count"] == 5 and ev(found[0])["net_ore"] == 2_500_000
    # One large urgent payment reaches the amount threshold on its own.
    big = urgent_payments([summary(1, "SF03", 10_000_000)], now=NOW)
    assert len(big) == 1 and big[0].subject_id == "SF03"


def test_findings_are_deterministic_and_carry_rule_metadata() -> None:
    lines = Lines().add("A1", "deduction", -120_000).add("A1", "net", -120_000)
    ctx = RunContext(run(), lines.lines)
    first = evaluate_run(ctx, now=NOW)
    again = evaluate_run(ctx, now=datetime(2027, 1, 1, tzinfo=UTC))
    assert [f.finding_id for f in first] == [f.finding_id for f in again]
    f = first[0]
    assert (f.rule_id, f.rule_version, f.severity.value) == ("payroll.negative_net", 1, "medium")
    assert ev(f)["parameters"] == {} and ev(f)["lines"][0]["event_id"] == "R:1"


def test_protected_person_gets_a_pseudonym_everywhere() -> None:
    people = {"A1": Person("A1", protected=True, bank_hash="h"), "A2": Person("A2", bank_hash="h")}
    lines = Lines().salary("A1", 16_000_000).salary("A2", 3_000_000)
    findings = evaluate_run(RunContext(run(), lines.lines, people, salt="s"), now=NOW)
    alias = pseudonym("A1", "s")
    assert {f.rule_id for f in findings} == {"payroll.gross_ceiling", "payroll.shared_bank_account"}
    text = " ".join(f.model_dump_json() for f in findings)
    assert alias in text and '"A1"' not in text and "A1," not in text


def test_unknown_rule() -> None:
    with pytest.raises(KeyError, match="unknown rule"):
        rule_by_id("payroll.nope")
