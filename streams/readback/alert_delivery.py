"""Alert delivery through an outbox: on the leader, read the stored alerts not yet delivered on the channel back
from ClickHouse, POST each with its id as `Idempotency-Key`, and record the outcome in `alert_deliveries`.

Why an outbox instead of posting from the alerts topic: an agent that acks a batch whether or not its posts got
through loses every alert of an outage (`take_events` acks in a `finally`), and one that waits inside the batch
for the endpoint to return stalls its partitions and outlasts the consumer's poll interval. Here the alerts are
already safe in the alerts table, the delivery state is stored next to them, and the waiting is an async backoff
between timer ticks: nothing blocks the event loop or a partition. A restarted worker or a new leader reads the
same state and skips what is delivered. The one repeat left: an alert POSTed but not yet recorded when the
worker died is POSTed again, with the same `Idempotency-Key`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import faust
import structlog
from clickhouse_connect.driver.client import Client

from servicepulse.config import AlertSettings, Settings
from servicepulse.connectors.clickhouse import ThreadClients
from servicepulse.connectors.serde import WireCodec
from servicepulse.connectors.webhooks import Attempt, Outcome, WebhookPoster, backoff
from servicepulse.schemas.events import Alert, AlertState, Severity

from .queries import query

__all__ = ["Courier", "Delivery", "Outbox", "register"]

log = structlog.get_logger(__name__)

_ALERT_FIELDS = ("alert_id", "alert_key", "state", "severity", "rule_id", "rule_version", "title",
                 "measured_value", "target", "unit", "window_start", "window_end", "occurred_at", "details_json")


class Outbox:
    """Blocking reads and writes of the delivery state (run in a thread)."""

    def __init__(self, clients: ThreadClients, channel: str) -> None:
        self._clients = clients
        self.channel = channel

    def due(self, limit: int, lookback_h: int) -> list[tuple[Alert, int]]:
        """Alerts stored and not yet delivered (or rejected), oldest first, with the attempts made so far."""
        client: Client = self._clients.get()
        result = query(client, "alerts_to_deliver", channel=self.channel, hours=lookback_h, limit=limit)
        out = []
        for row in result.result_rows:
            doc = dict(zip(_ALERT_FIELDS, row[:-1], strict=True))
            doc["state"], doc["severity"] = AlertState(doc["state"]), Severity(doc["severity"])
            # Rows come from the table the sink wrote after validating them: no second validation.
            out.append((Alert.model_construct(**doc), int(row[-1])))
        return out

    def record(self, deliveries: Sequence[Delivery]) -> None:
        now = datetime.now(UTC)
        self._clients.get().insert(
            "alert_deliveries",
            [[d.alert_id, self.channel, d.attempt.outcome.value, d.attempts, d.attempt.error, now,
              now if d.attempt.outcome is Outcome.delivered else None] for d in deliveries],
            column_names=["alert_id", "channel", "state", "attempts", "last_error", "updated_at", "delivered_at"],
        )


@dataclass(frozen=True)
class Delivery:
    """The outcome of one attempt at one alert (the `attempts`-th), waiting to be recorded."""

    alert_id: str
    attempt: Attempt
    attempts: int


class Courier:
    """One tick of delivery: post what is due until the endpoint fails, then back off (endpoint-wide: when
    it is down, every alert waits, rather than each hammering it on its own schedule)."""

    def __init__(self, outbox: Outbox, poster: Any, conf: AlertSettings) -> None:
        self.outbox = outbox
        self.poster = poster
        self.conf = conf
        self.failures = 0  # failed attempts in a row
        self.retry_at = 0.0  # monotonic time of the next attempt after a failure
        self.unrecorded: dict[str, Delivery] = {}  # outcomes whose write to the outbox failed: written first

    async def tick(self) -> int:
        """Returns how many alerts were delivered."""
        if self.unrecorded:
            await self._record(list(self.unrecorded.values()))
            if self.unrecorded:
                return 0
        if time.monotonic() < self.retry_at:
            return 0
        due = await asyncio.to_thread(self.outbox.due, self.conf.webhook_batch, self.conf.delivery_lookback_h)
        delivered = 0
        for alert, attempts in due:
            attempt = await self.poster.post(alert)
            await self._record([Delivery(alert.alert_id, attempt, attempts + 1)])
            if attempt.outcome is Outcome.pending:
                self.failures += 1
                wait = backoff(self.failures, self.conf.webhook_backoff_s, self.conf.webhook_backoff_max_s)
                self.retry_at = time.monotonic() + wait
                log.warning("alert webhook failed; retrying later", alert_id=alert.alert_id, rule_id=alert.rule_id,
                            error=attempt.error, attempts=attempts + 1, retry_in_s=wait)
                break
            self.failures = 0
            if attempt.outcome is Outcome.rejected:
                log.error("alert webhook refused the alert; not retried", alert_id=alert.alert_id,
                          rule_id=alert.rule_id, error=attempt.error)
            else:
                delivered += 1
            if self.unrecorded:  # the store stopped answering: do not post what it cannot record
                break
        return delivered

    async def _record(self, deliveries: list[Delivery]) -> None:
        try:
            await asyncio.to_thread(self.outbox.record, deliveries)
        except Exception as exc:
            # Kept in memory and written on the next tick; until then nothing more is posted. If the worker dies
            # first, these alerts are posted again with the same Idempotency-Key.
            self.unrecorded.update((d.alert_id, d) for d in deliveries)
            log.warning("alert delivery not recorded yet", count=len(deliveries), error=repr(exc))
        else:
            for d in deliveries:
                self.unrecorded.pop(d.alert_id, None)


def register(app: faust.App, settings: Settings, codec: WireCodec) -> None:
    conf = settings.alerts
    if conf.webhook_url is None:
        return
    poster = WebhookPoster(conf.webhook_url.get_secret_value(), conf.webhook_format, conf.webhook_timeout_s)
    courier = Courier(Outbox(ThreadClients(settings.clickhouse), f"webhook:{conf.webhook_format}"), poster, conf)

    async def deliver() -> None:
        try:
            delivered = await courier.tick()
        except Exception as exc:  # the store not answering: the next tick reads the outbox again
            log.warning("alert delivery tick failed", error=repr(exc))
            return
        if delivered:
            log.info("alerts delivered", count=delivered)

    # One runner: two would post the same alert twice before either recorded it.
    app.timer(conf.delivery_tick_s, on_leader=True, name="alert-delivery")(deliver)
