"""Alerts raised once: HTTP outcomes and backoff of the webhook, the send/ack discipline of rule agents, transient
registry failures, dead-letter alerts read back, and event-time fields (the digest courier: test_alert_digests)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn

import pytest

from servicepulse.connectors.serde import ConfluentRegistry, FileRegistry, RegistryUnavailable, WireCodec
from servicepulse.connectors.webhooks import Outcome, backoff, classify
from servicepulse.schemas.events import CallEvent, DeadLetter
from servicepulse.streams.emit import decode_or_wait, send_or_leave
from servicepulse.streams.readback.dead_letter_alerts import new_alerts

T = datetime(2026, 3, 12, 10, 0, tzinfo=UTC)


class Left(Exception):
    """Stands in for the process leaving (os._exit) in tests."""


def leave(reason: str, **_: Any) -> NoReturn:
    raise Left(reason)


def test_http_answers_and_backoff() -> None:
    assert [classify(s) for s in (200, 204, 503, 500, 429, 408, 400, 404)] == [
        Outcome.delivered, Outcome.delivered, Outcome.pending, Outcome.pending, Outcome.pending, Outcome.pending,
        Outcome.rejected, Outcome.rejected]
    assert [backoff(n, 1.0, 30.0) for n in range(8)] == [0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]


def test_rule_agent_sends_are_retried_then_the_process_leaves_before_the_ack() -> None:
    calls = []

    async def flaky() -> None:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("broker busy")

    asyncio.run(send_or_leave(flaky, "test", backoff_s=0.001, leave=leave))
    assert len(calls) == 3

    async def down() -> None:
        calls.append(1)
        raise ConnectionError("broker down")

    calls.clear()
    with pytest.raises(Left, match="outputs not delivered"):
        asyncio.run(send_or_leave(down, "test", attempts=4, backoff_s=0.001, leave=leave))
    assert len(calls) == 4


class _Answer(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.http_status_code = status


class _FlakyClient:
    """A Schema Registry client whose lookups fail with `errors` (in turn), then answer."""

    def __init__(self, errors: list[Exception], schema: str) -> None:
        self.errors = errors
        self.schema = schema

    def get_schema(self, schema_id: int) -> Any:
        if self.errors:
            raise self.errors.pop(0)
        return type("Found", (), {"schema_str": self.schema})()


def _registry(errors: list[Exception]) -> tuple[ConfluentRegistry, bytes]:
    files = FileRegistry()
    payload = WireCodec(files).encode(CallEvent(
        event_id="c1:offered", contact_id="c1", event_type="offered", channel="phone", queue="q", org="o",
        occurred_at=T, source="test"))
    registry = ConfluentRegistry.__new__(ConfluentRegistry)
    registry._ids, registry._schemas = {}, {}
    registry._lock = __import__("threading").Lock()
    schema = files.schema_for(int.from_bytes(payload[1:5], "big"))
    registry._client = _FlakyClient(errors, json.dumps(schema))  # type: ignore[assignment]
    return registry, payload


def test_a_registry_outage_is_transient_and_only_an_unknown_id_is_a_dead_letter() -> None:
    registry, payload = _registry([ConnectionError("refused"), _Answer(503)])
    codec = WireCodec(registry)
    with pytest.raises(RegistryUnavailable):
        codec.decode(payload, CallEvent)
    # The agent waits for the registry instead of dropping the event: the third lookup answers.
    registry, payload = _registry([ConnectionError("refused"), _Answer(503)])
    decoded = asyncio.run(decode_or_wait(WireCodec(registry), payload, CallEvent, "test", backoff_s=0.001,
                                         leave=leave))
    assert isinstance(decoded, CallEvent) and decoded.contact_id == "c1"
    # Still down after the retries: the process leaves (redelivery), it never turns the event into a dead letter.
    registry, payload = _registry([ConnectionError("refused")] * 10)
    with pytest.raises(Left, match="schema registry unavailable"):
        asyncio.run(decode_or_wait(WireCodec(registry), payload, CallEvent, "test", attempts=3, backoff_s=0.001,
                                   leave=leave))
    # A registry that answers 404 does not know the id: that one is a dead letter (None here).
    registry, payload = _registry([_Answer(404)])
    assert asyncio.run(decode_or_wait(WireCodec(registry), payload, CallEvent, "test", leave=leave)) is None


def _letter(minute: int, topic: str, partition: int, offset: int) -> DeadLetter:
    return DeadLetter(source_topic=topic, source_partition=partition, source_offset=offset, kind="undecodable",
                      reason=f"bad bytes at {offset}", stage="sink", payload=b"",
                      failed_at=T + timedelta(minutes=minute))


def test_dead_letter_alerts_are_the_same_whoever_derives_them() -> None:
    firsts = [_letter(1, "call-events", 0, 10), _letter(7, "complaints", 1, 3), _letter(65, "call-events", 2, 4)]
    alerts = new_alerts(firsts, set())
    assert [(a.alert_key.split(":")[1], a.occurred_at) for a in alerts] == [
        ("call-events", T), ("complaints", T), ("call-events", T + timedelta(hours=1))]
    # Every field comes from the hour and its first letter: derived again (a new leader), nothing differs.
    assert new_alerts(firsts, set()) == alerts
    # Keys already raised (read back from the alerts table) raise nothing.
    assert new_alerts(firsts, {a.alert_key for a in alerts[:2]}) == alerts[2:]
    assert json.loads(alerts[0].details_json)["first_reason"] == "bad bytes at 10"
