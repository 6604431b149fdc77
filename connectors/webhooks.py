"""Alert webhooks to team chat: payloads for Slack, Teams or plain JSON, posted with bounded retries."""

from __future__ import annotations

import time
from typing import Any

import httpx
import structlog

from servicepulse.schemas.events import Alert, AlertState

__all__ = ["WebhookPoster", "alert_payload"]

log = structlog.get_logger(__name__)

_ICON = {"raised": "🔴", "resolved": "✅"}


def _text(alert: Alert) -> str:
    parts = [f"{_ICON[alert.state.value]} [{alert.severity.value.upper()}] {alert.title}"]
    if alert.measured_value is not None and alert.target is not None:
        unit = f" {alert.unit}" if alert.unit and alert.unit != "ratio" else ""
        parts.append(f"measured {alert.measured_value:g}{unit}, target {alert.target:g}{unit}")
    if alert.window_start is not None and alert.window_end is not None:
        parts.append(f"window {alert.window_start:%Y-%m-%d %H:%M}–{alert.window_end:%H:%M}")
    parts.append(f"rule {alert.rule_id} v{alert.rule_version}")
    return " · ".join(parts)


def alert_payload(alert: Alert, fmt: str) -> dict[str, Any]:
    """What the chat receives. Alerts carry no personal data by construction; only these fields are sent."""
    text = _text(alert)
    if fmt == "slack":
        return {"text": text}
    if fmt == "teams":
        return {"@type": "MessageCard", "@context": "https://schema.org/extensions",
                "themeColor": "D13438" if alert.state is AlertState.raised else "2EB886",
                "summary": alert.title, "text": text}
    return {
        "alert_id": alert.alert_id, "alert_key": alert.alert_key, "state": alert.state.value,
        "severity": alert.severity.value, "rule_id": alert.rule_id, "rule_version": alert.rule_version,
        "title": alert.title, "measured_value": alert.measured_value, "target": alert.target, "unit": alert.unit,
        "window_start": alert.window_start.isoformat() if alert.window_start else None,
        "window_end": alert.window_end.isoformat() if alert.window_end else None,
        "occurred_at": alert.occurred_at.isoformat(), "text": text,
    }


class WebhookPoster:
    """Posts each alert once per worker lifetime; a chat outage is logged, never blocks the pipeline."""

    def __init__(self, url: str, fmt: str, timeout_s: float, retries: int, remember: int = 10_000) -> None:
        self._url = url
        self._fmt = fmt
        self._retries = retries
        self._client = httpx.Client(timeout=timeout_s)
        self._posted: dict[str, None] = {}
        self._remember = remember

    def post(self, alert: Alert) -> bool:
        if alert.alert_id in self._posted:
            return False
        payload = alert_payload(alert, self._fmt)
        for attempt in range(self._retries + 1):
            try:
                self._client.post(self._url, json=payload).raise_for_status()
                break
            except httpx.HTTPError as exc:
                if attempt == self._retries:
                    # The URL holds the webhook's token: log the rule, never the URL.
                    log.error("alert webhook failed", alert_id=alert.alert_id, rule_id=alert.rule_id,
                              error=type(exc).__name__)
                    return False
                time.sleep(min(0.5 * 2**attempt, 5.0))
        self._posted[alert.alert_id] = None
        if len(self._posted) > self._remember:
            self._posted.pop(next(iter(self._posted)))
        return True
