"""Alert delivery as digests through an outbox: on the leader, per channel, read the stored alerts that are in no
digest yet back from ClickHouse, group them into digests (rule, company/organisation, Stockholm day) as their
severity's route makes them due, take a token of the channel's rate limit per message, record which alert ids
make up the digest in `alert_deliveries` before posting it with the digest id as `Idempotency-Key`, and record the
outcome there.

Why an outbox instead of posting from the alerts topic: an agent that acks a batch whether or not its posts got
through loses every alert of an outage, and one that waits inside the batch for the endpoint stalls its partitions.
Here the alerts are already safe in the alerts table, the digest assignment and its delivery state are stored next
to them, and the waiting is an async backoff between timer ticks. A restarted worker or a new leader reads the
same state: digests made and not delivered are posted again with the same id and items, alerts in no digest
wait for the next one, delivered ones are never posted again. The one repeat left: a digest POSTed but not yet
recorded when the worker died is POSTed again, with the same `Idempotency-Key`. Items held by the rate limit stay
in no digest and are merged into the next one: never dropped.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from datetime import time as clock_time
from typing import Any, Protocol

import faust
import structlog
from clickhouse_connect.driver.client import Client

from servicepulse.alerts.digest import Digest, Item, RateLimit, Schedule, Section, due_sections, pack
from servicepulse.alerts.formatters import digest_payload
from servicepulse.config import AlertChannel, AlertSettings, Settings
from servicepulse.connectors.clickhouse import ThreadClients
from servicepulse.connectors.serde import WireCodec
from servicepulse.connectors.webhooks import Attempt, Outcome, WebhookPoster, backoff
from servicepulse.domain.zone import STOCKHOLM
from servicepulse.schemas.events import Alert, AlertState, Severity

from ..catalogue import catalogue
from .queries import query

__all__ = ["Courier", "Outbox", "Outgoing", "register", "schedule_of"]

log = structlog.get_logger(__name__)

_ALERT_FIELDS = ("alert_id", "alert_key", "state", "severity", "rule_id", "rule_version", "title",
                 "measured_value", "target", "unit", "window_start", "window_end", "occurred_at", "details_json")


def _alert(row: Sequence[Any]) -> Alert:
    doc = dict(zip(_ALERT_FIELDS, row[:len(_ALERT_FIELDS)], strict=True))
    doc["state"], doc["severity"] = AlertState(doc["state"]), Severity(doc["severity"])
    # Rows come from the table the sink wrote after validating them: no second validation.
    return Alert.model_construct(**doc)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True)
class Outgoing:
    """A digest made (its items assigned in the outbox) and not yet delivered: when it was made, the attempts so
    far."""

    digest: Digest
    made_at: datetime
    attempts: int


class Outbox:
    """Blocking reads and writes of one channel's delivery state (run in a thread)."""

    def __init__(self, clients: ThreadClients, channel: str, rules: Sequence[str] = (),
                 severities: Sequence[str] = ()) -> None:
        self._clients = clients
        self.channel = channel
        self.rules, self.severities = list(rules), list(severities)  # the channel's filter; empty: everything

    def due(self, limit: int, lookback_h: int) -> list[tuple[Item, int]]:
        """Alerts stored and in no digest yet, oldest first, with the attempts made before digests."""
        client: Client = self._clients.get()
        result = query(client, "alerts_to_deliver", channel=self.channel, hours=lookback_h, limit=limit,
                       rules=self.rules, severities=self.severities)
        return [(Item(_alert(row), _utc(row[-2])), int(row[-1])) for row in result.result_rows]

    def open_digests(self) -> list[Outgoing]:
        client: Client = self._clients.get()
        found = query(client, "alerts_digests_open", channel=self.channel).result_rows
        if not found:
            return []
        ids = sorted({str(alert_id) for row in found for alert_id, _ in row[4]})
        alerts = {a.alert_id: a for a in (_alert(r) for r in query(client, "alerts_by_id", ids=ids).result_rows)}
        order = {alert_id: i for i, alert_id in enumerate(alerts)}  # stored order
        out = []
        for digest_id, day, made_at, attempts, members in found:
            sections: dict[tuple[str, str], list[Alert]] = {}
            for alert_id, scope in sorted(members, key=lambda m: order.get(str(m[0]), -1)):
                alert = alerts.get(str(alert_id))
                if alert is None:  # the alerts table lost a row: post the rest rather than nothing
                    log.error("alert of a digest is missing from the alerts table", alert_id=alert_id)
                    continue
                sections.setdefault((alert.rule_id, str(scope)), []).append(alert)
            digest = Digest(str(digest_id), self.channel, day if isinstance(day, date) else date.fromisoformat(day),
                            tuple(Section(rule, scope, tuple(items)) for (rule, scope), items in sections.items()))
            out.append(Outgoing(digest, _utc(made_at), int(attempts)))
        return out

    def sent_recently(self) -> tuple[int, int]:
        """Digests made in the last minute and the last hour."""
        client: Client = self._clients.get()
        minute, hour = query(client, "alerts_digests_sent", channel=self.channel).result_rows[0]
        return int(minute), int(hour)

    def record(self, outgoing: Outgoing, attempt: Attempt | None) -> None:
        """One row per alert of the digest, in one insert: the assignment (attempt None, state pending) or the
        outcome of attempt number `outgoing.attempts`."""
        now = datetime.now(UTC)
        state = Outcome.pending.value if attempt is None else attempt.outcome.value
        delivered = now if attempt is not None and attempt.outcome is Outcome.delivered else None
        error = "" if attempt is None else attempt.error
        d = outgoing.digest
        self._clients.get().insert(
            "alert_deliveries",
            [[a.alert_id, self.channel, state, outgoing.attempts, error, now, delivered, d.digest_id, d.day,
              s.scope, outgoing.made_at] for s in d.sections for a in s.alerts],
            column_names=["alert_id", "channel", "state", "attempts", "last_error", "updated_at", "delivered_at",
                          "digest_id", "digest_day", "digest_scope", "digest_at"],
        )


