"""Personal data contained, end to end: the planted payroll run (a protected person among 300) and a camt.054
file whose remittance text holds a personnummer and a name; then every table but the restricted one, the
alerts, the dead-letter reasons and the worker logs are searched for them in every common form."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from servicepulse.simulator.payroll_planted import planted_main_run
from tests.factories.payroll_checks import wait_for_run_findings
from tests.factories.pipeline import Pipeline

pytestmark = [pytest.mark.integration, pytest.mark.broker_independent]

DATA = Path(__file__).parents[1] / "data" / "finance"
CAMT_PNR = "198112289874"  # Luhn-valid, typed by a payer into the remittance text
CAMT_NAME = "Vilhelmina Skyddsberg"


def _forms(pnr: str) -> set[str]:
    short = pnr[2:]
    return {pnr, short, f"{short[:6]}-{short[6:]}", f"{pnr[:8]}-{pnr[8:]}", f"{short[:6]} {short[6:]}",
            f"{pnr[:8]} {pnr[8:]}"}


def test_no_personal_data_outside_the_restricted_table(pipeline: Pipeline) -> None:
    planted = planted_main_run(seed=11, employees=300)
    (protected_id,) = planted.protected_ids
    secret = planted.people[protected_id]
    work = pipeline.workdir
    pipeline.start_worker()
    outputs = []
    done = pipeline.cli("controls", "plant", "--out", str(work / "planted"), "--seed", "11", "--employees", "300",
                        "--timeout", "200")
    outputs.append(done.stdout + done.stderr)
    run_id = f"{planted.header.customer}-{planted.header.period}-main"
    pipeline.wait_for(lambda: pipeline.scalar(f"SELECT count() FROM payroll_run_checks WHERE run_id = '{run_id}'") > 0,
                      timeout=200, what="the main run checked")
    wait_for_run_findings(pipeline)  # written after the check row: searched below, so waited for
    camt = (DATA / "camt054_valid.xml").read_text(encoding="utf-8").replace(
        "<Ustrd>faktura mars</Ustrd>", f"<Ustrd>faktura 4711 {CAMT_NAME} {CAMT_PNR[2:8]}-{CAMT_PNR[8:]}</Ustrd>")
    assert CAMT_NAME in camt
    path = work / "camt-personal.xml"
    path.write_text(camt, encoding="utf-8")
    done = pipeline.cli("ingest", "camt054", str(path), "--wait", "--timeout", "120")
    outputs.append(done.stdout + done.stderr)
    pipeline.wait_for(lambda: pipeline.scalar("SELECT count() FROM invoice_postings WHERE source = 'camt054'") >= 4,
                      what="the camt postings stored")
    time.sleep(3)  # findings and alerts of the run go through Kafka once more

    needles = (_forms(secret.personnummer) | _forms(CAMT_PNR)
               | {secret.last_name, f"{secret.first_name} {secret.last_name}", CAMT_NAME, "Skyddsberg"})
    tables = [t for (t,) in pipeline.rows("SELECT name FROM system.tables WHERE database = currentDatabase()"
                                          " AND engine NOT LIKE '%View%'") if t != "payroll_people_restricted"]
    rows = 0
    for table in tables:
        found = pipeline.rows(f"SELECT * FROM `{table}`")
        rows += len(found)
        dump = "\n".join(map(repr, found))
        for needle in needles:
            assert needle not in dump, f"personal data in {table}"
    reference = pipeline.scalar("SELECT any(reference) FROM invoice_postings WHERE reference LIKE 'faktura 4711%'")
    assert reference == "faktura 4711 *** <personnummer>"
    logs = pipeline.worker_logs() + "\n".join(outputs)
    for needle in needles:
        assert needle not in logs, "personal data in the logs"
    print(f"\npersonal data: {len(needles)} needles ({len(_forms(CAMT_PNR))} forms of each personnummer) searched in "
          f"{len(tables)} tables ({rows} rows, alerts and dead letters included) and {len(logs)} characters of "
          "logs: none found")
