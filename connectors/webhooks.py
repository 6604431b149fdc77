"""Alert webhooks to team chat: payloads for Slack, Teams or plain JSON, one async POST per alert with an
`Idempotency-Key`; the retries and the delivery state live in the outbox (`streams/readback/alert_delivery.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import httpx

from servicepulse.schemas.events import Alert, AlertState

__all__ = ["Attempt", "Outcome", "WebhookPoster", "alert_payload", "backoff", "classify"]

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


class Outcome(StrEnum):
    """What one POST achieved: the state the outbox records for the alert."""

    delivered = "delivered"
    pending = "pending"  # transient failure (endpoint down, 5xx, 408/429, timeout): retried with backoff
    rejected = "rejected"  # the endpoint refused this alert (another 4xx): retrying would not help


@dataclass(frozen=True)
class Attempt:
    outcome: Outcome
    error: str = ""


def classify(status: int) -> Outcome:
    """The outcome of an HTTP answer."""
    if 200 <= status < 300:
        return Outcome.delivered
    if status in (408, 425, 429) or status >= 500:
        return Outcome.pending
    return Outcome.rejected


def backoff(failures: int, base_s: float, cap_s: float) -> float:
    """Wait after `failures` failed attempts in a row: base, 2 base, 4 base ... capped at `cap_s`."""
    return min(base_s * 2 ** max(failures - 1, 0), cap_s) if failures > 0 else 0.0


class WebhookPoster:
    """Posts one alert per call, asynchronously, with the alert id as `Idempotency-Key`: an endpoint that honours
    the header ignores a repeat (an alert posted but not yet recorded as delivered when the worker died)."""

    def __init__(self, url: str, fmt: str, timeout_s: float) -> None:
        self._url = url
        self._fmt = fmt
        self._client = httpx.AsyncClient(timeout=timeout_s)

    async def post(self, alert: Alert) -> Attempt:
        try:
            response = await self._client.post(self._url, json=alert_payload(alert, self._fmt),
                                               headers={"Idempotency-Key": alert.alert_id})
        except httpx.HTTPError as exc:
            # The URL holds the webhook's token: record the error type, never the URL.
            return Attempt(Outcome.pending, type(exc).__name__)
        outcome = classify(response.status_code)
        return Attempt(outcome, "" if outcome is Outcome.delivered else f"HTTP {response.status_code}")

    async def aclose(self) -> None:
        await self._client.aclose()
