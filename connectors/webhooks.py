"""Alert webhooks to team chat: one async POST per digest with the digest id as `Idempotency-Key`; the payloads
come from `servicepulse.alerts.formatters` (Slack, Teams, Mattermost, generic JSON), the retries and the delivery
state live in the outbox (`streams/readback/alert_delivery.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import httpx

__all__ = ["Attempt", "Outcome", "WebhookPoster", "backoff", "classify"]


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
    """Posts one payload per call, asynchronously, with the digest id as `Idempotency-Key`: an endpoint that honours
    the header ignores a repeat (a digest posted but not yet recorded as delivered when the worker died)."""

    def __init__(self, url: str, timeout_s: float) -> None:
        self._url = url
        self._client = httpx.AsyncClient(timeout=timeout_s)

    async def post(self, payload: dict[str, Any], key: str) -> Attempt:
        try:
            response = await self._client.post(self._url, json=payload, headers={"Idempotency-Key": key})
        except httpx.HTTPError as exc:
            # The URL holds the webhook's token: record the error type, never the URL.
            return Attempt(Outcome.pending, type(exc).__name__)
        outcome = classify(response.status_code)
        return Attempt(outcome, "" if outcome is Outcome.delivered else f"HTTP {response.status_code}")

    async def aclose(self) -> None:
        await self._client.aclose()