class Poster(Protocol):
    async def post(self, payload: dict[str, Any], key: str) -> Attempt: ...


def schedule_of(conf: AlertSettings) -> Schedule:
    hour, minute = (int(p) for p in conf.daily_at.split(":"))
    return Schedule(conf.routes, conf.batch_minutes, clock_time(hour, minute), conf.digest_max_items)


class Courier:
    """One channel's ticks: post the digests made and not delivered, then make and post the new ones the schedule
    and the rate limit allow. When the endpoint fails, back off (channel-wide) and make no new digests until the
    open ones are through: what arrives meanwhile waits and is merged into fewer, later digests."""

    def __init__(self, outbox: Any, poster: Poster, conf: AlertSettings, channel: AlertChannel, *,
                 wall: Callable[[], datetime] = lambda: datetime.now(UTC),
                 mono: Callable[[], float] = time.monotonic) -> None:
        self.outbox = outbox
        self.poster = poster
        self.conf = conf
        self.kind = channel.kind
        self.language = channel.language or conf.language
        self.per_minute = channel.rate_per_minute or conf.rate_per_minute
        self.per_hour = channel.rate_per_hour or conf.rate_per_hour
        self.schedule = schedule_of(conf)
        self.wall, self.mono = wall, mono
        self.limit: RateLimit | None = None  # seeded from the outbox on the first tick
        self.failures = 0  # failed attempts in a row
        self.retry_at = 0.0  # monotonic time of the next attempt after a failure
        self.unrecorded: dict[str, tuple[Outgoing, Attempt]] = {}  # outcomes whose write failed: written first
        self.held = 0  # items due but held by the rate limit at the last tick

    async def tick(self) -> int:
        """Returns how many alerts were delivered (in however many digests)."""
        if self.unrecorded:
            for outgoing, attempt in list(self.unrecorded.values()):
                await self._record(outgoing, attempt)
            if self.unrecorded:
                return 0
        if self.mono() < self.retry_at:
            return 0
        if self.limit is None:
            minute, hour = await asyncio.to_thread(self.outbox.sent_recently)
            self.limit = RateLimit.of(self.per_minute, self.per_hour, self.mono(), minute, hour)
        delivered = 0
        for outgoing in await asyncio.to_thread(self.outbox.open_digests):
            done = await self._post(outgoing)
            if done is None:
                return delivered
            delivered += done
        waiting = await asyncio.to_thread(self.outbox.due, self.conf.webhook_batch, self.conf.delivery_lookback_h)
        now = self.wall()
        sections = due_sections([item for item, _ in waiting], now, self.schedule)
        if not sections:
            self.held = 0
            return delivered
        attempts = {item.alert.alert_id: n for item, n in waiting}
        digests = pack(sections, self.limit.available(self.mono()), self.outbox.channel,
                       now.astimezone(STOCKHOLM).date(), self.schedule.max_items)
        held = sum(len(s.alerts) for s in sections) - sum(len(d.alerts) for d in digests)
        if held and held != self.held:  # logged when it changes, not on every tick
            log.info("alert digests held by the channel's rate limit", channel=self.outbox.channel,
                     items=held, per_minute=self.per_minute, per_hour=self.per_hour)
        self.held = held
        for digest in digests:
            # Attempts before digests carry over, so this assignment is never older than those rows on merge.
            outgoing = Outgoing(digest, now, max(attempts.get(a.alert_id, 0) for a in digest.alerts))
            try:
                await asyncio.to_thread(self.outbox.record, outgoing, None)
            except Exception as exc:  # not assigned: the items are still waiting and make a digest next tick
                log.warning("alert digest not recorded; not posted", error=repr(exc))
                return delivered
            self.limit.take(self.mono())
            done = await self._post(outgoing)
            if done is None:
                return delivered
            delivered += done
        return delivered

    async def _post(self, outgoing: Outgoing) -> int | None:
        """Post one digest and record the outcome; None when the tick should stop (endpoint or store failing)."""
        digest = outgoing.digest
        payload = digest_payload(digest, self.kind, self.language)
        attempt = await self.poster.post(payload, digest.digest_id)
        tried = Outgoing(digest, outgoing.made_at, outgoing.attempts + 1)
        await self._record(tried, attempt)
        if attempt.outcome is Outcome.pending:
            self.failures += 1
            wait = backoff(self.failures, self.conf.webhook_backoff_s, self.conf.webhook_backoff_max_s)
            self.retry_at = self.mono() + wait
            log.warning("alert webhook failed; retrying later", channel=self.outbox.channel,
                        digest_id=digest.digest_id, items=len(digest.alerts), error=attempt.error,
                        attempts=tried.attempts, retry_in_s=wait)
            return None
        self.failures = 0
        if attempt.outcome is Outcome.rejected:
            log.error("alert webhook refused the digest; not retried", channel=self.outbox.channel,
                      digest_id=digest.digest_id, items=len(digest.alerts), error=attempt.error)
            return None if self.unrecorded else 0
        log.info("alert digest delivered", channel=self.outbox.channel, digest_id=digest.digest_id,
                 items=len(digest.alerts), rules=sorted({s.rule_id for s in digest.sections}))
        # The store stopped answering: post nothing it cannot record.
        return None if self.unrecorded else len(digest.alerts)

    async def _record(self, outgoing: Outgoing, attempt: Attempt) -> None:
        key = outgoing.digest.digest_id
        try:
            await asyncio.to_thread(self.outbox.record, outgoing, attempt)
        except Exception as exc:
            # Kept in memory and written on the next tick; until then nothing more is posted. If the worker dies
            # first, the digest is posted again with the same Idempotency-Key.
            self.unrecorded[key] = (outgoing, attempt)
            log.warning("alert delivery not recorded yet", digest_id=key, error=repr(exc))
        else:
            self.unrecorded.pop(key, None)


