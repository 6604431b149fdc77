"""The incremental read-back controls give what a pass from scratch gives: data stored in two steps, the second
pass after the second step yields exactly what the whole-window path yields on the same two steps, and the
payroll wait sees a run complete only when its distinct lines are all stored."""

from __future__ import annotations

import hashlib
import itertools
import json
import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from typing import Any

import pytest
from pydantic import BaseModel

from servicepulse.connectors.ingest.ocr import luhn_check_digit
from servicepulse.domain.zone import STOCKHOLM
from servicepulse.schemas.events import (
    CallEvent,
    CaseEvent,
    Channel,
    Complaint,
    Finding,
    InvoicePosting,
    PayrollRun,
    PayrollRunKind,
    PayrollRunStatus,
    PostingKind,
)
from servicepulse.simulator.engine import SimConfig, Simulator
from servicepulse.streams.contact.monitor import SlaMonitor
from servicepulse.streams.readback.finance_review import FinanceReviewer
from servicepulse.streams.readback.payroll_checks import lines_ready, stored_line_count, wait_for_lines
from servicepulse.streams.readback.sla_monitor import SlaReader, SlaTicker, legacy_tick
from tests.factories.pipeline import Pipeline

pytestmark = [pytest.mark.integration, pytest.mark.broker_independent]

TABLE_OF: dict[type[BaseModel], tuple[str, str]] = {
    InvoicePosting: ("invoice_postings", "invoice-postings"), CallEvent: ("call_events", "call-events"),
    Complaint: ("complaints", "complaints"), CaseEvent: ("cases", "cases"),
}


