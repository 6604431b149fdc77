"""Payment controls: each rule on hand-made cases, every planted simulator case found, nothing on clean data."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest

from servicepulse.domain.calendar import STOCKHOLM
from servicepulse.schemas.events import InvoicePosting, PostingKind
from servicepulse.simulator.engine import SimConfig, Simulator
from servicepulse.simulator.finance import planted_cases
from servicepulse.streams.finance.benford import benford_findings, conformity, mad
from servicepulse.streams.finance.payments import (
    duplicate_payments,
    likely_unidentified,
    new_supplier_four_eyes,
    refund_limit,
    similar_invoice,
    split_invoices,
    supplier_key,
)
from servicepulse.streams.finance.review import FinanceControls, review
from servicepulse.streams.finance.rules import (
    BENFORD,
    DUPLICATE_PAYMENT,
    LIKELY_UNIDENTIFIED,
    NEW_SUPPLIER_FOUR_EYES,
    REFUND_LIMIT,
    SPLIT_INVOICE,
)
from servicepulse.streams.finance.suspense import open_items

UNIDENTIFIED = LIKELY_UNIDENTIFIED.with_values(invoice_horizon_days=0)
D = date(2026, 3, 10)
PAYABLES = "2440"
_n = iter(range(1_000_000))


def post(kind: PostingKind, ore: int, day: date = D, account: str = PAYABLES, **kw: object) -> InvoicePosting:
    base: dict[str, object] = {"event_id": f"p{next(_n)}", "kind": kind, "company": "1010", "account": account,
                               "amount_ore": ore, "posting_date": day,
                               "recorded_at": datetime(day.year, day.month, day.day, 9, tzinfo=UTC)}
    return InvoicePosting(**(base | kw))


def pay(ore: int, day: date = D, **kw: object) -> InvoicePosting:
    return post(PostingKind.outgoing_payment, ore, day, PAYABLES, **kw)


def inv(ore: int, day: date = D, **kw: object) -> InvoicePosting:
    return post(PostingKind.supplier_invoice, -ore, day, PAYABLES, document_date=day, **kw)


def test_likely_unidentified_reasons() -> None:
    invoice = post(PostingKind.customer_invoice, 50_000, D - timedelta(days=20), "1510", reference="400100129")
    bank = {"source": "bgmax", "account": "1930"}
    ok = post(PostingKind.incoming_payment, 50_000, D, reference="400100129", **bank)
    again = post(PostingKind.incoming_payment, 50_000, D + timedelta(days=1), reference="400100129", **bank)
    missing = post(PostingKind.incoming_payment, 10_000, D, **bank)
    bad = post(PostingKind.incoming_payment, 10_000, D, reference="400100126", **bank)
    ledger = post(PostingKind.incoming_payment, -10_000, D, account="1510", source="agresso")  # not a bank file
    found = likely_unidentified([again, bad, invoice, ok, missing, ledger], UNIDENTIFIED)
    reasons = {f.subject_id: json.loads(f.evidence_json)["reason"] for f in found}
    # The first payment settles the invoice; the second on the same reference finds it no longer open.
    assert reasons == {again.event_id: "no_open_invoice", missing.event_id: "missing_reference",
                       bad.event_id: "ocr_check_digit"}
    assert {f.rule_id for f in found} == {"bank.likely_unidentified"}
    # Without invoice history long enough before the payment, "no open invoice" is not claimed.
    assert {json.loads(f.evidence_json)["reason"] for f in likely_unidentified(
        [invoice, ok, again], LIKELY_UNIDENTIFIED.with_values(invoice_horizon_days=100))} == set()


def test_duplicate_exact_and_near_with_name_matching() -> None:
    a = pay(1_000_000, counterparty_id="L1", counterparty_name="Städbolaget i Norr AB", invoice_number="F1")
    exact = pay(1_000_000, D + timedelta(days=9), counterparty_id="L1", counterparty_name="Städbolaget i Norr AB",
                invoice_number="F1")
    near = pay(1_000_000, D + timedelta(days=3), counterparty_id="L2",
               counterparty_name="STÄDBOLAGET I NORR (publ)", invoice_number="F2")
    far = pay(1_000_000, D + timedelta(days=30), counterparty_id="L1", counterparty_name="Städbolaget i Norr AB",
              invoice_number="F3")
    other = pay(1_000_000, D, counterparty_id="L3", counterparty_name="Norrbygg AB", invoice_number="F1")
    found = duplicate_payments([a, exact, near, far, other], DUPLICATE_PAYMENT)
    assert sorted((f.subject_id, json.loads(f.evidence_json)["match"]) for f in found) == sorted(
        [(near.event_id, "near"), (exact.event_id, "exact")])
    assert supplier_key(a) == supplier_key(near) == "name:städbolaget i norr"
    # Same supplier and amount within the days but an unrelated invoice number: an ordinary repeat order.
    repeat = pay(1_000_000, D + timedelta(days=2), counterparty_id="L1", counterparty_name="Städbolaget i Norr AB",
                 invoice_number="77123")
    assert [f.subject_id for f in duplicate_payments([a, repeat], DUPLICATE_PAYMENT)] == []
    assert similar_invoice("SN-2201", "SN2201B") and similar_invoice("000123", "123")
    assert similar_invoice("F-1234", "F-1284") and not similar_invoice("F1234", "F5678")
    assert supplier_key(pay(1, counterparty_id="L9")) == "id:L9"


def test_split_invoice_needs_same_approver_and_sum_over_limit() -> None:
    s = {"counterparty_id": "L3", "counterparty_name": "Byggservice Söder AB", "approved_by": "AT-1"}
    parts = [inv(2_000_000, D, **s), inv(2_200_000, D, **s), inv(2_400_000, D, **s)]
    found = split_invoices([*parts, inv(2_000_000, counterparty_id="L3", approved_by="AT-2")], SPLIT_INVOICE)
    assert len(found) == 1 and json.loads(found[0].evidence_json)["total_ore"] == 6_600_000
    assert set(found[0].source_event_ids) == {p.event_id for p in parts}
    assert split_invoices(parts[:2], SPLIT_INVOICE) == []  # 42 000 SEK: within the limit
    # one was over the limit anyway
    assert split_invoices([inv(6_000_000, D, **s), inv(100_000, D, **s)], SPLIT_INVOICE) == []


def test_new_supplier_four_eyes() -> None:
    same = inv(900_000, counterparty_id="L4", invoice_number="N1", registered_by="EK-1", approved_by="EK-1")
    none = inv(900_000, counterparty_id="L5", invoice_number="N2", registered_by="EK-1")
    good = inv(900_000, counterparty_id="L6", invoice_number="N3", registered_by="EK-1", approved_by="AT-9")
    old = inv(900_000, counterparty_id="L7", invoice_number="N4", registered_by="EK-1", approved_by="EK-1")
    unpaid = inv(900_000, counterparty_id="L8", invoice_number="N5", registered_by="EK-1", approved_by="EK-1")
    pays = [pay(900_000, D + timedelta(days=1), counterparty_id=i.counterparty_id, invoice_number=i.invoice_number)
            for i in (same, none, good, old)]
    manual = pay(500_000, D, counterparty_id="L9", invoice_number="X1", registered_by="EK-2", approved_by="EK-2")
    manual_ok = pay(500_000, D, counterparty_id="L10", invoice_number="X2", registered_by="EK-2", approved_by="EK-3")
    first = {("1010", "L4"): D, ("1010", "L5"): D - timedelta(days=10), ("1010", "L6"): D,
             ("1010", "L7"): D - timedelta(days=400), ("1010", "L8"): D}
    found = new_supplier_four_eyes([same, none, good, old, unpaid, *pays, manual, manual_ok], first,
                                   NEW_SUPPLIER_FOUR_EYES)
    assert sorted((f.subject_id, tuple(json.loads(f.evidence_json)["problems"])) for f in found) == sorted([
        (pays[0].event_id, ("invoice_approver_is_registrar",)), (pays[1].event_id, ("invoice_no_approver",)),
        (manual.event_id, ("manual_payment_approver_is_registrar",))])


def test_refund_limit() -> None:
    credit = post(PostingKind.customer_invoice, -3_000_000, account="1510")
    refund = post(PostingKind.outgoing_payment, 2_600_000, account="1510")
    small = post(PostingKind.customer_invoice, -2_500_000, account="1510")  # at the limit: not above
    supplier = post(PostingKind.outgoing_payment, 9_000_000, account="2440")
    found = refund_limit([credit, refund, small, supplier], REFUND_LIMIT)
    assert [f.subject_id for f in found] == [credit.event_id, refund.event_id]


def test_benford_levels_and_findings() -> None:
    conforming = Counter({1: 301, 2: 176, 3: 125, 4: 97, 5: 79, 6: 67, 7: 58, 8: 51, 9: 46})
    assert mad(conforming) < 0.006 and conformity(mad(conforming)) == "close"
    assert [conformity(x) for x in (0.006, 0.0121, 0.015, 0.0151)] == [
        "close", "marginal", "marginal", "nonconformity"]
    rule = BENFORD.with_values(min_count=100)
    bent = [inv(4_500_000 + 997 * i, counterparty_id="L7") for i in range(120)]
    found = benford_findings(bent, rule)
    assert {f.subject_id for f in found} == {"1010:*", "1010:L7"}
    doc = json.loads(found[0].evidence_json)
    assert doc["n"] == 120 and doc["level"] == "nonconformity" and doc["counts"]["4"] == 120
    assert benford_findings(bent[:99], rule) == []  # too few to judge


@pytest.fixture(scope="module")
def simulated() -> tuple[list[InvoicePosting], date]:
    start = datetime(2026, 3, 2, 0, 0, tzinfo=STOCKHOLM)
    sim = Simulator(SimConfig(seed=3, scale=0.02, calls=0, payroll=0, complaints=0), start)
    end = start + timedelta(days=30)
    events = [e for e in sim.advance(end) if isinstance(e, InvoicePosting)]
    return events, end.date()


def test_every_planted_case_is_found(simulated: tuple[list[InvoicePosting], date]) -> None:
    events, today = simulated
    controls = FinanceControls(benford=BENFORD.with_values(min_count=1000))
    found = review(events, first_seen(events), open_items(events), controls, today)
    got = {(f.rule_id, f.subject_id) for f in found}
    cases = planted_cases(date(2026, 3, 2))
    assert {c.rule_id for c in cases} == {"ap.duplicate_payment", "ap.split_invoice", "ap.new_supplier_four_eyes",
                                          "ar.refund_limit", "ap.benford", "gl.suspense_aged",
                                          "bank.likely_unidentified"}
    missing = [c for c in cases if (c.rule_id, c.subject_id) not in got]
    assert missing == []
    # Payment controls find nothing beyond the planted cases (and the company population the Benford
    # supplier dominates).
    payment_rules = {"ap.duplicate_payment", "ap.split_invoice", "ap.new_supplier_four_eyes", "ar.refund_limit",
                     "ap.benford"}
    extra = {g for g in got if g[0] in payment_rules} - {(c.rule_id, c.subject_id) for c in cases}
    assert extra <= {("ap.benford", "1010:*")}
    # Every unidentified payment the simulator booked to 9894 is flagged, and nothing else.
    truth = {e.event_id for e in events if e.kind is PostingKind.incoming_payment and e.account == "9894"}
    assert truth and {s for r, s in got if r == "bank.likely_unidentified"} == truth


def test_open_items_match_the_simulated_rebookings(simulated: tuple[list[InvoicePosting], date]) -> None:
    events, _ = simulated
    # The simulator re-books with a memorial voucher (M) of the same company and number as the payment (B).
    rebooked = {(e.company, e.voucher_number) for e in events if e.voucher_series == "M"}
    truth = {(e.company, e.account, e.voucher_number) for e in events
             if e.account in ("9894", "9896") and e.amount_ore < 0 and (e.company, e.voucher_number) not in rebooked}
    assert len(truth) > 10
    assert {(i.company, i.account, i.voucher_number) for i in open_items(events)} == truth


def test_no_finding_on_clean_data(simulated: tuple[list[InvoicePosting], date]) -> None:
    events, today = simulated
    # Clean: without the planted cases (voucher numbers starting with 9) and without the payments the
    # simulator deliberately leaves unidentified (9894/9896) and their re-bookings.
    suspense = {e.voucher_number for e in events if e.account in ("9894", "9896")}
    clean = [e for e in events if not (e.voucher_number or "").startswith("9") and e.voucher_number not in suspense]
    assert len(clean) > 5000
    found = review(clean, first_seen(clean), open_items(clean), FinanceControls(), today)
    assert found == []


def first_seen(events: list[InvoicePosting]) -> dict[tuple[str, str], date]:
    out: dict[tuple[str, str], date] = {}
    for e in events:
        if e.kind in (PostingKind.supplier_invoice, PostingKind.outgoing_payment) and e.counterparty_id:
            key = (e.company, e.counterparty_id)
            out[key] = min(out.get(key, e.posting_date), e.posting_date)
    return out
