"""The simulator's planted control cases, through the real broker, sink and ClickHouse: every one is found."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from servicepulse.schemas.events import InvoicePosting
from servicepulse.simulator import STOCKHOLM, SimConfig, Simulator
from servicepulse.simulator.finance import planted_cases
from servicepulse.streams.finance.suspense import open_items
from servicepulse.streams.readback.finance_review import load_window
from tests.factories.pipeline import Pipeline

pytestmark = [pytest.mark.integration, pytest.mark.broker_independent]

START = date(2026, 3, 2)


def test_every_planted_case_is_found(pipeline: Pipeline) -> None:
    pipeline.env |= {"READBACK__FINANCE_INTERVAL_S": "3"}
    pipeline.cli("simulate", "--days", "12", "--start", START.isoformat(), "--scale", "0.01", "--seed", "3",
                 timeout=180)
    pipeline.start_worker()
    cases = planted_cases(START)
    wanted = {(c.rule_id, c.subject_id) for c in cases}

    def found() -> set[tuple[str, str]]:
        return set(pipeline.rows("SELECT rule_id, subject_id FROM findings FINAL"))

    pipeline.wait_for(lambda: wanted <= found(), timeout=150, what=f"planted cases {sorted(wanted - found())}")
    # The payment controls found nothing else (the Benford supplier also tips its company's population).
    payment_rules = {"ap.duplicate_payment", "ap.split_invoice", "ap.new_supplier_four_eyes", "ar.refund_limit",
                     "ap.benford"}
    extra = {f for f in found() if f[0] in payment_rules} - wanted
    assert extra <= {("ap.benford", "1010:*")}

    # The planted findings do not mean every posting is stored (the sink process stores them on its own); the
    # comparisons below read the table twice, so all of it must be in first (the same seed gives the same events).
    first = datetime.combine(START, datetime.min.time(), STOCKHOLM)
    end = first + timedelta(days=12)
    sent = sum(isinstance(e, InvoicePosting) for e in Simulator(SimConfig(seed=3, scale=0.01), first, end).advance(end))
    pipeline.wait_for(lambda: pipeline.scalar("SELECT count() FROM invoice_postings FINAL") >= sent, timeout=60,
                      what=f"{sent} postings stored")

    # The ClickHouse view and the Python reference implementation agree item by item, to the öre.
    columns = ", ".join(InvoicePosting.model_fields)
    suspense = [InvoicePosting(**dict(zip(InvoicePosting.model_fields, row, strict=True))) for row in pipeline.rows(
        f"SELECT {columns} FROM invoice_postings FINAL WHERE account IN ('9894', '9896')")]
    expected = sorted((i.company, i.account, f"{i.voucher_series} {i.voucher_number}", i.open_ore, i.opened_on)
                      for i in open_items(suspense))
    view = sorted(pipeline.rows("SELECT company, account, voucher, amount_ore, opened_on FROM v_suspense_open_items"))
    assert len(view) > 5 and view == expected
    _, _, items = load_window(pipeline.client(), lookback_days=45, invoice_horizon_days=100)
    assert sorted((i.company, i.account, f"{i.voucher_series} {i.voucher_number}", i.open_ore, i.opened_on)
                  for i in items) == expected
