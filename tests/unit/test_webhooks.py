"""Chat payloads carry the alert's measured value, target and rule, and nothing else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from servicepulse.connectors.webhooks import alert_payload
from servicepulse.schemas.events import Alert

T = datetime(2026, 3, 12, 9, 0, tzinfo=UTC)


def alert(state: str = "raised") -> Alert:
    return Alert(alert_id="a1", alert_key="sla.service_level:kc-social", state=state, severity="high",
                 rule_id="sla.service_level", rule_version=2, title="Service level below target in kc-social",
                 measured_value=0.6, target=0.85, unit="ratio", window_start=T, window_end=T + timedelta(hours=1),
                 occurred_at=T, details_json='{"offered": 40}')


def test_slack_text_names_value_target_window_and_rule() -> None:
    text = alert_payload(alert(), "slack")["text"]
    assert "[HIGH] Service level below target in kc-social" in text
    assert "measured 0.6, target 0.85" in text
    assert "2026-03-12 09:00–10:00" in text
    assert "sla.service_level v2" in text
    assert text.startswith("🔴")
    assert alert_payload(alert("resolved"), "slack")["text"].startswith("✅")


def test_teams_card_and_generic_json() -> None:
    card = alert_payload(alert(), "teams")
    assert card["@type"] == "MessageCard" and card["themeColor"] == "D13438"
    generic = alert_payload(alert(), "generic")
    assert generic["alert_id"] == "a1" and generic["target"] == 0.85
    assert "details_json" not in generic, "evidence stays in ClickHouse, not in chat"
