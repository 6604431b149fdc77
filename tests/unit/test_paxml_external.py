"""PAXml exports shaped by a payroll system (not our writer): XSD-valid, every section, every planted deviation
found from them as from the simulator's own events; recall per rule printed for both."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest
from lxml import etree

from servicepulse.schemas.events import Finding, PayLine, PayrollRun
from servicepulse.simulator.payroll_planted import PlantedRun, planted_main_run
from servicepulse.simulator.payroll_scoring import context_for, score, urgent_summaries
from servicepulse.streams.payroll.rules import RULES, evaluate_run, urgent_payments
from tests.factories.paxml_export import (
    SHARED_XSD,
    ExternalExport,
    context_from_exports,
    external_exports,
    read_export,
    urgent_from_exports,
)

NOW = datetime(2026, 11, 23, tzinfo=UTC)
SEEDS = (1, 2, 3)


def _simulator_findings(planted: PlantedRun) -> list[Finding]:
    return evaluate_run(context_for(planted), now=NOW) + urgent_payments(urgent_summaries(planted), now=NOW)


def _export_findings(export: ExternalExport) -> list[Finding]:
    return evaluate_run(context_from_exports(export), now=NOW) + urgent_payments(urgent_from_exports(export), now=NOW)


@pytest.mark.skipif(not SHARED_XSD.exists(), reason="../shared/formats/paxml-2.0.xsd is not beside the repository")
def test_exports_are_valid_against_the_published_xsd() -> None:
    schema = etree.XMLSchema(etree.parse(str(SHARED_XSD)))
    export = external_exports(planted_main_run(seed=1, employees=200))
    current = etree.fromstring(export.current)
    # Every section a payroll system writes for a run, master data included.
    assert {child.tag for child in current} >= {"header", "personal", "tidtransaktioner", "lonetransaktioner",
                                                "loneutbetalning"}
    for data in (export.previous, export.current, *export.urgent):
        assert schema.validate(etree.fromstring(data)), str(schema.error_log)[:2000]
    # The schema is strict enough to catch a wrong file: our own writer's namespace is not in it.
    wrong = export.current.replace(b"<paxml>", b'<paxml xmlns="http://www.paxml.se/2.0/paxml.xsd">')
    assert not schema.validate(etree.fromstring(wrong))


def test_recall_per_rule_on_external_exports_beside_the_simulator(capsys: pytest.CaptureFixture[str]) -> None:
    planted_per_rule: Counter[str] = Counter()
    found: dict[str, Counter[str]] = {"simulator": Counter(), "export": Counter()}
    false_positives: dict[str, list[object]] = {"simulator": [], "export": []}
    for seed in SEEDS:
        planted = planted_main_run(seed=seed, employees=400)
        truth = {(p.rule_id, p.subjects) for p in planted.planted}
        planted_per_rule.update(rule for rule, _ in truth)
        for source, findings in (("simulator", _simulator_findings(planted)),
                                 ("export", _export_findings(external_exports(planted)))):
            result = score(planted, findings)
            found[source].update(rule for rule, subjects in truth - set(result.missed))
            false_positives[source] += result.false_positives
    rows = [f"{'rule':<34}{'planted':>8}{'simulator':>11}{'export':>9}"]
    for rule in sorted(r.rule_id for r in RULES):
        n = planted_per_rule[rule]
        rows.append(f"{rule:<34}{n:>8}{found['simulator'][rule] / n:>11.0%}{found['export'][rule] / n:>9.0%}")
    with capsys.disabled():
        print(f"\nrecall per rule, seeds {SEEDS} (PAXml exports with every section vs the simulator's events):")
        print("\n".join(rows))
    assert set(planted_per_rule) == {r.rule_id for r in RULES}
    for source in ("simulator", "export"):
        assert found[source] == planted_per_rule, f"{source}: planted cases missed"
        assert false_positives[source] == [], source


def test_the_duplicate_registration_is_seen_only_in_lonetransaktioner() -> None:
    planted = planted_main_run(seed=2, employees=300)
    export = external_exports(planted)
    duplicate = next(p.subjects for p in planted.planted if p.rule_id == "payroll.duplicate_line")
    current = etree.fromstring(export.current)
    # The payslip prints the two overtime registrations as one summed row; the transactions hold both.
    slip = next(s for s in current.iterfind("loneutbetalning/lonebesked") if s.get("anstid") == duplicate[0])
    rows = [r for r in slip.iterfind("lonerader/lonrad") if r.findtext("lonart") == "41"]
    registered = [t for t in current.iterfind("lonetransaktioner/lonetrans")
                  if t.get("anstid") == duplicate[0] and t.findtext("lonart") == "41"]
    assert len(registered) == len(rows) + 1
    stripped = etree.fromstring(export.current)
    section = stripped.find("lonetransaktioner")
    assert section is not None
    stripped.remove(section)
    blind = ExternalExport(export.previous, etree.tostring(stripped, encoding="ISO-8859-1"), export.urgent,
                           export.protected_csv)
    rule = "payroll.duplicate_line"
    assert (rule, duplicate) not in {(f.rule_id, (f.subject_id,)) for f in _export_findings(blind)}
    assert (rule, duplicate) in {(f.rule_id, (f.subject_id,)) for f in _export_findings(export)}


def test_transactions_never_count_money_twice() -> None:
    planted = planted_main_run(seed=3, employees=300)
    doc = read_export(external_exports(planted).current)
    assert doc.errors == [] and doc.transactions > 0 and doc.has_personal
    header = doc.records[-1].event
    assert isinstance(header, PayrollRun)
    assert (header.gross_ore, header.net_ore) == (planted.header.gross_ore, planted.header.net_ore)
    lines = [r.event for r in doc.records if isinstance(r.event, PayLine)]
    assert sum(x.amount_ore for x in lines if x.category.value == "gross") == planted.header.gross_ore
    # No personnummer from the persnr attributes on every element reaches a line.
    secrets = {p.personnummer for p in planted.people.values()}
    assert not any(s in x.model_dump_json() for x in lines for s in secrets)
