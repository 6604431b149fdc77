"""Productivity per FTE: staffing CSV loaded into ClickHouse, payslips and invoices per FTE per month."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest

from servicepulse.connectors.clickhouse import dedup_token, insert_rows
from servicepulse.connectors.ingest.staffing_csv import StaffingRow, load, parse
from servicepulse.schemas.events import Event, InvoicePosting, PayLine, PayrollRun
from servicepulse.streams.sink import TABLES, Message, decode_batch
from tests.factories.pipeline import Pipeline

pytestmark = [pytest.mark.integration, pytest.mark.broker_independent]

AT = datetime(2026, 3, 20, 10, tzinfo=UTC)


def _store(pipeline: Pipeline, table: str, events: list[Event]) -> None:
    spec = TABLES[table]
    codec = pipeline.codec
    result = decode_batch(spec, codec, [Message(f"t-{table}", 0, i, None, codec.encode(e))
                                        for i, e in enumerate(events)], {})
    insert_rows(pipeline.client(), spec.table, spec.columns, result.rows, token=dedup_token(table, result.ranges))


def test_payslips_and_invoices_per_fte(pipeline: Pipeline) -> None:
    runs: list[Event] = [
        PayrollRun(event_id=f"{r}:closed", run_id=r, kind=k, status="closed", customer="SOC", period="2026-03",
                   pay_date=date(2026, 3, 25), occurred_at=AT, source="test")
        for r, k in (("main-1", "main"), ("urgent-1", "urgent"))
    ]
    lines: list[Event] = []
    for e in range(47):  # 47 employees in the main run, 2 lines each -> 47 payslips
        for n, cat in enumerate(("gross", "net")):
            lines.append(PayLine(event_id=f"main-1:{2 * e + n}", run_id="main-1", line_no=2 * e + n,
                                 employee_id=f"A{e:04d}", customer="SOC", pay_type="11", category=cat,
                                 amount_ore=100, occurred_at=AT, source="test"))
    lines.append(PayLine(event_id="urgent-1:0", run_id="urgent-1", line_no=0, employee_id="A9999", customer="SOC",
                         pay_type="11", category="net", amount_ore=100, occurred_at=AT, source="test"))
    postings: list[Event] = [
        InvoicePosting(event_id=f"inv-{kind}-{i}", kind=kind, company="1010", account="2440", amount_ore=-100,
                       posting_date=date(2026, 3, 1 + i % 28), recorded_at=AT, source="test")
        for kind, n in (("supplier_invoice", 31), ("customer_invoice", 51)) for i in range(n)
    ]
    _store(pipeline, "payroll_runs", runs)
    _store(pipeline, "payroll_lines", lines)
    _store(pipeline, "invoice_postings", postings)
    csv = ("month,unit,role,fte\n2026-03,Lön A,payroll_administrator,0.04\n2026-03,Lön B,payroll_administrator,0.01\n"
           "2026-03,Lev,supplier_invoices,0.01\n2026-03,Kund,customer_invoices,0.02\n2026-03,X,chef,1\n")
    parsed = list(parse(io.BytesIO(csv.encode())))
    rows = [r for r in parsed if isinstance(r, StaffingRow)]
    assert len(rows) == 4 and len(parsed) == 5
    client = pipeline.client()
    assert load(client, rows, "staffing.csv") == 4
    load(client, rows, "staffing.csv")  # same file twice: deduplicated
    assert pipeline.scalar("SELECT count() FROM staffing_fte") == 4

    payslips = pipeline.rows("SELECT month, payslips, toFloat64(fte), payslips_per_fte, target "
                             "FROM v_productivity_payslips")
    assert payslips == [("2026-03", 47, 0.05, pytest.approx(47 / 0.05), 940)]
    invoices = pipeline.rows("SELECT kind, invoices, toFloat64(fte), invoices_per_fte, target "
                             "FROM v_productivity_invoices ORDER BY kind")
    assert invoices == [("customer_invoice", 51, 0.02, pytest.approx(51 / 0.02), 5100),
                        ("supplier_invoice", 31, 0.01, pytest.approx(31 / 0.01), 3100)]


def test_staffing_csv_loads_from_the_command_line(pipeline: Pipeline) -> None:
    path = pipeline.workdir / "staffing.csv"
    path.write_text("month,unit,role,fte\n2026-10,Lön,payroll_administrator,59.5\n"
                    "2026-10,Lön,payroll_administrator,not-a-number\n2026-10,Ekonomi,supplier_invoices,32\n",
                    encoding="utf-8")
    done = pipeline.cli("staffing", str(path), check=False)
    assert done.returncode == 2 and "staffing.csv:3" in done.stderr
    assert "2 rows loaded" in done.stderr
    pipeline.cli("staffing", str(path), check=False)  # the same file twice is stored once
    rows = pipeline.rows("SELECT role, toString(fte) FROM staffing_fte FINAL ORDER BY role")
    assert rows == [("payroll_administrator", "59.5"), ("supplier_invoices", "32")]
