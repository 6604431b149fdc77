"""The SLA monitor timer: on the leader, every few seconds, read exact counts and deadline items back from
ClickHouse, advance the event-time clocks, and send what the monitor raises or resolves to `alerts`.

Covers the contact centre (service level, e-mail answer deadlines, case lead times) and complaints
(acknowledgement deadlines, backlog), which share the working calendar of `sla_settings`.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any

import faust
import structlog
from clickhouse_connect.driver.client import Client

from servicepulse.config import ReadbackSettings, Settings
from servicepulse.connectors.serde import WireCodec
from servicepulse.domain.calendar import WorkingCalendar
from servicepulse.schemas.events import Alert

from ..complaints.rules import ComplaintStory
from ..contact.monitor import Bucket, SlaMonitor
from ..contact.rules import PendingItem
from ..emit import send_all
from .queries import rows

__all__ = ["SlaReader", "SlaTicker", "evaluate", "legacy_tick", "register", "unsent"]

log = structlog.get_logger(__name__)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _at(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class SlaReader:
    """Blocking reads (run in a thread): the event-time clocks and the monitor's inputs."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client: Client | None = None

    @property
    def conf(self) -> ReadbackSettings:
        return self._settings.readback

    def _rows(self, name: str, **parameters: Any) -> list[tuple[Any, ...]]:
        if self._client is None:
            from servicepulse.connectors.clickhouse import connect

            self._client = connect(self._settings.clickhouse)
        return rows(self._client, name, **parameters)

    def stored(self, alerts: Sequence[Alert]) -> set[str]:
        """Ids of these alerts the alerts table already holds."""
        ids = sorted({a.alert_id for a in alerts})
        return {str(i) for (i,) in self._rows("alerts_stored", ids=ids)} if ids else set()

    def settings(self) -> tuple[time, time, float] | None:
        found = self._rows("sla_settings")
        if not found:
            return None
        opens, closes, ack_hours = found[0]
        return time(opens // 60, opens % 60), time(closes // 60, closes % 60), float(ack_hours)

    def clock(self, table: str) -> datetime | None:
        """Event-time clock of a raw table = a watermark: the oldest of the per-partition newest event times, so
        a partition that lags behind (a backfill stored unevenly) holds the clock back and no window is decided
        on partial data. A partition with nothing stored for `clock_idle_s` (wall clock) is caught up and no
        longer holds it back."""
        partitions = self._rows("event_clock", table=table)
        if not partitions:
            return None
        active = [ms for ms, idle in partitions if idle < self.conf.clock_idle_s]
        return _at(min(active) if active else max(ms for ms, _ in partitions))

    def buckets(self, since: datetime) -> list[Bucket]:
        return [Bucket(q, org, datetime.fromtimestamp(b, UTC), int(offered), int(within), float(target))
                for q, org, b, offered, within, target in self._rows("sla_buckets", since=_ms(since))]

    def emails(self, since: datetime) -> list[PendingItem]:
        return [PendingItem(cid, queue, _at(received), _at(answered) if n else None)  # type: ignore[arg-type]
                for cid, queue, received, answered, n in self._rows("sla_emails", since=_ms(since))]

    def cases(self, since: datetime) -> list[PendingItem]:
        return [PendingItem(cid, case_type, _at(opened), _at(closed) if n else None)  # type: ignore[arg-type]
                for cid, case_type, opened, closed, n in self._rows("sla_cases", since=_ms(since))]

    def complaints(self, since: datetime) -> list[ComplaintStory]:
        return [ComplaintStory(cid, customer, process, category, _at(r), _at(a), _at(c))
                for cid, customer, process, category, r, a, c in self._rows("sla_complaints", since=_ms(since))]


def unsent(reader: SlaReader, monitor: SlaMonitor) -> list[Alert]:
    """One tick's alerts minus those already stored. A new leader (or a restarted worker) starts from a fresh
    monitor and re-derives the whole history from the exact stored facts, with the same ids and fields
    (event time only); what the alerts table holds was sent before and is not sent (or posted) again."""
    alerts = evaluate(reader, monitor)
    stored = reader.stored(alerts)
    return [a for a in alerts if a.alert_id not in stored]


def evaluate(reader: SlaReader, monitor: SlaMonitor) -> list[Alert]:
    """One tick: everything the monitor decides given what ClickHouse holds now."""
    # Every read first, so a failed read leaves the monitor untouched.
    lookback = timedelta(days=reader.conf.sla_lookback_days)
    configured = reader.settings()  # office hours and acknowledgement limit: the same table the views use
    if configured is not None:
        opens, closes, ack_hours = configured
        if (monitor.calendar.opens, monitor.calendar.closes) != (opens, closes):
            monitor.calendar = WorkingCalendar(opens, closes)
        if monitor.ack_rule["office_hours"] != ack_hours:
            monitor.ack_rule = monitor.ack_rule.with_values(source="sla_settings", office_hours=ack_hours)
    calls_clock = reader.clock("call_events")
    complaints_clock = reader.clock("complaints")
    buckets = reader.buckets(monitor.earliest_needed(_EPOCH)) if calls_clock else []
    emails = reader.emails(calls_clock - lookback) if calls_clock else []
    stories = reader.complaints(_EPOCH) if complaints_clock else []
    cases_clock = reader.clock("cases")
    cases = reader.cases(cases_clock - lookback) if cases_clock else []
    out: list[Alert] = []
    if calls_clock is not None:
        out += monitor.service_level(buckets, calls_clock)
        out += monitor.emails(emails, calls_clock)
    if complaints_clock is not None:
        out += monitor.complaints(stories, complaints_clock)
    if cases_clock is not None:
        out += monitor.cases(cases, cases_clock)
    return out


class SlaTicker:
    """The monitor's state between ticks. `decide` runs one tick on a snapshot (blocking: run it in a thread)
    and returns the alerts to send; `commit` keeps the snapshot once they are sent. A failed read or send is
    retried on the next tick with the same state, so nothing is lost and nothing is raised twice."""

    def __init__(self, reader: SlaReader, monitor: SlaMonitor) -> None:
        self.reader, self.monitor = reader, monitor
        self._candidate: SlaMonitor | None = None

    def decide(self) -> list[Alert]:
        self._candidate = None
        candidate = self.monitor.snapshot()
        alerts = unsent(self.reader, candidate)
        self._candidate = candidate
        return alerts

    def commit(self) -> None:
        if self._candidate is not None:
            self.monitor, self._candidate = self._candidate, None


def legacy_tick(reader: SlaReader, state: dict[str, SlaMonitor]) -> list[Alert]:
    """The tick before `SlaMonitor.snapshot`: decide on a deep copy of the whole monitor (kept to compare;
    `benchmarks/controls_full_scale.py`)."""
    candidate = copy.deepcopy(state["monitor"])
    alerts = unsent(reader, candidate)
    state["monitor"] = candidate
    return alerts


def register(app: faust.App, settings: Settings, codec: WireCodec) -> None:
    alerts_topic = app.topic(settings.kafka.topics.alerts, key_type=bytes, value_type=bytes)
    ticker = SlaTicker(SlaReader(settings), SlaMonitor.from_parameters(settings.parameters()))

    # The decisions run on event time: the tick only sets how soon after the data arrives an alert goes out.
    # One runner is enough (and two would raise every alert twice): the leader's.
    async def tick() -> None:
        try:
            alerts = await asyncio.to_thread(ticker.decide)
            if alerts:
                await send_all(alerts_topic, codec, alerts)
                log.info("sla alerts", count=len(alerts), rules=sorted({a.rule_id for a in alerts}))
        except Exception as exc:  # ClickHouse not reachable yet, a migration missing, Kafka busy: next tick
            log.warning("sla monitor tick failed", error=repr(exc))
            return
        ticker.commit()

    app.timer(settings.readback.sla_tick_s, on_leader=True, name="contact-sla-monitor")(tick)
