"""The SLA monitor: turns exact window counts and deadline items (read from ClickHouse by the agent) into
alerts, on an event-time clock (the newest event time seen), remembering what it has raised.

Pure: no Faust, Kafka or ClickHouse here. After a restart a fresh monitor re-derives the same alerts with
the same ids from the same exact counts, and the alerts table (FINAL) collapses them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from itertools import accumulate
from typing import NamedTuple

from servicepulse.domain.calendar import WorkingCalendar
from servicepulse.domain.parameters import Parameters
from servicepulse.domain.rules import Rule
from servicepulse.schemas.events import Alert, CallEvent, CallEventType, Channel

from ..complaints.rules import ACK_DEADLINE, BACKLOG, ComplaintStory, ack_alerts, backlog_at, backlog_step
from .metrics import DEFAULT_TARGETS, HOP_SIZE, HOP_STEP, QueueTarget, compute_windows, queue_target
from .rules import (
    CASE_LEAD_TIME,
    EMAIL_DEADLINE,
    SERVICE_LEVEL,
    BreachState,
    PendingItem,
    WindowResult,
    deadline_alerts,
    service_level_decides,
    service_level_step,
)

__all__ = ["Bucket", "SlaMonitor", "buckets_from_events", "pending_emails"]


def _step(moment: datetime) -> int:
    """Whole HOP_STEPs since the epoch (bucket starts are aligned to them)."""
    return int(moment.timestamp()) // int(HOP_STEP.total_seconds())


class Bucket(NamedTuple):
    """Exact counts of one answer group for contacts offered in one 5-minute step (a named tuple: a first tick
    reads ~60,000 of them)."""

    queue: str
    org: str
    start: datetime
    offered: int
    answered_within_threshold: int
    target: float


def buckets_from_events(
    events: Iterable[CallEvent], targets: Mapping[str, QueueTarget] = DEFAULT_TARGETS
) -> list[Bucket]:
    """The 5-minute buckets the agent reads from ClickHouse, computed from events (tests, replays)."""
    out = []
    for (queue, start), m in compute_windows(events, targets, size=HOP_STEP).items():
        target = queue_target(queue, targets).service_level
        out.append(Bucket(queue, m.org, start, m.offered, m.answered_within_threshold, target))
    return out


def pending_emails(events: Iterable[CallEvent]) -> list[PendingItem]:
    """E-mails received, with their answer time if answered."""
    received: dict[str, CallEvent] = {}
    answered: dict[str, CallEvent] = {}
    for e in events:
        if e.channel is Channel.email and e.event_type is CallEventType.email_received:
            received[e.contact_id] = e
        elif e.channel is Channel.email and e.event_type is CallEventType.email_answered:
            answered[e.contact_id] = e
    return [PendingItem(cid, r.queue, r.occurred_at, answered[cid].occurred_at if cid in answered else None)
            for cid, r in received.items()]


@dataclass
class SlaMonitor:
    """Closes rolling-hour windows on event time and keeps the raise/resolve state of every rule.

    A window [s, s + 1 h) is decided once the clock passes s + 1 h + `lateness`; contacts whose outcome
    arrives later still count in the ClickHouse views (always exact) but no longer change the alert.
    """

    calendar: WorkingCalendar = field(default_factory=WorkingCalendar)
    lateness: timedelta = timedelta(minutes=SERVICE_LEVEL["lateness_minutes"])
    sl_rule: Rule = SERVICE_LEVEL
    email_rule: Rule = EMAIL_DEADLINE
    case_rule: Rule = CASE_LEAD_TIME
    ack_rule: Rule = ACK_DEADLINE
    backlog_rule: Rule = BACKLOG
    decided_until: dict[str, datetime] = field(default_factory=dict)  # queue -> start of last decided window
    breaches: dict[str, BreachState | None] = field(default_factory=dict)
    email_state: dict[str, int] = field(default_factory=dict)
    case_state: dict[str, int] = field(default_factory=dict)
    ack_state: set[str] = field(default_factory=set)
    backlog_state: str | None = None
    backlog_checked: datetime | None = None
    # Deadlines already computed, per rule: (calendar, rule) they hold for and item -> (received, group,
    # deadline). A cache of a pure function, shared by snapshots (never decision state).
    _due: dict[str, tuple[object, dict[str, tuple[datetime, str, datetime]]]] = field(
        default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_parameters(cls, parameters: Parameters) -> SlaMonitor:
        """A monitor whose rules, lateness and office hours come from `parameters` (with any override file)."""
        sl_rule = SERVICE_LEVEL.using(parameters)
        return cls(calendar=WorkingCalendar.from_parameters(parameters),
                   lateness=timedelta(minutes=sl_rule["lateness_minutes"]), sl_rule=sl_rule,
                   email_rule=EMAIL_DEADLINE.using(parameters), case_rule=CASE_LEAD_TIME.using(parameters),
                   ack_rule=ACK_DEADLINE.using(parameters), backlog_rule=BACKLOG.using(parameters))

    def snapshot(self) -> SlaMonitor:
        """A copy to decide on, cheap whatever the history: the only containers changed in place are the
        per-queue maps of `service_level` (one entry per answer group); every other state is replaced whole
        by the pure rules (which copy what they change), and rules, calendar and states are immutable."""
        return replace(self, decided_until=dict(self.decided_until), breaches=dict(self.breaches))

    def earliest_needed(self, queue_default: datetime) -> datetime:
        """Oldest bucket start the next service-level call needs."""
        if not self.decided_until:
            return queue_default
        return min(self.decided_until.values()) + HOP_STEP

    def service_level(self, buckets: Iterable[Bucket], clock: datetime) -> list[Alert]:
        """Decide every rolling-hour window [s, s + 1 h) of each answer group closed by `clock` (s past the last
        decided one), oldest first. Each window's counts come from prefix sums over the 5-minute steps (not by
        summing its 12 buckets), and only the windows that change something (`service_level_decides`) are built
        and fed to `service_level_step`: the others (no bucket, too few contacts, a level that neither raises
        nor resolves) leave the breach state as it is. A month from scratch is ~64,000 windows."""
        by_queue: dict[str, dict[int, Bucket]] = {}
        for b in buckets:
            by_queue.setdefault(b.queue, {})[_step(b.start)] = b
        out: list[Alert] = []
        steps = HOP_SIZE // HOP_STEP
        rule = self.sl_rule
        for queue in sorted(by_queue):
            by_step = by_queue[queue]
            any_bucket = next(iter(by_step.values()))
            first = self.decided_until.get(queue)
            start = first + HOP_STEP if first is not None else \
                min(b.start for b in by_step.values()) - (steps - 1) * HOP_STEP
            # Windows start + k * HOP_STEP for k = 0 .. last are closed by the clock.
            last = (clock - self.lateness - HOP_SIZE - start) // HOP_STEP
            if last < 0:
                continue
            base = _step(start)
            # Only windows holding a bucket can decide: k from (oldest bucket - 11 steps) to the newest bucket.
            kept = [j - base for j in by_step if base <= j <= base + last + steps - 1]
            if kept:
                low, high = max(0, min(kept) - steps + 1), min(last, max(kept))
                # Per step from `low`: contacts offered, answered within threshold, and the next step holding a
                # bucket (a window's target is its oldest bucket's), as prefix sums over `low + n` steps.
                n = high - low + steps
                offered, within, nxt = [0] * (n + 1), [0] * (n + 1), [n] * (n + 1)
                for j, b in by_step.items():
                    at = j - base - low
                    if 0 <= at < n:
                        offered[at + 1], within[at + 1], nxt[at] = b.offered, b.answered_within_threshold, at
                offered = list(accumulate(offered))
                within = list(accumulate(within))
                for at in range(n - 1, -1, -1):
                    nxt[at] = min(nxt[at], nxt[at + 1])
                state = self.breaches.get(queue)
                for k in range(high - low + 1):
                    o = offered[k + steps] - offered[k]
                    w = within[k + steps] - within[k]
                    part = nxt[k]
                    if part >= k + steps:  # no bucket in this window
                        continue
                    target = by_step[base + low + part].target
                    if not service_level_decides(state is not None, o, w, target, rule):
                        continue
                    window_start = start + (low + k) * HOP_STEP
                    window = WindowResult(queue, any_bucket.org, window_start, window_start + HOP_SIZE, o, w, target)
                    state, alerts = service_level_step(state, window, rule)
                    out.extend(alerts)
                self.breaches[queue] = state
            self.decided_until[queue] = start + last * HOP_STEP
        return out

    def _open(self, name: str, rule: Rule, items: Sequence[PendingItem],
              due: Callable[[PendingItem], datetime]) -> tuple[list[PendingItem], Callable[[PendingItem], datetime]]:
        """The items that can still miss their deadline (an item answered by its deadline never counts, whatever
        the clock: `deadline_alerts` skips it), and their deadlines, each computed once per item (the calendar
        arithmetic is most of a tick's work otherwise)."""
        basis, before = self._due.get(name, (None, {}))
        if basis != (self.calendar, rule):
            before = {}
        now: dict[str, tuple[datetime, str, datetime]] = {}
        live = []
        for item in items:
            known = before.get(item.item_id)
            if known is None or known[0] != item.received_at or known[1] != item.group:
                known = (item.received_at, item.group, due(item))
            now[item.item_id] = known
            if item.answered_at is None or item.answered_at > known[2]:
                live.append(item)
        self._due[name] = ((self.calendar, rule), now)
        return live, lambda item: now[item.item_id][2]

    def emails(self, items: Sequence[PendingItem], clock: datetime) -> list[Alert]:
        days = self.email_rule["working_days"]
        live, due = self._open("email", self.email_rule, items,
                               lambda i: self.calendar.working_days_due(i.received_at, days))
        self.email_state, alerts = deadline_alerts(live, clock, self.email_state, self.calendar, self.email_rule,
                                                   due=due)
        return alerts

    def cases(self, items: Sequence[PendingItem], clock: datetime) -> list[Alert]:
        """Cases (group = case type) against their lead time "day 1-N"; types without a limit are not timed."""
        limits = self.case_rule["limits"]
        timed = [i for i in items if i.group in limits]
        live, due = self._open("case", self.case_rule, timed,
                               lambda i: self.calendar.case_day_due(i.received_at, limits[i.group]))
        self.case_state, alerts = deadline_alerts(
            live, clock, self.case_state, self.calendar, self.case_rule, due=due,
            noun="case(s)", done="closed", limit_text=lambda group: f"its lead time (day 1-{limits[group]})",
        )
        return alerts

    def complaints(self, items: Sequence[ComplaintStory], clock: datetime) -> list[Alert]:
        self.ack_state, out = ack_alerts(items, clock, self.ack_state, self.calendar, self.ack_rule)
        registered = [s.registered_at for s in items if s.registered_at is not None]
        if not registered:
            return out
        hour = (self.backlog_checked or min(registered)).replace(minute=0, second=0, microsecond=0)
        if self.backlog_checked is not None:
            hour += timedelta(hours=1)
        while hour <= clock:
            open_items = backlog_at(items, hour)
            oldest = max((age for _, age in open_items), default=None)
            self.backlog_state, alerts = backlog_step(self.backlog_state, hour, len(open_items), oldest,
                                                      self.backlog_rule)
            out.extend(alerts)
            self.backlog_checked = hour
            hour += timedelta(hours=1)
        return out
