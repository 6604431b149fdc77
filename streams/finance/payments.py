"""Payment controls as pure functions: postings in (a window read from the exact raw table), findings out.

Rules (declared with their parameters in `rules.py`):

- `bank.likely_unidentified`: an incoming bank payment whose reference is missing, is not a valid OCR
  number (Luhn mod 10; with the length digit when `ocr_length_digit`) or matches no open customer invoice of
  the same company, flagged before anyone books it to 9894. Invoices and payments are replayed in order
  (posting date, recorded time, event id); a payment reduces its invoice's open amount.
- `ap.duplicate_payment`: exact — same company, supplier, invoice number and amount paid twice; near — same
  company, supplier and amount within `near_days` days under another but similar invoice number
  (`similar_invoice`: equal without separators and leading zeros, a prefix, or one character apart). A
  returned payment (a negative outgoing payment: the bank sent it back) cancels the payment it returns, so
  paying the invoice again is no duplicate.
- `ap.split_invoice`: one supplier's invoices on one day, approved by the same approver, each within the
  approval limit but together above it.
- `ap.new_supplier_four_eyes`: a payment to a supplier first seen at most `new_supplier_days` before it,
  made by one person alone: a manual payment without an approver other than its registrar, or an invoice
  approved by nobody or by the person who registered it.
- `ar.refund_limit`: a customer-ledger credit note (cancellation, *makulering*) or a refund paid out from the
  customer ledger above `refund_limit_ore`.

Suppliers are matched by name when one is given, else by id: `supplier_key` folds case, "&" to "och",
drops punctuation and legal-form words (AB, Aktiebolag, HB, KB, publ, Ltd, ...), so "Städbolaget i Norr AB"
and "STÄDBOLAGET I NORR (publ)" are one supplier even under two supplier ids — the classic way a duplicate
payment happens.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta

from servicepulse.connectors.ingest.ocr import ocr_problem
from servicepulse.domain.money import format_amount
from servicepulse.domain.personal_data import redact
from servicepulse.domain.rules import Rule, build_finding
from servicepulse.domain.zone import STOCKHOLM
from servicepulse.schemas.events import Finding, InvoicePosting, PostingKind, Severity

from .rules import DUPLICATE_PAYMENT, LIKELY_UNIDENTIFIED, NEW_SUPPLIER_FOUR_EYES, REFUND_LIMIT, SPLIT_INVOICE

__all__ = [
    "duplicate_payments",
    "likely_unidentified",
    "new_supplier_four_eyes",
    "refund_limit",
    "similar_invoice",
    "split_invoices",
    "supplier_key",
]

_LEGAL = frozenset({"ab", "aktiebolag", "hb", "handelsbolag", "kb", "kommanditbolag", "ek", "för", "ekonomisk",
                    "förening", "publ", "ltd", "limited", "oy", "as", "asa", "gmbh", "inc", "llc", "bv", "sa"})
CUSTOMER_LEDGER = "1510"


def supplier_key(p: InvoicePosting) -> str:
    if p.counterparty_name:
        words = re.sub(r"[^\w\s]", " ", p.counterparty_name.casefold().replace("&", " och ")).split()
        words = [w for w in words if w not in _LEGAL]
        if words:
            return "name:" + " ".join(words)
    return "id:" + (p.counterparty_id or "?")


def _norm_invoice(number: str | None) -> str:
    return re.sub(r"[^0-9A-Z]", "", (number or "").upper()).lstrip("0")


def similar_invoice(a: str | None, b: str | None) -> bool:
    """Invoice numbers that are probably the same invoice typed twice: equal after dropping separators and
    leading zeros, one a prefix of the other ("SN-2201" / "SN2201B"), or one character apart."""
    x, y = _norm_invoice(a), _norm_invoice(b)
    if not x or not y:
        return True  # a missing number proves nothing either way
    if x == y or x.startswith(y) or y.startswith(x):
        return True
    if abs(len(x) - len(y)) > 1:
        return False
    if len(x) == len(y):
        return sum(c != d for c, d in zip(x, y, strict=True)) <= 1
    short, long_ = sorted((x, y), key=len)
    return any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))


def _order(p: InvoicePosting) -> tuple[date, datetime, str]:
    return p.posting_date, p.recorded_at, p.event_id


def _at(day: date) -> datetime:
    return datetime.combine(day, time(12), STOCKHOLM)


def _finding(rule: Rule, key: Sequence[object], severity: Severity, subject_type: str, subject_id: str,
             company: str, day: date, summary: str, doc: dict[str, object], sources: list[str],
             now: datetime | None) -> Finding:
    return build_finding(rule, key=key, severity=severity, subject_type=subject_type, subject_id=subject_id,
                         company=company, occurred_at=_at(day), detected_at=now or datetime.now(STOCKHOLM),
                         summary=summary, evidence=doc, source_event_ids=sources)


def likely_unidentified(postings: Iterable[InvoicePosting], rule: Rule = LIKELY_UNIDENTIFIED,
                        now: datetime | None = None) -> list[Finding]:
    bank_sources, length_digit = rule["bank_sources"], rule["ocr_length_digit"]
    horizon = timedelta(days=rule["invoice_horizon_days"])
    events = sorted((p for p in postings if p.kind in (PostingKind.customer_invoice, PostingKind.incoming_payment)),
                    key=_order)
    history_from = min((p.posting_date for p in events if p.kind is PostingKind.customer_invoice), default=None)
    open_ore: dict[tuple[str, str], int] = {}
    invoice_of: dict[tuple[str, str], str] = {}
    out = []
    for p in events:
        ref = (p.reference or "").strip()
        if p.kind is PostingKind.customer_invoice:
            if ref and p.amount_ore > 0:
                open_ore[(p.company, ref)] = open_ore.get((p.company, ref), 0) + p.amount_ore
                invoice_of[(p.company, ref)] = p.event_id
            continue
        if p.source not in bank_sources:
            continue
        amount = abs(p.amount_ore)
        reason = ocr_problem(ref, length_digit=length_digit)
        if reason is None:
            remaining = open_ore.get((p.company, ref), 0)
            if remaining > 0:
                open_ore[(p.company, ref)] = remaining - amount
                continue
            covered = history_from is not None and history_from <= p.posting_date - horizon
            if not covered:
                continue
            reason = "no_open_invoice"
        out.append(_finding(
            rule, (p.event_id, reason), rule.severity, "payment", p.event_id, p.company, p.posting_date,
            f"Incoming payment of {format_amount(amount)} {p.currency} ({p.company}) is likely unidentified: {reason}",
            # Reference and bank text are redacted again here (the importers already keep free remittance text
            # out): evidence is shown to auditors and in alerts, never a personnummer.
            {"reason": reason, "reference": redact(ref) or None, "amount_ore": amount,
             "posting_date": p.posting_date.isoformat(), "source": p.source, "account": p.account,
             "bank_text": redact(p.text) if p.text else p.text,
             "invoice_history_from": history_from.isoformat() if history_from else None,
             "matched_invoice_event": invoice_of.get((p.company, ref))},
            [p.event_id], now))
    return out


def duplicate_payments(postings: Iterable[InvoicePosting], rule: Rule = DUPLICATE_PAYMENT,
                       now: datetime | None = None) -> list[Finding]:
    near_days = rule["near_days"]
    exact: dict[tuple[str, str, str, int], InvoicePosting] = {}
    recent: dict[tuple[str, str, int], list[InvoicePosting]] = defaultdict(list)
    out = []
    for p in sorted((p for p in postings if p.kind is PostingKind.outgoing_payment), key=_order):
        supplier, amount = supplier_key(p), abs(p.amount_ore)
        invoice = (p.invoice_number or "").strip()
        if p.amount_ore < 0:
            # A payment returned by the bank (or cancelled) reverses the earlier one: paying again is no duplicate.
            _forget(exact, recent, p.company, supplier, invoice, amount)
            continue
        first = exact.get((p.company, supplier, invoice, amount)) if invoice else None
        match, kind = (first, "exact") if first is not None else (None, "")
        if match is None:
            window = [q for q in recent[(p.company, supplier, amount)]
                      if (p.posting_date - q.posting_date).days <= near_days
                      and (q.invoice_number or "") != invoice and similar_invoice(q.invoice_number, invoice)]
            if window:
                match, kind = window[-1], "near"
        if match is not None:
            out.append(_finding(
                rule, (p.event_id, kind),
                Severity.high if kind == "exact" else Severity.medium, "payment", p.event_id, p.company, p.posting_date,
                f"Possible {kind} duplicate payment of {format_amount(amount)} SEK to supplier "
                f"{p.counterparty_id or '?'} ({p.company})",
                {"match": kind, "supplier_key": supplier, "amount_ore": amount,
                 "payment": {"event_id": p.event_id, "date": p.posting_date.isoformat(), "invoice": invoice,
                             "supplier_id": p.counterparty_id},
                 "earlier": {"event_id": match.event_id, "date": match.posting_date.isoformat(),
                             "invoice": match.invoice_number, "supplier_id": match.counterparty_id},
                 "near_days": near_days},
                [match.event_id, p.event_id], now))
        if invoice:
            exact.setdefault((p.company, supplier, invoice, amount), p)
        recent[(p.company, supplier, amount)].append(p)
    return out


def _forget(exact: dict[tuple[str, str, str, int], InvoicePosting],
            recent: dict[tuple[str, str, int], list[InvoicePosting]], company: str, supplier: str, invoice: str,
            amount: int) -> None:
    returned = exact.pop((company, supplier, invoice, amount), None) if invoice else None
    window = recent.get((company, supplier, amount), [])
    if returned is None and window:
        returned = window[-1]
    if returned is not None and returned in window:
        window.remove(returned)


def _gross(p: InvoicePosting) -> int:
    # A supplier invoice credits the supplier ledger (negative); a credit note debits it.
    return -p.amount_ore


def split_invoices(postings: Iterable[InvoicePosting], rule: Rule = SPLIT_INVOICE,
                   now: datetime | None = None) -> list[Finding]:
    limit = rule["approval_limit_ore"]
    groups: dict[tuple[str, str, date, str], list[InvoicePosting]] = defaultdict(list)
    for p in postings:
        if p.kind is PostingKind.supplier_invoice and _gross(p) > 0 and p.approved_by:
            groups[(p.company, supplier_key(p), p.document_date or p.posting_date, p.approved_by)].append(p)
    out = []
    for (company, supplier, day, approver), items in sorted(groups.items()):
        items = sorted(items, key=_order)
        total = sum(_gross(p) for p in items)
        if len(items) < 2 or total <= limit or any(_gross(p) > limit for p in items):
            continue
        out.append(_finding(
            rule, (company, supplier, day, approver), rule.severity, "supplier",
            f"{company}:{items[0].counterparty_id or supplier}", company, day,
            f"{len(items)} invoices from supplier {items[0].counterparty_id or '?'} on {day} approved by "
            f"{approver}, {format_amount(total)} SEK together, each within the {format_amount(limit, 0)} limit",
            {"supplier_key": supplier, "day": day.isoformat(), "approved_by": approver, "total_ore": total,
             "approval_limit_ore": limit,
             "invoices": [{"event_id": p.event_id, "invoice": p.invoice_number, "amount_ore": _gross(p)}
                          for p in items]},
            [p.event_id for p in items], now))
    return out


def new_supplier_four_eyes(postings: Iterable[InvoicePosting], first_seen: Mapping[tuple[str, str], date],
                           rule: Rule = NEW_SUPPLIER_FOUR_EYES, now: datetime | None = None) -> list[Finding]:
    """`first_seen`: (company, supplier id) -> first invoice or payment date over the whole history.

    A payment to a supplier first seen at most `new_supplier_days` before it needs two people: on a manual
    payment (one with a registrar; payment-run payments have none) an approver other than the registrar, and
    on its invoice, when there is one, likewise.
    """
    new_days = rule["new_supplier_days"]
    postings = list(postings)
    invoices: dict[tuple[str, str, str | None], InvoicePosting] = {
        (p.company, p.counterparty_id, p.invoice_number): p for p in postings
        if p.kind is PostingKind.supplier_invoice and p.counterparty_id and p.invoice_number}
    out = []
    for pay in sorted((p for p in postings if p.kind is PostingKind.outgoing_payment), key=_order):
        # A returned payment (negative) moves no money out: it needs no second approver.
        if not pay.counterparty_id or pay.account == CUSTOMER_LEDGER or pay.amount_ore < 0:
            continue
        seen = first_seen.get((pay.company, pay.counterparty_id), pay.posting_date)
        if (pay.posting_date - seen).days > new_days:
            continue
        inv = invoices.get((pay.company, pay.counterparty_id, pay.invoice_number))
        problems = []
        if pay.registered_by and pay.approved_by in (None, "", pay.registered_by):
            problems.append("manual_payment_" + ("no_approver" if not pay.approved_by else "approver_is_registrar"))
        if inv is not None and inv.approved_by in (None, "", inv.registered_by):
            problems.append("invoice_" + ("no_approver" if not inv.approved_by else "approver_is_registrar"))
        if not problems:
            continue
        out.append(_finding(
            rule, (pay.event_id,), rule.severity, "payment", pay.event_id, pay.company, pay.posting_date,
            f"Payment of {format_amount(abs(pay.amount_ore))} SEK to new supplier {pay.counterparty_id} "
            f"({pay.company}) without a second approver: {', '.join(problems)}",
            {"problems": problems, "supplier_id": pay.counterparty_id, "supplier_first_seen": seen.isoformat(),
             "new_supplier_days": new_days, "payment_registered_by": pay.registered_by,
             "payment_approved_by": pay.approved_by, "invoice_event": inv.event_id if inv else None,
             "invoice": pay.invoice_number, "invoice_registered_by": inv.registered_by if inv else None,
             "invoice_approved_by": inv.approved_by if inv else None, "amount_ore": abs(pay.amount_ore)},
            [e for e in (inv.event_id if inv else None, pay.event_id) if e], now))
    return out


def refund_limit(postings: Iterable[InvoicePosting], rule: Rule = REFUND_LIMIT,
                 now: datetime | None = None) -> list[Finding]:
    limit = rule["refund_limit_ore"]
    out = []
    for p in sorted(postings, key=_order):
        credit_note = p.kind is PostingKind.customer_invoice and p.amount_ore < 0
        refund = p.kind is PostingKind.outgoing_payment and p.account == CUSTOMER_LEDGER
        if not (credit_note or refund) or abs(p.amount_ore) <= limit:
            continue
        what = "credit note (cancellation)" if credit_note else "refund"
        out.append(_finding(
            rule, (p.event_id,), rule.severity, "voucher", p.event_id, p.company, p.posting_date,
            f"Customer-ledger {what} of {format_amount(abs(p.amount_ore))} SEK ({p.company}) above the "
            f"{format_amount(limit, 0)} SEK limit",
            {"what": what, "amount_ore": abs(p.amount_ore), "limit_ore": limit,
             "customer_id": p.counterparty_id, "invoice": p.invoice_number, "registered_by": p.registered_by,
             "approved_by": p.approved_by, "voucher_series": p.voucher_series, "voucher_number": p.voucher_number},
            [p.event_id], now))
    return out
