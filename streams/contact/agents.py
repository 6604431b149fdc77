"""Faust wiring of the SLA monitor: on the leader, every few seconds, read exact counts from ClickHouse, advance
the event-time clock and send what the monitor raises or resolves to the `alerts` topic."""

from __future__ import annotations

import asyncio
import copy
from datetime import UTC, datetime, time, timedelta
from typing import Any

import faust
import structlog

from servicepulse.config import Settings
from servicepulse.connectors.serde import WireCodec
from servicepulse.domain.calendar import WorkingCalendar

from ..complaints.rules import ComplaintStory
from ..emit import send_all
from .monitor import Bucket, SlaMonitor
from .rules import PendingItem

__all__ = ["register"]

log = structlog.get_logger(__name__)

# How often the leader looks at ClickHouse; the decisions themselves run on event time, so this only sets
# how soon after the data arrives an alert goes out.
TICK_S = 3.0
# E-mails and complaints older than this (event time) are no longer re-read on each tick.
LOOKBACK = timedelta(days=45)

_SETTINGS = ("SELECT opens_minute, closes_minute, ack_office_hours FROM sla_settings FINAL "
             "ORDER BY updated_at DESC LIMIT 1")
# Event-time clock = a watermark: the oldest of the per-partition newest event times, so a partition that
# lags behind (a backfill stored unevenly) holds the clock back and no window is decided on partial data.
# A partition with nothing stored for IDLE_S seconds (wall clock) is caught up and no longer holds it back.
IDLE_S = 10
_CLOCK = """
SELECT toUnixTimestamp64Milli(max(occurred_at)), dateDiff('second', max(_ingested_at), now64(3))
FROM {table} GROUP BY _topic, _partition
"""
_BUCKETS = """
SELECT queue, any(org), toUnixTimestamp(toStartOfFiveMinutes(offered_at)) AS b,
       countIf(event_type = 'answered') + countIf(event_type = 'abandoned')
         - countIf(event_type = 'abandoned' AND wait_ms <= t_short_abandon_s * 1000) AS offered,
       countIf(event_type = 'answered' AND wait_ms <= t_threshold_s * 1000) AS within,
       any(t_service_level_target)
FROM v_contact_outcomes WHERE offered_at >= fromUnixTimestamp64Milli({since})
GROUP BY queue, b
"""
_EMAILS = """
SELECT contact_id, any(queue),
       toUnixTimestamp64Milli(minIf(occurred_at, event_type = 'email_received')),
       toUnixTimestamp64Milli(minIf(occurred_at, event_type = 'email_answered')),
       countIf(event_type = 'email_answered')
FROM call_events FINAL
WHERE channel = 'email' AND occurred_at >= fromUnixTimestamp64Milli({since})
GROUP BY contact_id HAVING countIf(event_type = 'email_received') > 0
"""
_CASES = """
SELECT case_id, any(case_type),
       toUnixTimestamp64Milli(minIf(occurred_at, event_type = 'opened')),
       toUnixTimestamp64Milli(minIf(occurred_at, event_type = 'closed')),
       countIf(event_type = 'closed')
FROM cases FINAL
WHERE occurred_at >= fromUnixTimestamp64Milli({since})
GROUP BY case_id HAVING countIf(event_type = 'opened') > 0
"""
_COMPLAINTS = """
SELECT complaint_id, customer, process, category, toUnixTimestamp64Milli(registered_at),
       toUnixTimestamp64Milli(acknowledged_at), toUnixTimestamp64Milli(closed_at)
FROM v_complaint_stories WHERE registered_at >= fromUnixTimestamp64Milli({since})
"""


