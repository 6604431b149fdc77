"""Scores the rules' findings against a planted payroll run's ground truth, and feeds the run to the rules."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import orjson

from servicepulse.schemas.events import Finding
from servicepulse.streams.payroll.people import Person, bank_hash, subject_for
from servicepulse.streams.payroll.rules import EmployeeTotals, Line, RunContext, UrgentRunSummary

from .payroll_planted import PlantedRun

__all__ = ["Score", "context_for", "score", "urgent_summaries"]


def people_for(planted: PlantedRun, salt: str) -> dict[str, Person]:
    out = {}
    for p in planted.people.values():
        previous = bank_hash(p.bank_clearing, p.previous_bank_account, salt) if p.previous_bank_account else None
        out[p.employee_id] = Person(p.employee_id, p.protected, p.birth_date, p.employed_from, p.employed_to,
                                    bank_hash(p.bank_clearing, p.bank_account, salt), previous, p.bank_changed_on)
    return out


def context_for(planted: PlantedRun, salt: str = "servicepulse") -> RunContext:
    previous = {k: EmployeeTotals(*v) for k, v in planted.previous.items()}
    return RunContext(planted.header, [Line.from_event(x) for x in planted.lines], people_for(planted, salt),
                      previous, salt)


def urgent_summaries(planted: PlantedRun) -> list[UrgentRunSummary]:
    return [UrgentRunSummary(h.run_id, h.customer, h.period, h.pay_date, h.payment_channel,
                             len({x.employee_id for x in lines}), h.net_ore or 0) for h, lines in planted.urgent_runs]


@dataclass(frozen=True)
class Score:
    true_positives: int
    false_positives: list[tuple[str, tuple[str, ...]]]
    missed: list[tuple[str, tuple[str, ...]]]

    @property
    def precision(self) -> float:
        return self.true_positives / max(1, self.true_positives + len(self.false_positives))

    @property
    def recall(self) -> float:
        return self.true_positives / max(1, self.true_positives + len(self.missed))


def score(planted: PlantedRun, findings: Iterable[Finding], salt: str = "servicepulse") -> Score:
    """Match each finding to a planted case by rule and subjects (anstid, pseudonym mapped back, or customer)."""
    alias = {subject_for(a, Person(a, p.protected), salt): a for a, p in planted.people.items()}
    truth = {(p.rule_id, p.subjects) for p in planted.planted}
    found = set()
    for f in findings:
        if f.subject_type == "bank_account":
            subjects = tuple(sorted(alias.get(s, s) for s in orjson.loads(f.evidence_json)["employees"]))
        else:
            subjects = (alias.get(f.subject_id, f.subject_id),)
        found.add((f.rule_id, subjects))
    return Score(len(found & truth), sorted(found - truth), sorted(truth - found))
