"""Chat payloads, one shape per channel kind: the item's measured value, target, window and rule in the text, Swedish
by default, and nothing of the evidence (`details_json`) as such."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from servicepulse.alerts.digest import Digest, Section
from servicepulse.alerts.formatters import KINDS, digest_payload
from servicepulse.schemas.events import Alert

T = datetime(2026, 3, 12, 9, 0, tzinfo=UTC)


def alert(state: str = "raised", rule_id: str = "sla.custom", details: str = '{"offered": 40}') -> Alert:
    return Alert(alert_id=f"a1-{state}", alert_key=f"{rule_id}:kc-social", state=state,
                 severity="high" if state == "raised" else "info", rule_id=rule_id, rule_version=2,
                 title="Service level below target in kc-social", measured_value=0.6, target=0.85, unit="ratio",
                 window_start=T, window_end=T + timedelta(hours=1), occurred_at=T, details_json=details)


def digest(*alerts: Alert, scope: str = "lon") -> Digest:
    return Digest("d1", "chat", date(2026, 3, 12), (Section(alerts[0].rule_id, scope, alerts),))


def test_slack_text_names_value_target_window_and_rule_in_swedish_and_english() -> None:
    text = digest_payload(digest(alert()), "slack", "sv")["text"].replace("\u00a0", " ")
    assert text.startswith("🔴 sla.custom · lon · 12 mar 2026 — nya: 1")
    assert "*Ny* [HÖG] Service level below target in kc-social" in text
    assert "uppmätt 60 %, mål 85 %" in text
    assert "period 2026-03-12 10:00–11:00" in text  # Stockholm time
    assert "regel sla.custom v2" in text
    english = digest_payload(digest(alert()), "slack", "en")["text"]
    assert "*New* [HIGH]" in english and "measured 60%, target 85%" in english and "rule sla.custom v2" in english
    resolved = digest_payload(digest(alert("resolved")), "slack", "sv")["text"]
    assert resolved.startswith("✅") and "åtgärdade: 1" in resolved


def test_a_raise_and_its_resolve_in_one_digest_are_one_resolved_item() -> None:
    text = digest_payload(digest(alert(), alert("resolved")), "mattermost", "sv")["text"]
    assert text.count("\n- ") == 1 and "**Ny och åtgärdad** [HÖG]" in text and "åtgärdad 2026-03-12 10:00" in text


def test_each_kind_has_its_shape() -> None:
    d = digest(alert())
    slack = digest_payload(d, "slack", "sv")
    assert set(slack) == {"text", "unfurl_links", "unfurl_media"} and "*Ny*" in slack["text"]
    mattermost = digest_payload(d, "mattermost", "sv")
    assert mattermost["text"].startswith("#### 🔴") and "**Ny**" in mattermost["text"]
    card = digest_payload(d, "teams", "sv")
    assert card["type"] == "message"
    attachment = card["attachments"][0]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    body = attachment["content"]["body"]
    assert attachment["content"]["type"] == "AdaptiveCard" and [b["type"] for b in body] == ["TextBlock"] * 2
    assert body[0]["weight"] == "Bolder" and "uppmätt 60" in body[1]["text"]
    generic = digest_payload(d, "generic", "sv")
    assert generic["digest_id"] == "d1" and generic["day"] == "2026-03-12" and generic["language"] == "sv"
    item = generic["sections"][0]["items"][0]
    assert item["alert_id"] == "a1-raised" and item["target"] == 0.85 and generic["sections"][0]["scope"] == "lon"
    for kind in KINDS:
        assert "offered" not in str(digest_payload(d, kind, "sv")), "evidence stays in ClickHouse, not in chat"
    with pytest.raises(ValueError, match="unknown channel kind"):
        digest_payload(d, "irc", "sv")


def test_suspense_items_in_swedish_amounts_and_personnummer_never_reach_chat() -> None:
    raised = Alert(alert_id="s1", alert_key="gl.suspense_aged:1040:A 17", state="raised", severity="medium",
                   rule_id="gl.suspense_aged", rule_version=1, title="Open item A 17 on 9894 (1040)",
                   occurred_at=T, details_json='{"account": "9894", "voucher_series": "A", "voucher_number": "17", '
                   '"open_ore": 12345678, "breached_on": "2026-03-01", "reasons": ["age", "amount"]}')
    text = digest_payload(digest(raised, scope="1040"), "slack", "sv")["text"]
    assert "Verifikation A 17 på konto 9894: 123\u00a0456,78\u00a0kr öppet, över gränsen sedan 2026-03-01 " \
           "(ålder, belopp)" in text
    person = Alert(alert_id="p1", alert_key="ops.custom:x", state="raised", severity="low", rule_id="ops.custom",
                   rule_version=1, title="Pay line of 19811218-9876 refused", occurred_at=T)
    for kind in KINDS:
        payload = str(digest_payload(digest(person), kind, "sv"))
        assert "19811218-9876" not in payload and "Pay line of" in payload


def _every_rule_alert() -> list[Alert]:
    """A raise and a resolve of every rule that alerts, each made by the rule itself (not written by hand)."""
    from servicepulse.domain.calendar import WorkingCalendar
    from servicepulse.domain.zone import STOCKHOLM
    from servicepulse.streams.complaints.rules import ComplaintStory, ack_alerts, backlog_step
    from servicepulse.streams.contact.rules import CASE_LEAD_TIME, PendingItem, deadline_alerts

    cal = WorkingCalendar()
    received = datetime(2026, 4, 2, 16, 0, tzinfo=STOCKHOLM)
    late = datetime(2026, 4, 8, 9, 0, tzinfo=STOCKHOLM)
    out: list[Alert] = []
    items = [PendingItem("m1", "kc-social", received, None)]
    answered = [PendingItem("m1", "kc-social", received, late)]
    state, raised = deadline_alerts(items, late, {}, cal)
    out += raised + deadline_alerts(answered, late + timedelta(hours=1), state, cal)[1]

    def due(item: PendingItem) -> datetime:
        return cal.working_days_due(item.received_at, 3)

    later = late + timedelta(days=7)  # past the 3 working days of the Easter week
    closed = [PendingItem("m1", "kc-social", received, later)]
    state, raised = deadline_alerts(items, later, {}, cal, CASE_LEAD_TIME, due=due, noun="case(s)", done="closed",
                                    limit_text=lambda _group: "its lead time (day 1-3)")
    out += raised + deadline_alerts(closed, later + timedelta(hours=1), state, cal, CASE_LEAD_TIME, due=due,
                                    noun="case(s)", done="closed",
                                    limit_text=lambda _group: "its lead time (day 1-3)")[1]
    story = ComplaintStory("c1", "Socialförvaltningen", "payroll", "complaint", registered_at=received)
    seen, raised = ack_alerts([story], late, set(), cal)
    story.acknowledged_at = late
    out += raised + ack_alerts([story], late + timedelta(hours=1), seen, cal)[1]
    key, raised = backlog_step(None, late, 4000, timedelta(hours=30))
    out += raised + backlog_step(key, late + timedelta(hours=1), 3, timedelta(hours=2))[1]
    return out


def test_every_alerting_rule_reads_in_swedish_not_as_its_english_title() -> None:
    alerts = _every_rule_alert()
    assert {(a.rule_id, a.state.value) for a in alerts} == {
        (r, s) for r in ("contact.email_deadline", "contact.case_lead_time", "complaints.ack_deadline",
                         "complaints.backlog") for s in ("raised", "resolved")}
    for a in alerts:
        swedish = digest_payload(digest(a), "slack", "sv")["text"].replace("\u00a0", " ")
        english = digest_payload(digest(a), "slack", "en")["text"]
        assert a.title not in swedish, (a.rule_id, a.state, swedish)
        assert swedish != english.replace("\u00a0", " ")
    text = {(a.rule_id, a.state.value): digest_payload(digest(a), "slack", "sv")["text"] for a in alerts}
    assert "1 e-postmeddelande(n) i kc-social inte besvarade i tid (första förfallotid 2026-04-07 16:00)" in text[
        ("contact.email_deadline", "raised")]
    assert "Sena ärenden av typen kc-social med förfallodag" in text[("contact.case_lead_time", "resolved")]
    assert "Klagomål från Socialförvaltningen (payroll) inte bekräftat inom 8 kontorstimmar" in text[
        ("complaints.ack_deadline", "raised")]
    assert "Klagomålsbalansen 4000 öppna är över gränsen" in text[("complaints.backlog", "raised")]
