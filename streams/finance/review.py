"""The finance controls run over a window of postings: one pure entry point, rules from the parameters file.

The finance review timer (`streams/readback/finance_review.py`) reads the window from ClickHouse — the exact,
replay-guarded raw table — and the open items from `v_suspense_open_items`, calls `review`, and sends findings
it has not sent before. Reading from the raw table rather than keeping counting state in the worker means a
rebalance, a kill or a replay can neither lose nor double anything; finding ids are deterministic, so a
repeated finding collapses.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from servicepulse.config import FinanceSettings
from servicepulse.domain.parameters import Parameters, default_parameters
from servicepulse.domain.rules import Rule
from servicepulse.schemas.events import Finding, InvoicePosting

from .benford import benford_findings, population_finding
from .payments import duplicate_payments, likely_unidentified, new_supplier_four_eyes, refund_limit, split_invoices
from .rules import (
    BENFORD,
    DUPLICATE_PAYMENT,
    LIKELY_UNIDENTIFIED,
    NEW_SUPPLIER_FOUR_EYES,
    REFUND_LIMIT,
    SPLIT_INVOICE,
    SUSPENSE_AGED,
)
from .suspense import OpenItem, aged_findings

__all__ = ["BenfordCounts", "FinanceControls", "benford_from_counts", "review"]


@dataclass(frozen=True)
class FinanceControls:
    """The window rules with their parameters (how often and how far back: `ReadbackSettings`)."""

    likely_unidentified: Rule = LIKELY_UNIDENTIFIED
    duplicate_payment: Rule = DUPLICATE_PAYMENT
    split_invoice: Rule = SPLIT_INVOICE
    new_supplier_four_eyes: Rule = NEW_SUPPLIER_FOUR_EYES
    refund_limit: Rule = REFUND_LIMIT
    benford: Rule = BENFORD
    aged: Rule = SUSPENSE_AGED

    @property
    def invoice_horizon_days(self) -> int:
        """How far before the window customer invoices are read (`bank.likely_unidentified`)."""
        return int(self.likely_unidentified["invoice_horizon_days"])

    @classmethod
    def from_settings(cls, conf: FinanceSettings, parameters: Parameters | None = None) -> FinanceControls:
        """The window rules with `parameters` (default: the parameters file); `conf` is the finance settings group."""
        p = parameters or default_parameters()
        return cls(
            likely_unidentified=LIKELY_UNIDENTIFIED.using(p),
            duplicate_payment=DUPLICATE_PAYMENT.using(p),
            split_invoice=SPLIT_INVOICE.using(p),
            new_supplier_four_eyes=NEW_SUPPLIER_FOUR_EYES.using(p),
            refund_limit=REFUND_LIMIT.using(p),
            benford=BENFORD.using(p),
            aged=SUSPENSE_AGED.using(p),
        )


def review(postings: Sequence[InvoicePosting], first_seen: Mapping[tuple[str, str], date],
           items: Sequence[OpenItem], controls: FinanceControls, today: date,
           now: datetime | None = None) -> list[Finding]:
    """Every finance finding the window supports; the same input gives the same ids."""
    return [
        *likely_unidentified(postings, controls.likely_unidentified, now),
        *duplicate_payments(postings, controls.duplicate_payment, now),
        *split_invoices(postings, controls.split_invoice, now),
        *new_supplier_four_eyes(postings, first_seen, controls.new_supplier_four_eyes, now),
        *refund_limit(postings, controls.refund_limit, now),
        *benford_findings(postings, controls.benford, now),
        *aged_findings(items, controls.aged, today, now),
    ]


@dataclass(frozen=True)
class BenfordCounts:
    """`ap.benford`'s input for one company and supplier id (None: invoices without one), aggregated in
    ClickHouse: invoices at or above the minimum amount, per first digit 0-9, and their posting-date range."""

    company: str
    supplier: str | None
    n: int
    digits: tuple[int, ...]
    first: date
    last: date


def benford_from_counts(groups: Iterable[BenfordCounts], rule: Rule = BENFORD,
                        now: datetime | None = None) -> list[Finding]:
    """The findings `benford_findings` gives on the postings these counts were aggregated from: the company's
    population is the sum of its groups, a supplier's its own group (when `per_supplier` and it has an id)."""
    populations: dict[tuple[str, str], list[BenfordCounts]] = {}
    for g in groups:
        populations.setdefault((g.company, "*"), []).append(g)
        if rule["per_supplier"] and g.supplier:
            populations.setdefault((g.company, g.supplier), []).append(g)
    out = []
    for (company, supplier), parts in sorted(populations.items()):
        n = sum(g.n for g in parts)
        if n < rule["min_count"]:
            continue
        counts: Counter[int] = Counter()
        for g in parts:
            for digit, count in enumerate(g.digits):
                if count:
                    counts[digit] += count
        found = population_finding(rule, company, supplier, counts, n, min(g.first for g in parts),
                                   max(g.last for g in parts), now)
        if found is not None:
            out.append(found)
    return out
