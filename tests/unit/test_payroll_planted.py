"""The simulator's planted deviations against the rules: precision and recall, evidence, protected identity."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from servicepulse.schemas.events import Finding
from servicepulse.simulator.payroll_planted import PlantedRun, planted_main_run
from servicepulse.simulator.payroll_scoring import context_for, score, urgent_summaries
from servicepulse.streams.payroll.rules import evaluate_run, urgent_payments
from tests.factories.narrowing import one

NOW = datetime(2026, 11, 23, tzinfo=UTC)


def findings_for(seed: int) -> tuple[PlantedRun, list[Finding]]:
    planted = planted_main_run(seed=seed, employees=400)
    findings = evaluate_run(context_for(planted), now=NOW) + urgent_payments(urgent_summaries(planted), now=NOW)
    return planted, findings


def test_every_rule_is_planted() -> None:
    planted = planted_main_run(seed=1, employees=400)
    assert {p.rule_id for p in planted.planted} == {
        "payroll.paid_after_termination", "payroll.shared_bank_account", "payroll.pay_change",
        "payroll.negative_net", "payroll.gross_ceiling", "payroll.urgent_payment", "payroll.travel_per_diem",
        "payroll.retroactive", "payroll.pension_age", "payroll.duplicate_line", "payroll.bank_change_paid"}


def test_precision_and_recall_on_planted_cases(capsys: pytest.CaptureFixture[str]) -> None:
    for seed in (1, 2, 3):
        planted, findings = findings_for(seed)
        result = score(planted, findings)
        with capsys.disabled():
            print(f"\nseed {seed}: {len(planted.lines)} lines, {len(planted.planted)} planted, {len(findings)} "
                  f"findings: precision {result.precision:.0%}, recall {result.recall:.0%}")
        assert result.missed == [] and result.false_positives == []
        assert result.precision == 1.0 and result.recall == 1.0
        assert result.true_positives == len(planted.planted)


def test_every_finding_has_evidence() -> None:
    _, findings = findings_for(1)
    for f in findings:
        doc = orjson.loads(f.evidence_json)
        assert "parameters" in doc and (doc.get("lines") or doc.get("runs")), f.rule_id
        assert f.source_event_ids


def test_protected_person_never_named_in_findings() -> None:
    planted, findings = findings_for(1)
    (anstid,) = planted.protected_ids
    person = planted.people[anstid]
    text = "\n".join(f.model_dump_json() for f in findings)
    # The protected person is in several findings, under a pseudonym only.
    assert text.count("SKYDD-") >= 3
    for secret in (person.personnummer, person.personnummer[2:], f"{person.personnummer[:8]}-{person.personnummer[8:]}",
                   f"{person.first_name} {person.last_name}", person.bank_account, anstid):
        assert secret not in text
    # Names and personnummer of nobody appear.
    for p in planted.people.values():
        assert p.personnummer not in text and f"{p.first_name} {p.last_name}" not in text


def test_planted_run_is_reproducible() -> None:
    a, b = planted_main_run(seed=5, employees=100), planted_main_run(seed=5, employees=100)
    assert a.lines == b.lines and a.planted == b.planted


def test_planted_run_through_paxml_gives_the_same_findings() -> None:
    """Simulator -> PAXml file -> importer -> rules: the importer loses nothing the rules need."""
    import io

    from servicepulse.connectors.ingest.paxml import read_document
    from servicepulse.schemas.events import PayLine, PayrollRun
    from servicepulse.simulator.paxml_writer import paxml_people, paxml_run
    from servicepulse.streams.payroll.rules import Line, RunContext

    planted = planted_main_run(seed=2, employees=300)
    company = planted.header.customer
    data = paxml_run(planted.lines, company, planted.header.period.replace("-", ""), planted.header.pay_date)
    doc = read_document(io.BytesIO(data))
    assert doc.errors == []
    lines = [Line.from_event(r.event) for r in doc.records if isinstance(r.event, PayLine)]
    assert len(lines) == len(planted.lines)
    people = read_document(io.BytesIO(paxml_people(list(planted.people.values()), company)))
    assert people.errors == [] and len(people.people) == len(planted.people)
    ctx = context_for(planted)
    header = one(PayrollRun, doc.records[-1].event)
    assert header.gross_ore == planted.header.gross_ore and header.net_ore == planted.header.net_ore
    findings = evaluate_run(RunContext(header, lines, ctx.people, ctx.previous, ctx.salt), now=NOW)
    findings += urgent_payments(urgent_summaries(planted), now=NOW)
    result = score(planted, findings)
    assert (result.precision, result.recall) == (1.0, 1.0), (result.missed, result.false_positives)


def test_personnummer_agrees_with_birth_date() -> None:
    from personnummer import personnummer

    for person in planted_main_run(seed=1, employees=200).people.values():
        assert personnummer.Personnummer(person.personnummer).get_date() == person.birth_date
