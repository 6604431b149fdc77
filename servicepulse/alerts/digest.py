"""Alert digests, pure: which waiting alerts go out together (rule, company or organisation, Stockholm day), when
(severity routing: now, every N minutes, daily) and how often a channel may be posted to (token buckets).

Nothing here keeps state a restart would need: when an item is due follows from when it was stored, and which
items went out in which digest is in the outbox (`alert_deliveries.digest_id`). The token buckets live in the
courier's memory and are seeded from the outbox when it starts, so a new leader does not burst past the limit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Literal

import orjson

from servicepulse.domain.rules import stable_id
from servicepulse.domain.zone import STOCKHOLM
from servicepulse.schemas.events import Alert, AlertState, Severity

__all__ = ["Digest", "Item", "RateLimit", "Schedule", "Section", "TokenBucket", "digest_id", "due_at", "due_sections",
           "pack", "route_of", "scope_of"]

Route = Literal["now", "batch", "daily"]
_URGENCY: dict[str, int] = {"now": 0, "batch": 1, "daily": 2}
# Detail fields naming the company or organisation an alert concerns, most specific first.
_SCOPE_FIELDS = ("company", "customer", "org", "organisation")
_COMPANY_CODE = re.compile(r"^\d{3,6}$")


@dataclass(frozen=True)
class Item:
    """An alert stored and not yet in a digest on the channel; `stored_at` is when the sink wrote it (UTC)."""

    alert: Alert
    stored_at: datetime


@dataclass(frozen=True)
class Section:
    """The waiting items of one rule and company/organisation (scope), in the order stored."""

    rule_id: str
    scope: str
    alerts: tuple[Alert, ...]


@dataclass(frozen=True)
class Digest:
    """One chat message, made on a Stockholm day: one section (rule, scope), or, when the channel's rate limit
    leaves fewer messages than sections are due, the last message takes every remaining section. Its id is derived
    from the channel, the day and the alert ids, so the digest posted again after a crash has the same id."""

    digest_id: str
    channel: str
    day: date
    sections: tuple[Section, ...]

    @property
    def alerts(self) -> tuple[Alert, ...]:
        return tuple(a for s in self.sections for a in s.alerts)


@dataclass(frozen=True)
class Schedule:
    routes: Mapping[str, Route]
    batch_minutes: float
    daily_at: time
    max_items: int = 60


def scope_of(alert: Alert) -> str:
    """The company or organisation of an alert: a naming field of its details, else the first part of its key
    after the rule id when that is a ledger company code (suspense `gl.suspense_aged:<company>:<voucher>`), else
    "" (the whole administration: answer groups, source topics and the complaint backlog are not organisations)."""
    try:
        details = orjson.loads(alert.details_json or "{}")
    except orjson.JSONDecodeError:
        details = {}
    if isinstance(details, dict):
        for name in _SCOPE_FIELDS:
            value = details.get(name)
            if isinstance(value, str) and value:
                return value
    rest = alert.alert_key.removeprefix(f"{alert.rule_id}:")
    if rest == alert.alert_key or ":" not in rest:
        return ""
    first = rest.split(":", 1)[0]
    return first if _COMPANY_CODE.match(first) else ""


def route_of(alert: Alert, routes: Mapping[str, Route]) -> Route:
    """Severity routing; a resolve is info (`build_alert`), so it follows the info route."""
    return routes.get(Severity(alert.severity).value, "batch")


def due_at(item: Item, route: Route, schedule: Schedule) -> datetime:
    """When an item may go out: at once; at the first multiple of `batch_minutes` (Stockholm clock, from
    midnight) after it was stored; or at the first `daily_at` after it was stored."""
    stored = item.stored_at.astimezone(STOCKHOLM)
    if route == "now":
        return stored
    midnight = stored.replace(hour=0, minute=0, second=0, microsecond=0)
    if route == "batch":
        step = timedelta(minutes=schedule.batch_minutes)
        slots = int((stored - midnight) / step) + 1
        # The wall-clock sum keeps the slots on the local clock across a DST change; the last one is midnight.
        return min(midnight + slots * step, _local_midnight_after(stored))
    daily = stored.replace(hour=schedule.daily_at.hour, minute=schedule.daily_at.minute, second=0, microsecond=0)
    if daily <= stored:
        daily = datetime.combine(stored.date() + timedelta(days=1), schedule.daily_at, STOCKHOLM)
    return daily


def _local_midnight_after(moment: datetime) -> datetime:
    return datetime.combine(moment.date() + timedelta(days=1), time(0), STOCKHOLM)


def digest_id(channel: str, day: date, alert_ids: Iterable[str]) -> str:
    return stable_id("digest", channel, day.isoformat(), *sorted(alert_ids))


def due_sections(items: Sequence[Item], now: datetime, schedule: Schedule) -> list[Section]:
    """The sections due at `now`: every (rule, scope) group with at least one item due takes all its waiting items
    along (a resolve rides with its group's next digest), in parts of at most `max_items`. Most urgent first, then
    oldest item first; within a section in the order stored (a raise before its resolve)."""
    groups: dict[tuple[str, str], list[Item]] = {}
    for item in items:
        groups.setdefault((item.alert.rule_id, scope_of(item.alert)), []).append(item)
    ready: list[tuple[int, datetime, Section]] = []
    for (rule_id, scope), members in groups.items():
        routes = [route_of(m.alert, schedule.routes) for m in members]
        due = [r for m, r in zip(members, routes, strict=True) if due_at(m, r, schedule) <= now]
        if not due:
            continue
        urgency = min(_URGENCY[r] for r in due)
        members.sort(key=lambda m: (m.stored_at, m.alert.occurred_at, m.alert.state is AlertState.resolved,
                                    m.alert.alert_id))
        for start in range(0, len(members), schedule.max_items):
            part = tuple(m.alert for m in members[start:start + schedule.max_items])
            ready.append((urgency, members[start].stored_at, Section(rule_id, scope, part)))
    ready.sort(key=lambda r: (r[0], r[1], r[2].rule_id, r[2].scope, r[2].alerts[0].alert_id))
    return [s for _, _, s in ready]


def pack(sections: Sequence[Section], messages: int, channel: str, day: date, max_items: int) -> list[Digest]:
    """At most `messages` digests of `sections`: one per section while they last; when there are more sections
    than messages, the last message takes the remaining sections, up to `max_items` items (the rest wait, held,
    for the next digest)."""
    if messages <= 0 or not sections:
        return []
    if len(sections) <= messages:
        groups = [[s] for s in sections]
    else:
        groups = [[s] for s in sections[:messages - 1]]
        last: list[Section] = []
        for section in sections[messages - 1:]:
            if last and sum(len(s.alerts) for s in last) + len(section.alerts) > max_items:
                break
            last.append(section)
        groups.append(last)
    return [Digest(digest_id(channel, day, (a.alert_id for s in g for a in s.alerts)), channel, day, tuple(g))
            for g in groups]


@dataclass
class TokenBucket:
    """`capacity` tokens, refilled at `capacity` per `period_s`; a message takes one."""

    capacity: int
    period_s: float
    tokens: float = field(default=-1.0)
    at: float = 0.0

    def __post_init__(self) -> None:
        if self.tokens < 0:
            self.tokens = float(self.capacity)

    def _refill(self, now: float) -> None:
        if now > self.at:
            self.tokens = min(float(self.capacity), self.tokens + (now - self.at) * self.capacity / self.period_s)
        self.at = max(self.at, now)

    def available(self, now: float) -> bool:
        self._refill(now)
        return self.tokens >= 1.0

    def take(self, now: float) -> None:
        self._refill(now)
        self.tokens -= 1.0


@dataclass
class RateLimit:
    """A channel's limits: a per-minute and a per-hour bucket; a message needs a token from both."""

    per_minute: TokenBucket
    per_hour: TokenBucket

    @classmethod
    def of(cls, per_minute: int, per_hour: int, now: float, sent_last_minute: int = 0,
           sent_last_hour: int = 0) -> RateLimit:
        """Buckets as if the messages the outbox shows in the last minute and hour had been taken from them."""
        limit = cls(TokenBucket(per_minute, 60.0, at=now), TokenBucket(per_hour, 3600.0, at=now))
        limit.per_minute.tokens = max(0.0, per_minute - sent_last_minute)
        limit.per_hour.tokens = max(0.0, per_hour - sent_last_hour)
        return limit

    def available(self, now: float) -> int:
        """Messages that may go out now."""
        self.per_minute.available(now)
        self.per_hour.available(now)
        return int(min(self.per_minute.tokens, self.per_hour.tokens))

    def take(self, now: float) -> None:
        self.per_minute.take(now)
        self.per_hour.take(now)
