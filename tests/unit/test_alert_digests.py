"""Alert digests, pure and through the courier with an in-memory outbox: grouping by rule, company and day,
severity routing on the Stockholm clock, the rate limit holding items for a later digest, and an outage, a
restart and a store that cannot record losing nothing and posting nothing twice."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from pydantic import SecretStr

from servicepulse.alerts.digest import (
    Item,
    RateLimit,
    Schedule,
    Section,
    TokenBucket,
    due_at,
    due_sections,
    pack,
    scope_of,
)
from servicepulse.config import AlertChannel, load_settings
from servicepulse.connectors.webhooks import Attempt, Outcome, classify
from servicepulse.domain.zone import STOCKHOLM
from servicepulse.schemas.events import Alert
from servicepulse.streams.readback.alert_delivery import Courier, Outgoing

T = datetime(2026, 3, 12, 9, 3, tzinfo=UTC)  # 10:03 in Stockholm
SCHEDULE = Schedule({"critical": "now", "high": "now", "medium": "batch", "low": "daily", "info": "batch"}, 10,
                    time(7, 30), max_items=5)


def alert(i: int, company: str = "1040", severity: str = "medium", rule_id: str = "gl.suspense_aged",
          state: str = "raised", key: str | None = None) -> Alert:
    return Alert(alert_id=f"{rule_id}-{company}-{i}-{state}", alert_key=key or f"{rule_id}:{company}:A {i}",
                 state=state, severity=severity, rule_id=rule_id, rule_version=1, title=f"Item {i}", occurred_at=T)


def test_scope_is_the_company_or_organisation() -> None:
    assert scope_of(alert(1, "1040")) == "1040"
    with_customer = alert(1).model_copy(update={"alert_key": "complaints.ack_deadline:C-1", "details_json":
                                                '{"customer": "Socialförvaltningen", "complaint_id": "C-1"}'})
    assert scope_of(with_customer) == "Socialförvaltningen"
    # Answer groups, source topics and the backlog's time are not organisations: the whole administration.
    assert scope_of(alert(1, key="contact.email_deadline:kc-social:2026-03-12", rule_id="contact.email_deadline")) == ""
    assert scope_of(alert(1, key="ops.dead_letters:call-events:2026-03-12T10:00:00+01:00",
                          rule_id="ops.dead_letters")) == ""
    assert scope_of(alert(1, key="complaints.backlog:2026-03-12T10:00:00+01:00", rule_id="complaints.backlog")) == ""


def test_routes_reckon_on_the_stockholm_clock() -> None:
    item = Item(alert(1), T)
    assert due_at(item, "now", SCHEDULE) == T
    assert due_at(item, "batch", SCHEDULE) == datetime(2026, 3, 12, 10, 10, tzinfo=STOCKHOLM)
    assert due_at(item, "daily", SCHEDULE) == datetime(2026, 3, 13, 7, 30, tzinfo=STOCKHOLM)
    early = Item(alert(1), datetime(2026, 3, 12, 5, 0, tzinfo=UTC))  # 06:00 Stockholm: today's 07:30
    assert due_at(early, "daily", SCHEDULE) == datetime(2026, 3, 12, 7, 30, tzinfo=STOCKHOLM)
    # Across the spring DST change (29 March 2026, 02:00 -> 03:00): the daily time stays 07:30 local.
    spring = Item(alert(1), datetime(2026, 3, 28, 20, 0, tzinfo=UTC))
    assert due_at(spring, "daily", SCHEDULE).astimezone(UTC) == datetime(2026, 3, 29, 5, 30, tzinfo=UTC)
    late = Item(alert(1), datetime(2026, 3, 12, 22, 55, tzinfo=UTC))  # 23:55: the last slot ends at midnight
    assert due_at(late, "batch", SCHEDULE) == datetime(2026, 3, 13, 0, 0, tzinfo=STOCKHOLM)


def test_one_section_per_rule_and_company_with_all_its_waiting_items() -> None:
    items = [Item(alert(i, "1040"), T) for i in range(3)] + [Item(alert(9, "1050"), T)]
    assert due_sections(items, T + timedelta(minutes=5), SCHEDULE) == []  # batch slot not over yet
    sections = due_sections(items, T + timedelta(minutes=7), SCHEDULE)
    assert [(s.rule_id, s.scope, len(s.alerts)) for s in sections] == [
        ("gl.suspense_aged", "1040", 3), ("gl.suspense_aged", "1050", 1)]
    # One high item makes its group due at once and takes the waiting medium items along; high goes first.
    urgent = [*items, Item(alert(5, "1050", "high"), T + timedelta(minutes=1))]
    now = T + timedelta(minutes=1)
    assert [(s.scope, len(s.alerts)) for s in due_sections(urgent, now, SCHEDULE)] == [("1050", 2)]
    # More than max_items: parts.
    big = [Item(alert(i), T) for i in range(12)]
    assert [len(s.alerts) for s in due_sections(big, T + timedelta(minutes=7), SCHEDULE)] == [5, 5, 2]


def test_pack_merges_sections_over_the_limit_into_the_last_message() -> None:
    sections = [Section("r", c, (alert(1, c),)) for c in ("a", "b", "c", "d")]
    day = date(2026, 3, 12)
    assert pack(sections, 0, "ch", day, 5) == []
    assert [[s.scope for s in d.sections] for d in pack(sections, 9, "ch", day, 5)] == [["a"], ["b"], ["c"], ["d"]]
    assert [[s.scope for s in d.sections] for d in pack(sections, 2, "ch", day, 5)] == [["a"], ["b", "c", "d"]]
    # The merged message stops at max_items: the rest waits.
    assert [[s.scope for s in d.sections] for d in pack(sections, 2, "ch", day, 2)] == [["a"], ["b", "c"]]
    again = pack(sections, 2, "ch", day, 5)
    assert [d.digest_id for d in again] == [d.digest_id for d in pack(sections, 2, "ch", day, 5)]


def test_token_buckets() -> None:
    bucket = TokenBucket(3, 60.0, at=0.0)
    for _ in range(3):
        assert bucket.available(0.0)
        bucket.take(0.0)
    assert not bucket.available(10.0) and bucket.available(20.0)
    limit = RateLimit.of(3, 5, 0.0, sent_last_minute=1, sent_last_hour=4)
    assert limit.available(0.0) == 1
    limit.take(0.0)
    assert limit.available(0.0) == 0 and limit.available(720.0) == 1  # the hour bucket: one per 12 minutes


class MemoryOutbox:
    """The outbox table in memory, with the same rules as the SQL: an alert in a digest is no longer waiting; a
    digest with a delivered or rejected row is done."""

    def __init__(self, channel: str = "chat") -> None:
        self.channel = channel
        self.alerts: list[Item] = []
        self.rows: list[tuple[str, str, str, int]] = []  # alert_id, digest_id, state, attempts
        self.digests: dict[str, Outgoing] = {}
        self.fail_writes = False
        self.fail_outcomes = False

    def due(self, limit: int, lookback_h: int) -> list[tuple[Item, int]]:
        assigned = {r[0] for r in self.rows}
        return [(i, 0) for i in self.alerts if i.alert.alert_id not in assigned][:limit]

    def open_digests(self) -> list[Outgoing]:
        done = {r[1] for r in self.rows if r[2] != "pending"}
        attempts = Counter[str]()
        for r in self.rows:
            attempts[r[1]] = max(attempts[r[1]], r[3])
        return [Outgoing(o.digest, o.made_at, attempts[k]) for k, o in self.digests.items() if k not in done]

    def sent_recently(self) -> tuple[int, int]:
        return 0, len(self.digests)

    def record(self, outgoing: Outgoing, attempt: Attempt | None) -> None:
        if self.fail_writes or (self.fail_outcomes and attempt is not None):
            raise ConnectionError("store down")
        state = "pending" if attempt is None else attempt.outcome.value
        self.digests.setdefault(outgoing.digest.digest_id, outgoing)
        self.rows += [(a.alert_id, outgoing.digest.digest_id, state, outgoing.attempts) for a in outgoing.digest.alerts]


class Chat:
    """An endpoint answering `status`; counts 200 answers per Idempotency-Key and the alert ids each lists."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.calls = 0
        self.delivered: Counter[str] = Counter()
        self.listed: Counter[str] = Counter()

    async def post(self, payload: dict[str, Any], key: str) -> Attempt:
        self.calls += 1
        outcome = classify(self.status)
        if outcome is Outcome.delivered:
            self.delivered[key] += 1
            self.listed.update(i["alert_id"] for s in payload["sections"] for i in s["items"])
        return Attempt(outcome, "" if outcome is Outcome.delivered else f"HTTP {self.status}")


