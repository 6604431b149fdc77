"""A protected person's findings do not join back to the anstid: their line references are keyed hashes."""

from __future__ import annotations

from datetime import UTC, date, datetime

import orjson

from servicepulse.schemas.events import PayrollRun, PayrollRunKind, PayrollRunStatus
from servicepulse.streams.payroll.people import Person, pseudonym, source_reference
from servicepulse.streams.payroll.rules import Line, RunContext, evaluate_run

NOW = datetime(2026, 11, 23, 10, tzinfo=UTC)


def run() -> PayrollRun:
    return PayrollRun(event_id="SF01-2026-11-main:closed", run_id="SF01-2026-11-main", kind=PayrollRunKind.main,
                      status=PayrollRunStatus.closed, customer="SF01", period="2026-11", pay_date=date(2026, 11, 25),
                      occurred_at=NOW, source="test")


class Lines:
    def __init__(self) -> None:
        self.lines: list[Line] = []

    def salary(self, employee: str, gross: int) -> Lines:
        for category, code, amount in (("gross", "11", gross), ("tax", "91", -gross * 3 // 10),
                                       ("net", "99", gross - gross * 3 // 10)):
            n = len(self.lines) + 1
            self.lines.append(Line(f"R:{n}", n, employee, code, category, amount))
        return self


def test_protected_lines_are_referenced_by_keyed_hashes() -> None:
    people = {"A1": Person("A1", protected=True, bank_hash="h"), "A2": Person("A2", bank_hash="h")}
    lines = Lines().salary("A1", 16_000_000).salary("A2", 3_000_000)
    findings = evaluate_run(RunContext(run(), lines.lines, people, salt="s"), now=NOW)
    protected_ids = {ln.event_id for ln in lines.lines if ln.employee_id == "A1"}
    other_ids = {ln.event_id for ln in lines.lines if ln.employee_id == "A2"}
    refs = {source_reference(e, "s") for e in protected_ids}
    used: set[str] = set()
    for f in findings:  # neither the event id nor the line number of a protected line: they join payroll_lines
        lines = orjson.loads(f.evidence_json).get("lines", [])
        assert not protected_ids & set(f.source_event_ids)
        assert not protected_ids & {ln["event_id"] for ln in lines}
        used |= refs & set(f.source_event_ids)
    assert used
    ceiling = next(f for f in findings if f.rule_id == "payroll.gross_ceiling")
    assert ceiling.subject_id == pseudonym("A1", "s")
    assert all(ref.startswith("SKYDD-REF-") for ref in ceiling.source_event_ids)
    assert '"line_no"' not in ceiling.evidence_json and '"amount_ore"' in ceiling.evidence_json
    shared = next(f for f in findings if f.rule_id == "payroll.shared_bank_account")
    assert other_ids & set(shared.source_event_ids)  # others keep their plain references
    assert source_reference("SF01:1", "s") != source_reference("SF01:1", "t")  # keyed
