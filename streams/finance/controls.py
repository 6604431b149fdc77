"""Finance controls as pure functions: an event in, findings out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time

from servicepulse.schemas.events import Finding, InvoicePosting, Severity

from ..rules import STOCKHOLM, evidence, stable_id

__all__ = ["SuspensePostingRule", "suspense_posting"]


@dataclass(frozen=True)
class SuspensePostingRule:
    """`gl.suspense_posting`: every posting *to* a suspense account (a debit-side entry of an unidentified payment)."""

    rule_id: str = "gl.suspense_posting"
    version: int = 1
    accounts: frozenset[str] = frozenset({"9894"})
    severity: Severity = Severity.low


def suspense_posting(
    posting: InvoicePosting, rule: SuspensePostingRule, now: datetime | None = None
) -> Finding | None:
    # A payment booked to 9894 is a credit on the suspense account (money in, owner unknown); the
    # re-booking that clears it is the opposite sign and is not itself a finding.
    if posting.account not in rule.accounts or posting.amount_ore >= 0:
        return None
    voucher = f"{posting.voucher_series or ''}{posting.voucher_number or ''}" or posting.event_id
    return Finding(
        finding_id=stable_id(rule.rule_id, rule.version, posting.event_id),
        rule_id=rule.rule_id,
        rule_version=rule.version,
        severity=rule.severity,
        subject_type="voucher",
        subject_id=f"{posting.company}:{voucher}",
        company=posting.company,
        occurred_at=datetime.combine(posting.posting_date, time(12), STOCKHOLM),
        detected_at=now or datetime.now(UTC),
        summary=f"Unidentified payment of {abs(posting.amount):.2f} {posting.currency} on account "
        f"{posting.account} (company {posting.company})",
        evidence_json=evidence(
            {
                "account": posting.account,
                "amount_ore": posting.amount_ore,
                "posting_date": posting.posting_date.isoformat(),
                "voucher_series": posting.voucher_series,
                "voucher_number": posting.voucher_number,
                "reference": posting.reference,
                "text": posting.text,
                "accounts_watched": sorted(rule.accounts),
            }
        ),
        source_event_ids=[posting.event_id],
    )