class Clock:
    def __init__(self) -> None:
        self.wall = T
        self.mono = 1000.0

    def advance(self, seconds: float) -> None:
        self.wall += timedelta(seconds=seconds)
        self.mono += seconds


def courier(outbox: MemoryOutbox, chat: Chat, clock: Clock, **conf: Any) -> Courier:
    settings = load_settings().alerts.model_copy(update={"webhook_backoff_s": 1.0, "webhook_backoff_max_s": 4.0,
                                                         **conf})
    channel = AlertChannel(name=outbox.channel, kind="generic", url=SecretStr("http://127.0.0.1:1/x"))
    return Courier(outbox, chat, settings, channel, wall=lambda: clock.wall, mono=lambda: clock.mono)


def test_an_outage_and_a_restart_lose_nothing_and_post_nothing_twice() -> None:
    async def scenario() -> None:
        outbox, chat, clock = MemoryOutbox(), Chat(503), Clock()
        outbox.alerts = [Item(alert(i, "1040", "high"), T) for i in range(4)]
        c = courier(outbox, chat, clock)
        assert await c.tick() == 0 and chat.calls == 1
        assert await c.tick() == 0 and chat.calls == 1  # backing off
        # Arriving during the outage: waits in no digest (the open one goes first), merged into the next one.
        outbox.alerts.append(Item(alert(7, "1040", "high"), T))
        clock.advance(1.5)
        assert await c.tick() == 0 and chat.calls == 2
        chat.status = 200
        # A new courier (a restarted worker, a new leader) posts the open digest again under the same id.
        c = courier(outbox, chat, clock)
        assert await c.tick() == 5
        assert await c.tick() == 0 and await courier(outbox, chat, clock).tick() == 0
        assert list(chat.delivered.values()) == [1, 1] and len(outbox.digests) == 2
        assert chat.listed == Counter({i.alert.alert_id: 1 for i in outbox.alerts})

    asyncio.run(scenario())


