"""The spine's two rules: suspense-account postings and dead-letter alerts."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from servicepulse.schemas.events import DeadLetter, InvoicePosting
from servicepulse.streams.finance.rules import SUSPENSE_POSTING, suspense_posting
from servicepulse.streams.ops.rules import DEAD_LETTERS, dead_letter_alert

T = datetime(2026, 3, 12, 10, 0, tzinfo=UTC)


def posting(account: str, amount_ore: int, event_id: str = "p1") -> InvoicePosting:
    return InvoicePosting(event_id=event_id, kind="incoming_payment", company="1010", account=account,
                          amount_ore=amount_ore, posting_date=date(2026, 3, 12), voucher_series="B",
                          voucher_number="12", recorded_at=T)


def test_payment_to_9894_is_flagged_with_evidence() -> None:
    rule = SUSPENSE_POSTING
    finding = suspense_posting(posting("9894", -125_050), rule, now=T)
    assert finding is not None
    assert (finding.rule_id, finding.rule_version, finding.severity.value) == ("gl.suspense_posting", 2, "low")
    assert finding.subject_id == "1010:B12"
    doc = json.loads(finding.evidence_json)
    assert doc["amount_ore"] == -125_050 and doc["accounts_watched"] == ["9894"]
    assert "1250.50" in finding.summary


def test_rebooking_off_9894_and_other_accounts_are_not_flagged() -> None:
    rule = SUSPENSE_POSTING
    assert suspense_posting(posting("9894", 125_050), rule) is None
    assert suspense_posting(posting("9896", -100), rule) is None
    assert suspense_posting(posting("1510", -100), rule) is None


def test_watched_accounts_are_configurable() -> None:
    rule = SUSPENSE_POSTING.with_values(accounts=frozenset({"9894", "9896"}))
    assert suspense_posting(posting("9896", -100), rule) is not None


def test_finding_id_is_stable_for_the_same_posting() -> None:
    rule = SUSPENSE_POSTING
    a = suspense_posting(posting("9894", -1), rule, now=T)
    b = suspense_posting(posting("9894", -1), rule, now=T + timedelta(hours=1))
    c = suspense_posting(posting("9894", -1, event_id="p2"), rule, now=T)
    assert a and b and c
    assert a.finding_id == b.finding_id != c.finding_id


def letter(minute: int, topic: str = "call-events") -> DeadLetter:
    return DeadLetter(source_topic=topic, source_partition=0, source_offset=minute, kind="undecodable",
                      reason="bad bytes", stage="sink", payload=b"", failed_at=T + timedelta(minutes=minute))


def test_dead_letters_raise_one_alert_per_source_and_hour() -> None:
    rule = DEAD_LETTERS
    raised: set[str] = set()
    alerts = []
    for minute, topic in [(1, "call-events"), (5, "call-events"), (7, "complaints"), (65, "call-events")]:
        raised, alert = dead_letter_alert(letter(minute, topic), raised, rule)
        alerts.append(alert)
    assert [a is not None for a in alerts] == [True, False, True, True]
    first = alerts[0]
    assert first is not None and first.rule_id == "ops.dead_letters" and first.state.value == "raised"
    assert json.loads(first.details_json)["first_reason"] == "bad bytes"
