"""A payroll system's PAXml exports (every section, XSD-valid) ingested with ONE command: every planted deviation
found, the master-data rules included, without `controls people`; a file without master data says which rules
are blind and what to run."""

from __future__ import annotations

import json
import time
from types import SimpleNamespace

import pytest

from servicepulse.simulator.payroll_planted import planted_main_run
from servicepulse.simulator.payroll_scoring import score
from tests.factories.paxml_export import external_exports
from tests.factories.payroll_checks import wait_for_run_findings
from tests.factories.pipeline import Pipeline

pytestmark = [pytest.mark.integration, pytest.mark.broker_independent]


def test_external_exports_in_one_command_find_every_planted_deviation(pipeline: Pipeline) -> None:
    planted = planted_main_run(seed=7, employees=250)
    export = external_exports(planted)
    folder = pipeline.workdir / "export"
    files = export.write(folder)
    run_id = f"{planted.header.customer}-{planted.header.period}-main"

    pipeline.start_worker()
    started = time.monotonic()
    done = pipeline.cli("ingest", "paxml", *map(str, files), "--protected", str(folder / "protected.csv"),
                        "--wait", "--timeout", "200")
    output = done.stdout + done.stderr
    assert f"{len(planted.people)} people's master data stored" in output
    assert "cannot see them" not in output  # master data came with the files: no rule is blind
    assert "registered pay transactions read" in output
    pipeline.wait_for(lambda: pipeline.scalar(f"SELECT count() FROM payroll_run_checks WHERE run_id = '{run_id}'") > 0,
                      timeout=200, what="the main run checked")
    # The check row is written before its findings go through Kafka and the sink: wait for the findings it
    # announced, then for a late duplicate.
    wait_for_run_findings(pipeline)
    time.sleep(2)
    rows = pipeline.rows("SELECT rule_id, subject_type, subject_id, evidence_json FROM findings FINAL"
                         " WHERE rule_id LIKE 'payroll.%'")
    this_run = [r for r in rows if r[0] == "payroll.urgent_payment" or json.loads(r[3]).get("run_id") == run_id]
    stored = [SimpleNamespace(rule_id=r[0], subject_type=r[1], subject_id=r[2], evidence_json=r[3]) for r in this_run]
    result = score(planted, stored, salt=pipeline.settings.payroll.key())  # type: ignore[arg-type]
    print(f"\nexternal exports, one command: {len(files)} files, {len(planted.planted)} planted, {len(this_run)} "
          f"findings in {time.monotonic() - started:.1f}s: precision {result.precision:.0%}, "
          f"recall {result.recall:.0%}")
    assert result.missed == [], result.missed
    assert result.false_positives == []
    master = {"payroll.paid_after_termination", "payroll.bank_change_paid", "payroll.shared_bank_account",
              "payroll.pension_age"}
    assert master <= {r[0] for r in this_run}
    # Personal data went to the restricted table only: never to a topic-fed table.
    secret = next(iter(planted.people.values())).personnummer
    assert pipeline.scalar(f"SELECT count() FROM payroll_people_restricted FINAL WHERE personnummer = '{secret}'") == 1
    assert secret not in repr(pipeline.rows("SELECT * FROM payroll_lines")) and secret not in output


def test_a_file_without_master_data_names_the_blind_rules(pipeline: Pipeline) -> None:
    planted = planted_main_run(seed=8, employees=40)
    export = external_exports(planted)
    path = pipeline.workdir / "no-personal.xml"
    text = export.current.decode("iso-8859-1")
    start, end = text.index("<personal>"), text.index("</personal>") + len("</personal>")
    path.write_bytes((text[:start] + text[end:]).encode("iso-8859-1"))
    done = pipeline.cli("ingest", "paxml", str(path))
    output = " ".join((done.stdout + done.stderr).split())
    assert "has no <personal> section" in output
    assert f"{len(planted.people)} of {len(planted.people)} employees have no master data" in output
    assert "payroll.paid_after_termination" in output and "payroll.bank_change_paid" in output
    assert "servicepulse controls people" in output
