"""`ap.benford`: first-digit test (Benford's law) per supplier population, judged by Nigrini's MAD levels.

Nigrini (2012), first-digit test: mean absolute deviation of the observed from the expected proportions of
the digits 1-9 — up to 0.006 close conformity, 0.012 acceptable, 0.015 marginally acceptable, above that
nonconformity. The MAD of a conforming sample still grows as the sample shrinks (about 0.8·√(p(1−p)/n)),
so populations smaller than `min_count` are not judged.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import date, datetime, time

from servicepulse.domain.rules import Rule, build_finding
from servicepulse.domain.zone import STOCKHOLM
from servicepulse.schemas.events import Finding, InvoicePosting, PostingKind

from .rules import BENFORD

__all__ = ["EXPECTED", "benford_findings", "conformity", "first_digit", "mad", "population_finding"]

EXPECTED = {d: math.log10(1 + 1 / d) for d in range(1, 10)}
LEVELS = ((0.006, "close"), (0.012, "acceptable"), (0.015, "marginal"))


def first_digit(amount_ore: int) -> int:
    return int(str(abs(amount_ore))[0])


def mad(counts: Counter[int]) -> float:
    n = sum(counts[d] for d in range(1, 10))
    return sum(abs(counts[d] / n - EXPECTED[d]) for d in range(1, 10)) / 9 if n else 0.0


def conformity(value: float) -> str:
    return next((name for limit, name in LEVELS if value <= limit), "nonconformity")


def benford_findings(postings: Iterable[InvoicePosting], rule: Rule = BENFORD,
                     now: datetime | None = None) -> list[Finding]:
    """One finding per nonconforming population: a company's supplier invoices, or one supplier's."""
    min_count, min_amount, per_supplier = rule["min_count"], rule["min_amount_ore"], rule["per_supplier"]
    populations: dict[tuple[str, str], list[InvoicePosting]] = defaultdict(list)
    for p in postings:
        if p.kind is not PostingKind.supplier_invoice or abs(p.amount_ore) < min_amount:
            continue
        populations[(p.company, "*")].append(p)
        if per_supplier and p.counterparty_id:
            populations[(p.company, p.counterparty_id)].append(p)
    out = []
    for (company, supplier), items in sorted(populations.items()):
        if len(items) < min_count:
            continue
        found = population_finding(rule, company, supplier, Counter(first_digit(p.amount_ore) for p in items),
                                   len(items), min(p.posting_date for p in items),
                                   max(p.posting_date for p in items), now)
        if found is not None:
            out.append(found)
    return out


def population_finding(rule: Rule, company: str, supplier: str, counts: Counter[int], n: int, first: date,
                       last: date, now: datetime | None = None) -> Finding | None:
    """The finding of one population (`supplier` "*" for all of a company's suppliers) from its first-digit
    counts, size and posting-date range, or None when it conforms. The finance review also calls this with
    counts aggregated in ClickHouse."""
    value = mad(counts)
    level = conformity(value)
    if level != "nonconformity":
        return None
    who = "all suppliers" if supplier == "*" else f"supplier {supplier}"
    share = {str(d): round(counts[d] / n, 4) for d in range(1, 10)}
    worst = max(range(1, 10), key=lambda d: abs(share[str(d)] - EXPECTED[d]))
    return build_finding(
        # One finding per population and year; a later run with more invoices replaces its evidence.
        rule, key=(company, supplier, last.year),
        subject_type="supplier_population", subject_id=f"{company}:{supplier}", company=company,
        occurred_at=datetime.combine(last, time(12), STOCKHOLM), detected_at=now or datetime.now(STOCKHOLM),
        summary=f"Supplier invoice amounts of {who} ({company}) do not follow Benford's law: MAD "
                f"{value:.4f} over {n} invoices, digit {worst} at {share[str(worst)]:.1%}",
        evidence={
            "population": supplier, "n": n, "mad": round(value, 6), "level": level,
            "observed": share, "expected": {str(d): round(EXPECTED[d], 4) for d in range(1, 10)},
            "counts": {str(d): counts[d] for d in range(1, 10)}, "from": first.isoformat(), "to": last.isoformat(),
            "thresholds": {"close": 0.006, "acceptable": 0.012, "marginal": 0.015},
        },
    )