def test_the_rate_limit_holds_items_for_a_later_digest() -> None:
    async def scenario() -> None:
        outbox, chat, clock = MemoryOutbox(), Chat(), Clock()
        outbox.alerts = [Item(alert(1, c, "high"), T) for c in ("1010", "1020", "1030")]
        c = courier(outbox, chat, clock, rate_per_minute=2, rate_per_hour=100)
        assert await c.tick() == 3 and len(chat.delivered) == 2  # 1010 alone, 1020 and 1030 merged
        outbox.alerts += [Item(alert(2, "1010", "high"), T), Item(alert(3, "1010", "high"), T)]
        assert await c.tick() == 0 and c.held == 2  # no token: held, not dropped
        clock.advance(31)
        assert await c.tick() == 2 and len(chat.delivered) == 3
        assert chat.listed == Counter({i.alert.alert_id: 1 for i in outbox.alerts})

    asyncio.run(scenario())


def test_a_refused_digest_is_not_retried_and_an_unrecorded_outcome_stops_posting() -> None:
    async def scenario() -> None:
        outbox, chat, clock = MemoryOutbox(), Chat(400), Clock()
        outbox.alerts = [Item(alert(1, "1010", "high"), T)]
        c = courier(outbox, chat, clock)
        assert await c.tick() == 0 and await c.tick() == 0 and chat.calls == 1
        outbox2, chat2 = MemoryOutbox(), Chat()
        outbox2.alerts = [Item(alert(1, "1010", "high"), T)]
        c = courier(outbox2, chat2, clock)
        assert await c.tick() == 1  # assigned, posted
        outbox2.alerts.append(Item(alert(2, "1020", "high"), T))
        outbox2.fail_writes = True
        assert await c.tick() == 0 and chat2.calls == 1  # cannot assign: nothing posted
        outbox2.fail_writes = False
        assert await c.tick() == 1 and chat2.listed == Counter({i.alert.alert_id: 1 for i in outbox2.alerts})

    asyncio.run(scenario())


def test_an_outcome_the_store_cannot_record_stops_posting_until_it_is_written() -> None:
    async def scenario() -> None:
        outbox, chat, clock = MemoryOutbox(), Chat(), Clock()
        outbox.alerts = [Item(alert(1, "1010", "high"), T)]
        c = courier(outbox, chat, clock)
        outbox.fail_outcomes = True
        assert await c.tick() == 0 and len(chat.delivered) == 1 and len(c.unrecorded) == 1
        outbox.alerts.append(Item(alert(2, "1020", "high"), T))
        assert await c.tick() == 0 and chat.calls == 1  # still unrecorded: nothing posted
        outbox.fail_outcomes = False
        assert await c.tick() == 1 and not c.unrecorded  # the outcome written first, then 1020's digest
        assert list(chat.delivered.values()) == [1, 1]
        assert chat.listed == Counter({i.alert.alert_id: 1 for i in outbox.alerts})

    asyncio.run(scenario())