def _at(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class _Reader:
    """Blocking reads (run in a thread): the event-time clocks and the monitor's inputs."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client: Any = None

    def _rows(self, sql: str) -> list[tuple[Any, ...]]:
        if self._client is None:
            from servicepulse.connectors.clickhouse import connect

            self._client = connect(self._settings.clickhouse)
        return [tuple(r) for r in self._client.query(sql).result_rows]

    def settings(self) -> tuple[time, time, float] | None:
        rows = self._rows(_SETTINGS)
        if not rows:
            return None
        opens, closes, ack_hours = rows[0]
        return time(opens // 60, opens % 60), time(closes // 60, closes % 60), float(ack_hours)

    def clock(self, table: str) -> datetime | None:
        partitions = self._rows(_CLOCK.format(table=table))
        if not partitions:
            return None
        active = [ms for ms, idle in partitions if idle < IDLE_S]
        return _at(min(active) if active else max(ms for ms, _ in partitions))

    def buckets(self, since: datetime) -> list[Bucket]:
        return [Bucket(q, org, datetime.fromtimestamp(b, UTC), int(offered), int(within), float(target))
                for q, org, b, offered, within, target in self._rows(_BUCKETS.format(since=_ms(since)))]

    def emails(self, since: datetime) -> list[PendingItem]:
        return [PendingItem(cid, queue, _at(received), _at(answered) if n else None)  # type: ignore[arg-type]
                for cid, queue, received, answered, n in self._rows(_EMAILS.format(since=_ms(since)))]

    def cases(self, since: datetime) -> list[PendingItem]:
        return [PendingItem(cid, case_type, _at(opened), _at(closed) if n else None)  # type: ignore[arg-type]
                for cid, case_type, opened, closed, n in self._rows(_CASES.format(since=_ms(since)))]

    def complaints(self, since: datetime) -> list[ComplaintStory]:
        return [ComplaintStory(cid, customer, process, category, _at(r), _at(a), _at(c))
                for cid, customer, process, category, r, a, c in self._rows(_COMPLAINTS.format(since=_ms(since)))]


def evaluate(reader: _Reader, monitor: SlaMonitor) -> list[Any]:
    """One tick: everything the monitor decides given what ClickHouse holds now."""
    # Every read first, so a failed read leaves the monitor untouched.
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    configured = reader.settings()  # office hours and acknowledgement limit: the same table the views use
    if configured is not None:
        opens, closes, ack_hours = configured
        if (monitor.calendar.opens, monitor.calendar.closes) != (opens, closes):
            monitor.calendar = WorkingCalendar(opens, closes)
        if monitor.ack_rule["office_hours"] != ack_hours:
            monitor.ack_rule = monitor.ack_rule.with_values(source="sla_settings", office_hours=ack_hours)
    calls_clock = reader.clock("call_events")
    complaints_clock = reader.clock("complaints")
    buckets = reader.buckets(monitor.earliest_needed(epoch)) if calls_clock else []
    emails = reader.emails(calls_clock - LOOKBACK) if calls_clock else []
    stories = reader.complaints(epoch) if complaints_clock else []
    cases_clock = reader.clock("cases")
    cases = reader.cases(cases_clock - LOOKBACK) if cases_clock else []
    out = []
    if calls_clock is not None:
        out += monitor.service_level(buckets, calls_clock)
        out += monitor.emails(emails, calls_clock)
    if complaints_clock is not None:
        out += monitor.complaints(stories, complaints_clock)
    if cases_clock is not None:
        out += monitor.cases(cases, cases_clock)
    return out


def register(app: faust.App, settings: Settings, codec: WireCodec) -> None:
    alerts_topic = app.topic(settings.kafka.topics.alerts, key_type=bytes, value_type=bytes)
    reader = _Reader(settings)
    monitor = SlaMonitor.from_parameters(settings.parameters())

    @app.timer(TICK_S, on_leader=True, name="contact-sla-monitor")
    async def tick() -> None:
        nonlocal monitor
        # Decide on a copy and keep it only once its alerts are delivered: a failed read or send is retried
        # on the next tick with the same state, so nothing is lost and nothing is raised twice.
        candidate = copy.deepcopy(monitor)
        try:
            alerts = await asyncio.to_thread(evaluate, reader, candidate)
            if alerts:
                await send_all(alerts_topic, codec, alerts)
                log.info("sla alerts", count=len(alerts), rules=sorted({a.rule_id for a in alerts}))
        except Exception as exc:  # ClickHouse not reachable yet, a migration missing, Kafka busy: next tick
            log.warning("sla monitor tick failed", error=repr(exc))
            return
        monitor = candidate
