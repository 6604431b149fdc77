"""`bank.likely_unidentified` decides each payment from its own reference group: the finance review's first pass
relies on it (finance_filtered_postings.sql sends only the groups of candidate payments, grouped by company and
the reference's ASCII digits, plus the window's oldest customer invoice), so the rule over any set of whole
groups must find exactly what it finds over everything, restricted to those groups."""

from __future__ import annotations

import random
import re
from datetime import date, datetime, timedelta

from servicepulse.connectors.ingest.ocr import luhn_check_digit
from servicepulse.domain.zone import STOCKHOLM
from servicepulse.schemas.events import InvoicePosting, PostingKind
from servicepulse.streams.finance.payments import likely_unidentified

NEWEST = date(2026, 6, 30)
END = datetime(2026, 7, 1, tzinfo=STOCKHOLM)


def _postings(seed: int) -> list[InvoicePosting]:
    rnd = random.Random(seed)
    out: list[InvoicePosting] = []
    for n in range(150):
        number = str(5_000_000 + n)
        ocr = number + luhn_check_digit(number)
        spellings = [ocr, ocr, f" {ocr} ", f"{ocr}\t", f"{ocr[:3]} {ocr[3:]}"]
        invalid = [ocr[:-1] + str((int(ocr[-1]) + 1) % 10), None, "", "X1"]
        company = rnd.choice(("1010", "1020"))
        for i in range(rnd.randrange(0, 7)):
            kind = rnd.choice((PostingKind.customer_invoice, PostingKind.incoming_payment))
            amount = rnd.choice((10_000, 25_000, 50_000, 0))
            out.append(InvoicePosting(
                event_id=f"{seed}-{n}-{i}", kind=kind, company=company,
                account="1510" if kind is PostingKind.customer_invoice else "1930",
                amount_ore=rnd.choice((amount, -amount)) if kind is PostingKind.customer_invoice else -amount,
                posting_date=NEWEST - timedelta(days=rnd.randrange(0, 150)),
                reference=rnd.choice(spellings + invalid), source=rnd.choice(("bgmax", "camt054", "agresso")),
                recorded_at=datetime(2026, 1, 1, 9, tzinfo=STOCKHOLM) + timedelta(minutes=rnd.randrange(600))))
    return out


def _group(p: InvoicePosting) -> tuple[str, str]:
    return p.company, re.sub(r"[^0-9]", "", p.reference or "")


def test_the_rule_over_whole_groups_finds_what_it_finds_over_everything() -> None:
    for seed in range(5):
        postings = _postings(seed)
        everything = likely_unidentified(postings, now=END)
        assert everything, "the data should give findings"
        # Where the invoice history begins: the oldest customer invoice, sent along with whichever groups.
        oldest = min((p for p in postings if p.kind is PostingKind.customer_invoice), key=lambda p: p.posting_date)
        groups = sorted({_group(p) for p in postings})
        rnd = random.Random(seed)
        for _ in range(10):
            chosen = set(rnd.sample(groups, len(groups) // 3))
            subset = [p for p in postings if _group(p) in chosen]
            found = likely_unidentified(subset if oldest in subset else [*subset, oldest], now=END)
            ids = {p.event_id for p in subset}
            assert {f.finding_id: f.evidence_json for f in found} == {
                f.finding_id: f.evidence_json for f in everything if f.source_event_ids[0] in ids}
