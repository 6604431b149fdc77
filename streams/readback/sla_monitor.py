"""The SLA monitor timer: on the leader, every few seconds, read exact counts and deadline items back from
ClickHouse, advance the event-time clocks, and send what the monitor raises or resolves to `alerts`.

Covers the contact centre (service level, e-mail answer deadlines, case lead times) and complaints
(acknowledgement deadlines, backlog), which share the working calendar of `sla_settings`.
"""

from __future__ import annotations

import asyncio
import copy
import heapq
from collections.abc import Sequence
from dataclasses import dataclass, field
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


@dataclass
class _Followed:
    """One raw table with deadline items (call_events: e-mails by contact and queue; cases: by case and case
    type), kept between ticks: the event-time clock per partition and the deadline rows since `since`, advanced
    with the rows stored since `cursor` (the sink's watermarks). What a tick reads is then proportional to what
    was stored since the last one."""

    table: str
    group: str  # the sorting key's first column: the items' group
    start: str  # event type that opens an item
    end: str  # event type that answers or closes it
    cursor: dict[str, tuple[int, int]] | None = None  # 'topic:partition' -> (max offset, rows)
    parts: dict[str, tuple[int, int]] = field(default_factory=dict)  # 'topic:partition' -> (newest ms, ingested ms)
    since: int | None = None  # rows older than this (ms) are not kept; None: read them from scratch
    rows: dict[str, set[tuple[int, str, str, str]]] = field(default_factory=dict)  # item -> (ms, type, group, id)
    heap: list[tuple[int, str]] = field(default_factory=list)  # (ms, item) of every row kept, oldest first
    items: dict[str, PendingItem] = field(default_factory=dict)
    dirty: set[str] = field(default_factory=set)
    last: str = ""  # what the last tick read: "scratch", "new" (rows since the cursor), "none" (nothing new)

    def add(self, item: str, row: tuple[int, str, str, str]) -> None:
        self.rows.setdefault(item, set()).add(row)
        heapq.heappush(self.heap, (row[0], item))
        self.dirty.add(item)

    def load(self, read: Sequence[tuple[Any, ...]]) -> None:
        """Replace the rows kept by these (item, group, type, ms, event id), read from scratch."""
        rows_of: dict[str, set[tuple[int, str, str, str]]] = {}
        for item, group, event_type, ms, event_id in read:
            rows_of.setdefault(str(item), set()).add((int(ms), str(event_type), str(group), str(event_id)))
        self.rows, self.items, self.dirty = rows_of, {}, set(rows_of)
        self.heap = [(min(r)[0], item) for item, r in rows_of.items()]
        heapq.heapify(self.heap)

    def build(self, since: int) -> list[PendingItem]:
        """The items as sla_emails.sql / sla_cases.sql aggregate the rows since `since`: opened at the first
        start, answered at the first end, only items with a start. The heap holds each item's oldest row (and
        maybe stale entries, which only make an item be rebuilt once more)."""
        while self.heap and self.heap[0][0] < since:
            self.dirty.add(heapq.heappop(self.heap)[1])
        start, end = self.start, self.end
        rows, items = self.rows, self.items
        # One pass over each dirty item's rows (two on a first tick of ~35,000 e-mails): no per-item lists.
        for item in self.dirty:
            kept = rows.get(item)
            if not kept:
                rows.pop(item, None)
                items.pop(item, None)
                continue
            oldest = min(kept)
            if oldest[0] < since:
                kept = {r for r in kept if r[0] >= since}
                if not kept:
                    rows.pop(item, None)
                    items.pop(item, None)
                    continue
                rows[item] = kept
                oldest = min(kept)
                heapq.heappush(self.heap, (oldest[0], item))
            opened = answered = None
            for ms, kind, _, _ in kept:
                if kind == start:
                    opened = ms if opened is None or ms < opened else opened
                elif kind == end:
                    answered = ms if answered is None or ms < answered else answered
            if opened is None:
                items.pop(item, None)
                continue
            items[item] = PendingItem(item, oldest[2], _at(opened),  # type: ignore[arg-type]
                                      _at(answered))
        self.dirty.clear()
        self.since = since
        return list(self.items.values())


