"""The finance controls run over a window of postings: one pure entry point, parameters from settings.

The finance review timer (`streams/readback/finance_review.py`) reads the window from ClickHouse — the exact,
replay-guarded raw table — and the open items from `v_suspense_open_items`, calls `review`, and sends findings
it has not sent before. Reading from the raw table rather than keeping counting state in the worker means a
rebalance, a kill or a replay can neither lose nor double anything; finding ids are deterministic, so a
repeated finding collapses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from servicepulse.config import FinanceSettings
from servicepulse.schemas.events import Finding, InvoicePosting

from .benford import BenfordRule, benford_findings
from .payments import (
    PaymentRules,
    duplicate_payments,
    likely_unidentified,
    new_supplier_four_eyes,
    refund_limit,
    split_invoices,
)
from .suspense import OpenItem, SuspenseAgedRule, aged_findings

__all__ = ["FinanceControls", "review"]


@dataclass(frozen=True)
class FinanceControls:
    payments: PaymentRules = field(default_factory=PaymentRules)
    benford: BenfordRule = field(default_factory=BenfordRule)
    aged: SuspenseAgedRule = field(default_factory=SuspenseAgedRule)

    @classmethod
    def from_settings(cls, conf: FinanceSettings) -> FinanceControls:
        return cls(
            payments=replace(
                PaymentRules(),
                invoice_horizon_days=conf.invoice_horizon_days,
                near_days=conf.near_duplicate_days,
                approval_limit_ore=conf.approval_limit_ore,
                new_supplier_days=conf.new_supplier_days,
                refund_limit_ore=conf.refund_limit_ore,
            ),
            benford=replace(BenfordRule(), min_count=conf.benford_min_count),
            aged=replace(SuspenseAgedRule(), max_working_days=conf.suspense_max_working_days,
                         max_open_ore=conf.suspense_max_open_ore),
        )


def review(postings: Sequence[InvoicePosting], first_seen: Mapping[tuple[str, str], date],
           items: Sequence[OpenItem], controls: FinanceControls, today: date,
           now: datetime | None = None) -> list[Finding]:
    """Every finance finding the window supports; the same input gives the same ids."""
    rules = controls.payments
    return [
        *likely_unidentified(postings, rules, now),
        *duplicate_payments(postings, rules, now),
        *split_invoices(postings, rules, now),
        *new_supplier_four_eyes(postings, first_seen, rules, now),
        *refund_limit(postings, rules, now),
        *benford_findings(postings, controls.benford, now),
        *aged_findings(items, controls.aged, today, now),
    ]