class Store:
    """Inserts events as the sink does: column-oriented, each row with a Kafka position (offsets growing per
    partition, so the watermark views move as in production)."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.client = pipeline.client()
        self.offsets: dict[tuple[str, int], int] = {}

    def insert(self, events: Sequence[BaseModel], partitions: int = 3, ingested_at: datetime | None = None) -> None:
        """`ingested_at`: stored as ingested then (default: now, as the sink)."""
        by_type: dict[type[BaseModel], list[BaseModel]] = {}
        for e in events:
            by_type.setdefault(type(e), []).append(e)
        for model, items in by_type.items():
            table, topic = TABLE_OF[model]
            names = list(model.model_fields)
            data = []
            for i, e in enumerate(items):
                partition = i % partitions
                offset = self.offsets.get((topic, partition), -1) + 1
                self.offsets[(topic, partition)] = offset
                values = [getattr(e, n) for n in names]
                data.append([v.value if isinstance(v, Enum) else v for v in values] + [topic, partition, offset]
                            + ([ingested_at] if ingested_at else []))
            self.client.insert(table, data, column_names=[*names, "_topic", "_partition", "_offset"]
                               + (["_ingested_at"] if ingested_at else []))


def _marks(findings: Sequence[Finding]) -> set[str]:
    return {hashlib.sha256(f"{f.finding_id}|{f.evidence_json}".encode()).hexdigest() for f in findings}


def _passes(reviewer: FinanceReviewer) -> list[Finding]:
    found, alerts = reviewer.pass_once()
    reviewer.mark_sent(found, alerts)
    return found


def test_finance_review_incremental_equals_the_whole_window(pipeline: Pipeline) -> None:
    start = datetime(2026, 3, 2, tzinfo=STOCKHOLM)
    sim = Simulator(SimConfig(seed=3, scale=0.02, calls=0, payroll=0, complaints=0, cases=0), start)
    events = [e for e in sim.advance(start + timedelta(days=30)) if isinstance(e, InvoicePosting)]
    newest = max(e.posting_date for e in events)
    # The second step: every fifth posting of the last ten days (never one on the newest date, so the window
    # stays where it is and the second pass is incremental).
    later = {e.event_id for i, e in enumerate(events)
             if i % 5 == 2 and newest - timedelta(days=10) <= e.posting_date < newest}
    store = Store(pipeline)
    settings = pipeline.settings
    incremental = FinanceReviewer(settings, pipeline.client)
    whole = FinanceReviewer(settings, pipeline.client, incremental=False)

    # The first step as if stored before the key index existed (migration 0700 applied to a running store):
    # its keys are gone, and the first pass fills them from the postings.
    store.insert([e for e in events if e.event_id not in later], ingested_at=datetime(2026, 1, 1, tzinfo=UTC))
    store.client.command("TRUNCATE TABLE finance_posting_keys")
    first = _passes(incremental)
    assert _marks(_passes(whole)) == _marks(first) and first
    # Plus a payment of the first step paid again (same supplier, invoice and amount, a day later).
    paid = next(e for e in events if e.kind is PostingKind.outgoing_payment and e.event_id not in later
                and e.invoice_number and e.counterparty_id and e.posting_date < newest - timedelta(days=1))
    again = paid.model_copy(update={"event_id": f"{paid.event_id}-again",
                                    "posting_date": paid.posting_date + timedelta(days=1)})
    store.insert([e for e in events if e.event_id in later] + [again])
    second = _passes(incremental)
    # The payment paid again is a duplicate only with its first payment, stored in the first step: found by key.
    assert any(f.rule_id == "ap.duplicate_payment" and again.event_id in f.source_event_ids for f in second)
    assert incremental.last_pass == "keyed"
    # Same findings as the whole-window path on the same two steps, with the same ids and evidence.
    assert sorted(_marks(second)) == sorted(_marks(_passes(whole)))
    assert second, "the second step should change some findings"
    # And what a new leader's pass from scratch sends is all sent by now, nothing else sent in the second pass.
    scratch = _marks(_passes(FinanceReviewer(settings, pipeline.client)))
    assert _marks(second) <= scratch <= _marks(first) | _marks(second)
    assert _passes(incremental) == [] and incremental.last_pass == "none"


def _bank_postings(seed: int, newest: date) -> list[InvoicePosting]:
    """Customer invoices and incoming payments built to probe `bank.likely_unidentified`'s SQL pre-filter:
    exact, partial, over- and double payments, invoices after their payment, credit notes, references with
    blanks around or inside them, invalid and missing OCR numbers, payments from sources the rule skips,
    postings before the window and the invoice horizon, a version stored twice."""
    rnd = random.Random(seed)
    out: list[InvoicePosting] = []
    at = datetime(2026, 1, 1, 9, tzinfo=STOCKHOLM)

    def add(kind: PostingKind, company: str, amount: int, day: date, ref: str | None, source: str = "bgmax") -> None:
        account = "1510" if kind is PostingKind.customer_invoice else "1930"
        out.append(InvoicePosting(
            event_id=f"{kind.value[:2]}-{seed}-{len(out)}", kind=kind, company=company, account=account,
            amount_ore=amount, posting_date=day, reference=ref, source=source,
            recorded_at=at + timedelta(minutes=rnd.randrange(600))))

    for n in range(400):
        company = rnd.choice(("1010", "1020"))
        number = str(7_000_000 + n)
        ocr = number + luhn_check_digit(number)
        spellings = [ocr, ocr, ocr, f" {ocr} ", f"{ocr}\t", f"\xa0{ocr}", f"{ocr[:3]} {ocr[3:]}"]
        amounts = [rnd.choice((10_000, 25_000, 99_900)) for _ in range(rnd.randrange(0, 4))]
        for amount in amounts:
            day = newest - timedelta(days=rnd.randrange(0, 160))
            add(PostingKind.customer_invoice, company, rnd.choice((amount, amount, -amount, 0)), day,
                rnd.choice(spellings))
        for _ in range(rnd.randrange(0, 4)):
            amount = rnd.choice([*amounts, 5_000, 200_000]) if amounts else rnd.choice((5_000, 25_000))
            paid = rnd.choice((amount, amount, amount // 2, amount * 2))
            day = newest - timedelta(days=rnd.randrange(0, 60))
            # Invalid references in half the groups only: one in a group sends the whole group to the rule.
            invalid = [ocr[:-1] + str((int(ocr[-1]) + 1) % 10), None, "", "ABC-1", "7"] if n % 2 else []
            ref = rnd.choice([*spellings, *invalid])
            add(PostingKind.incoming_payment, company, -paid, day, ref,
                source=rnd.choice(("bgmax", "bgmax", "camt054", "agresso")))
    # A version stored twice (same sorting key): counted once.
    out.append(out[0].model_copy(update={"recorded_at": out[0].recorded_at + timedelta(seconds=1)}))
    return out


def test_first_pass_replays_bank_payments_as_the_whole_window(pipeline: Pipeline) -> None:
    newest = date(2026, 6, 30)
    store = Store(pipeline)
    store.insert(_bank_postings(7, newest))
    whole = _passes(FinanceReviewer(pipeline.settings, pipeline.client, incremental=False))
    first = _passes(FinanceReviewer(pipeline.settings, pipeline.client))
    # The SQL pre-filter sends only some payments' reference groups into Python: same findings, ids, evidence.
    assert _marks(first) == _marks(whole)
    reasons = {json.loads(f.evidence_json)["reason"] for f in first if f.rule_id == "bank.likely_unidentified"}
    assert {"no_open_invoice", "ocr_check_digit", "missing_reference", "reference_not_numeric",
            "reference_length"} <= reasons


def test_sla_tick_on_a_snapshot_equals_the_deep_copied_tick(pipeline: Pipeline) -> None:
    start = datetime(2026, 3, 2, 6, tzinfo=STOCKHOLM)
    sim = Simulator(SimConfig(seed=5, scale=0.05, finance=0, payroll=0), start)
    events = [e for e in sim.advance(start + timedelta(days=4))
              if isinstance(e, CallEvent | Complaint | CaseEvent)]
    splits = [start + timedelta(days=1, hours=7), start + timedelta(days=2, hours=5), start + timedelta(days=3)]

    def at(e: Any) -> datetime:
        return e.occurred_at  # type: ignore[no-any-return]

    store = Store(pipeline)
    settings = pipeline.settings
    legacy = {"monitor": SlaMonitor.from_parameters(settings.parameters())}
    reader = SlaReader(settings)
    ticker = SlaTicker(reader, SlaMonitor.from_parameters(settings.parameters()))
    bounds = [datetime.min.replace(tzinfo=UTC), *splits, datetime.max.replace(tzinfo=UTC)]
    steps: list[list[Any]] = [[e for e in events if lo <= at(e) < hi] for lo, hi in itertools.pairwise(bounds)]
    # Then e-mails and cases stored again (a source sending them twice): the kept rows are read from scratch.
    steps.append([e for e in steps[1] if isinstance(e, CaseEvent)
                  or (isinstance(e, CallEvent) and e.channel is Channel.email)][:40])
    steps.append([])  # nothing new
    assert all(steps[:-1])
    produced, reads = 0, []
    for step in steps:
        if step:
            store.insert(step)
        expected = legacy_tick(SlaReader(settings, incremental=False), legacy)
        got = ticker.decide()
        ticker.commit()
        assert [a.model_dump() for a in got] == [a.model_dump() for a in expected]
        produced += len(got)
        reads.append((reader.last_read("call_events"), reader.last_read("cases")))
    assert produced > 0
    assert reads == [("scratch", "scratch"), ("new", "new"), ("new", "new"), ("new", "new"),
                     ("scratch", "scratch"), ("none", "none")], reads
    # A tick whose sends failed is decided again from the same state: the same alerts.
    again = ticker.decide()
    assert [a.alert_id for a in again] == [a.alert_id for a in ticker.decide()]


def test_payroll_wait_needs_every_distinct_line(pipeline: Pipeline) -> None:
    client = pipeline.client()
    run = PayrollRun(event_id="r9:closed", run_id="r9", kind=PayrollRunKind.main, status=PayrollRunStatus.closed,
                     customer="c9", period="2026-03", pay_date=date(2026, 3, 25), line_count=10,
                     occurred_at=datetime(2026, 3, 20, tzinfo=UTC))
    names = ["event_id", "run_id", "line_no", "employee_id", "customer", "pay_type", "category", "amount_ore",
             "occurred_at", "source", "_topic", "_partition", "_offset"]

    def lines(numbers: range, first_offset: int) -> list[list[Any]]:
        return [[f"r9:{n}", "r9", n, f"e{n % 3}", "c9", "11", "gross", 1000 * n, run.occurred_at, "test",
                 "payroll-lines", 0, first_offset + i] for i, n in enumerate(numbers)]

    client.insert("payroll_lines", lines(range(6), 0), column_names=names)
    assert not lines_ready(client, run)
    # The same six lines stored again (a file ingested twice): ten rows, six distinct lines, not ready.
    client.insert("payroll_lines", lines(range(6), 6), column_names=names)
    client.insert("payroll_lines", lines(range(6, 8), 12), column_names=names)
    assert not lines_ready(client, run)
    assert wait_for_lines(client, run, timeout_s=0.3, poll_s=0.05) == stored_line_count(client, run) == 8
    client.insert("payroll_lines", lines(range(8, 10), 14), column_names=names)
    assert lines_ready(client, run)
    assert wait_for_lines(client, run, timeout_s=5) == 10
