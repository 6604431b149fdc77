"""The finance rules: every finance `Rule` declared once, and the per-event check `suspense_posting`.

The window checks live in modules named for what they look at: `payments.py` (bank and supplier payments,
refunds), `benford.py` (first digits of supplier invoices), `suspense.py` (account 9894 followed to clearing);
`review.py` runs them all over one window.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time

from servicepulse.domain.rules import Rule, build_finding, declare
from servicepulse.domain.zone import STOCKHOLM
from servicepulse.schemas.events import Finding, InvoicePosting, PostingKind, Severity

__all__ = [
    "BENFORD",
    "DUPLICATE_PAYMENT",
    "LIKELY_UNIDENTIFIED",
    "NEW_SUPPLIER_FOUR_EYES",
    "REFUND_LIMIT",
    "RULES",
    "SPLIT_INVOICE",
    "SUSPENSE_AGED",
    "SUSPENSE_POSTING",
    "suspense_posting",
]

SUSPENSE_POSTING = declare(
    "gl.suspense_posting", Severity.low,
    "Every posting to a suspense account (`accounts`): a credit there is money in whose owner is unknown; a "
    "memorial voucher naming an earlier voucher (a reversed re-booking) is a correction, not new money.")
# The reference a re-booking or its reversal carries (the same pattern as `suspense.REFERENCE`).
_VOUCHER_REFERENCE = re.compile(r"(?i)\bver\s+([A-Za-z]{1,3})\s*(\d+)")
SUSPENSE_AGED = declare(
    "gl.suspense_aged", Severity.medium,
    "An open item on a suspense account older than `max_working_days` working days or above `max_open_ore` "
    "(high for the amount or past three times the age limit); team-chat alert raised and resolved.")
LIKELY_UNIDENTIFIED = declare(
    "bank.likely_unidentified", Severity.medium,
    "An incoming bank payment whose reference is missing, is not a valid OCR number or matches no open customer "
    "invoice of the same company, flagged before anyone books it to 9894.")
DUPLICATE_PAYMENT = declare(
    "ap.duplicate_payment", Severity.high,
    "The same supplier paid twice: exact (same invoice number and amount, high) or near (same amount within "
    "`near_days` days under a similar invoice number, medium).")
SPLIT_INVOICE = declare(
    "ap.split_invoice", Severity.high,
    "One supplier's invoices of one day approved by one approver, each within `approval_limit_ore`, together "
    "above it.")
NEW_SUPPLIER_FOUR_EYES = declare(
    "ap.new_supplier_four_eyes", Severity.high,
    "A payment to a supplier first seen at most `new_supplier_days` before it, made or approved by one person "
    "alone.")
REFUND_LIMIT = declare(
    "ar.refund_limit", Severity.medium,
    "A customer-ledger credit note (makulering) or refund above `refund_limit_ore`.")
BENFORD = declare(
    "ap.benford", Severity.medium,
    "Supplier invoice amounts of a company (and of each large supplier) whose first digits do not follow "
    "Benford's law (Nigrini's MAD above 0.015) over at least `min_count` invoices.")
RULES: tuple[Rule, ...] = (SUSPENSE_POSTING, SUSPENSE_AGED, LIKELY_UNIDENTIFIED, DUPLICATE_PAYMENT, SPLIT_INVOICE,
                           NEW_SUPPLIER_FOUR_EYES, REFUND_LIMIT, BENFORD)
"""The finance rules, with their defaults from the parameters file."""


def suspense_posting(
    posting: InvoicePosting, rule: Rule = SUSPENSE_POSTING, now: datetime | None = None
) -> Finding | None:
    # A payment booked to 9894 is a credit on the suspense account (money in, owner unknown); the
    # re-booking that clears it is the opposite sign and is not itself a finding.
    accounts = rule["accounts"]
    if posting.account not in accounts or posting.amount_ore >= 0:
        return None
    if posting.kind is PostingKind.ledger_posting and _VOUCHER_REFERENCE.search(posting.text or ""):
        # A memorial voucher naming an earlier voucher ("Återföring av ver M 4711") corrects a re-booking: the
        # money came in once and was flagged then.
        return None
    voucher = f"{posting.voucher_series or ''}{posting.voucher_number or ''}" or posting.event_id
    return build_finding(
        rule,
        key=(posting.event_id,),
        subject_type="voucher",
        subject_id=f"{posting.company}:{voucher}",
        company=posting.company,
        occurred_at=datetime.combine(posting.posting_date, time(12), STOCKHOLM),
        detected_at=now or datetime.now(UTC),
        summary=f"Unidentified payment of {abs(posting.amount):.2f} {posting.currency} on account "
        f"{posting.account} (company {posting.company})",
        evidence={
            "account": posting.account,
            "amount_ore": posting.amount_ore,
            "posting_date": posting.posting_date.isoformat(),
            "voucher_series": posting.voucher_series,
            "voucher_number": posting.voucher_number,
            "reference": posting.reference,
            "text": posting.text,
            "accounts_watched": sorted(accounts),
        },
        source_event_ids=[posting.event_id],
    )