def unmatched_rule_filters(channels: Sequence[AlertChannel], rule_ids: Sequence[str]) -> dict[str, list[str]]:
    """Per channel, its rule filters that match none of `rule_ids` (an id, or a prefix ending in '.', as
    `alerts_to_deliver.sql` matches them)."""
    out: dict[str, list[str]] = {}
    for channel in channels:
        found = [f for f in channel.rules
                 if not any(r == f or (f.endswith(".") and r.startswith(f)) for r in rule_ids)]
        if found:
            out[channel.name] = found
    return out


def register(app: faust.App, settings: Settings, codec: WireCodec) -> None:
    conf = settings.alerts
    channels = conf.all_channels()
    if not channels:
        return
    unmatched = unmatched_rule_filters(channels, [rule.rule_id for rule in catalogue()])
    if unmatched:
        # A misspelt filter would keep a team's alerts off its channel without a word: refuse to start instead.
        raise ValueError("ALERTS__CHANNELS: these rule filters match no rule: "
                         + "; ".join(f"{name}: {', '.join(found)}" for name, found in unmatched.items())
                         + " (`servicepulse rules` lists the rule ids)")
    clients = ThreadClients(settings.clickhouse)
    couriers = [Courier(Outbox(clients, c.name, c.rules, c.severities()),
                        WebhookPoster(c.url.get_secret_value(), conf.webhook_timeout_s), conf, c) for c in channels]

    async def deliver() -> None:
        for courier in couriers:
            try:
                delivered = await courier.tick()
            except Exception as exc:  # the store not answering: the next tick reads the outbox again
                log.warning("alert delivery tick failed", channel=courier.outbox.channel, error=repr(exc))
                continue
            if delivered:
                log.info("alerts delivered", channel=courier.outbox.channel, count=delivered)

    # One runner: two would make and post the same digest twice before either recorded it.
    app.timer(conf.delivery_tick_s, on_leader=True, name="alert-delivery")(deliver)