class SlaReader:
    """Blocking reads (run in a thread): the event-time clocks and the monitor's inputs.

    Incremental (the default): the clocks, e-mails and cases of call_events and cases are kept between ticks and
    advanced with the rows stored since the sink's watermarks last moved; a tick with nothing new reads the
    watermarks only. It starts from scratch on its first tick (a new leader), when a partition's watermark goes
    back or its rows grow without its offset (a replay, rows written outside the sink), when a new row shares a
    stored row's sorting key (FINAL may show another version) and when the clock goes back. With
    `incremental=False` every tick re-reads the tables (the path before; kept to compare)."""

    def __init__(self, settings: Settings, *, incremental: bool = True) -> None:
        self._settings = settings
        self._client: Client | None = None
        self._follow = {f.table: f for f in (
            _Followed("call_events", "queue", "email_received", "email_answered"),
            _Followed("cases", "case_type", "opened", "closed"),
        )} if incremental else {}

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
        followed = self._follow.get(table)
        if followed is None:
            partitions = self._rows("event_clock", table=table)
        else:
            self._advance(followed)
            if not followed.parts:
                return None
            # As event_clock.sql: whole seconds between the newest ingestion and the store's clock.
            now_s = int(self._rows("sla_store_now")[0][0]) // 1000
            partitions = [(ms, now_s - ingested // 1000) for ms, ingested in followed.parts.values()]
        if not partitions:
            return None
        active = [ms for ms, idle in partitions if idle < self.conf.clock_idle_s]
        return _at(min(active) if active else max(ms for ms, _ in partitions))

    def _advance(self, f: _Followed) -> None:
        """Move the table's cursor to the watermarks, reading only the rows stored since (or from scratch)."""
        high = {str(k): (int(o), int(n)) for k, o, n in self._rows("sla_high_water", table=f.table)}
        cursor = f.cursor
        if cursor is not None and high == cursor:
            f.last = "none"
            return
        f.last = "new"
        if cursor is None or not _follows(cursor, high):
            f.last = "scratch"
            # From scratch: the watermarks first, so a row stored meanwhile is read twice at worst (every
            # aggregate kept here is a max, a min or a set: reading a row twice changes nothing).
            f.parts = {str(k): (int(ms), int(ing)) for k, ms, ing in self._rows("event_clock_rows", table=f.table)}
            f.since, f.cursor = None, high
            return
        least = min((o + 1 for o, _ in cursor.values()), default=0) if set(high) <= set(cursor) else 0
        span: dict[str, Any] = {"least": least, "next_keys": list(cursor),
                                "next_offsets": [o + 1 for o, _ in cursor.values()], "upto_keys": list(high),
                                "upto_offsets": [o for o, _ in high.values()]}
        new = self._rows("sla_new_calls", **span) if f.table == "call_events" else self._rows("sla_new_cases", **span)
        parts = dict(f.parts)
        deadline: list[tuple[str, tuple[int, str, str, str]]] = []
        for part, ms, ingested, item, group, event_type, event_id in new:
            newest, last = parts.get(part, (ms, ingested))
            parts[part] = (max(newest, ms), max(last, ingested))
            if item:
                deadline.append((str(item), (int(ms), str(event_type), str(group), str(event_id))))
        versions = sorted({(r[2], r[0], r[3]) for _, r in deadline})
        if f.since is not None and versions and int(self._rows(
                "sla_stored_versions", table=f.table, group=f.group, versions=versions)[0][0]) != len(versions):
            f.since = None  # an event stored again: its rows are read from scratch (FINAL) on this tick
            f.last = "scratch"
        if f.since is not None:
            for item, row in deadline:
                f.add(item, row)
        f.parts, f.cursor = parts, high

    def _items(self, table: str, since: datetime) -> list[PendingItem] | None:
        f = self._follow.get(table)
        if f is None:
            return None
        since_ms = _ms(since)
        if f.cursor is None:
            self._advance(f)
        if f.since is None or since_ms < f.since:
            f.load(self._rows("sla_email_rows", since=since_ms) if f.table == "call_events" else
                   self._rows("sla_case_rows", since=since_ms))
        return f.build(since_ms)

    def last_read(self, table: str) -> str:
        """What the last tick read of a followed table: "scratch", "new" or "none" ("" when not followed)."""
        followed = self._follow.get(table)
        return followed.last if followed is not None else ""

    def buckets(self, since: datetime) -> list[Bucket]:
        return [Bucket(q, org, datetime.fromtimestamp(b, UTC), int(offered), int(within), float(target))
                for q, org, b, offered, within, target in self._rows("sla_buckets", since=_ms(since))]

    def emails(self, since: datetime) -> list[PendingItem]:
        kept = self._items("call_events", since)
        if kept is not None:
            return kept
        return [PendingItem(cid, queue, _at(received), _at(answered) if n else None)  # type: ignore[arg-type]
                for cid, queue, received, answered, n in self._rows("sla_emails", since=_ms(since))]

    def cases(self, since: datetime) -> list[PendingItem]:
        kept = self._items("cases", since)
        if kept is not None:
            return kept
        return [PendingItem(cid, case_type, _at(opened), _at(closed) if n else None)  # type: ignore[arg-type]
                for cid, case_type, opened, closed, n in self._rows("sla_cases", since=_ms(since))]

    def complaints(self, since: datetime) -> list[ComplaintStory]:
        return [ComplaintStory(cid, customer, process, category, _at(r), _at(a), _at(c))
                for cid, customer, process, category, r, a, c in self._rows("sla_complaints", since=_ms(since))]


def _follows(cursor: dict[str, tuple[int, int]], high: dict[str, tuple[int, int]]) -> bool:
    """Do the watermarks `high` continue `cursor`: no partition gone, no offset back, rows grown exactly when
    the offset moved (otherwise rows were replayed or written outside the sink)."""
    if set(cursor) - set(high):
        return False
    for key, (offset, count) in high.items():
        before = cursor.get(key)
        if before is not None and (offset < before[0] or (offset == before[0]) != (count == before[1])):
            return False
    return True


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
