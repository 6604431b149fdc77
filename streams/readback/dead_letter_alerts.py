"""The dead-letter alert step: on the leader, read the first dead letter of every source and hour back from
ClickHouse and raise `ops.dead_letters` once per source topic and hour.

A per-event agent on the dead-letter topic would raise the alert once per worker (each with its own memory of
what it raised, the dead-letter partitions spread over the workers) and again after each restart. Reading the
stored dead letters back on one runner, with the raised keys read back from the alerts table, raises each
hour's alert once, with the same id and fields whoever computes it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

import faust
import structlog
from clickhouse_connect.driver.client import Client

from servicepulse.config import Settings
from servicepulse.connectors.clickhouse import ThreadClients
from servicepulse.connectors.serde import WireCodec
from servicepulse.schemas.events import Alert, DeadLetter, DeadLetterKind

from ..emit import send_all
from ..ops.rules import DEAD_LETTERS, dead_letter_alert
from .finance_review import raised_alert_keys
from .queries import rows

__all__ = ["first_letters", "new_alerts", "register", "stored_alert_ids"]

log = structlog.get_logger(__name__)


def first_letters(client: Client, hours: int) -> list[DeadLetter]:
    """The first stored dead letter of every source topic and Stockholm hour (payload left out)."""
    return [
        DeadLetter.model_construct(source_topic=str(topic), source_partition=int(partition),
                                   source_offset=int(offset), kind=DeadLetterKind(kind), reason=str(reason),
                                   schema_id=None, stage=str(stage), source_key=None, payload=b"",
                                   failed_at=datetime.fromtimestamp(ms / 1000, UTC))
        for topic, partition, offset, kind, reason, stage, ms in rows(client, "dead_letter_hours", hours=hours)
    ]


def new_alerts(letters: Sequence[DeadLetter], raised: set[str]) -> list[Alert]:
    """One alert per source and hour not raised yet (pure)."""
    out = []
    seen: set[str] = set(raised)
    for letter in letters:
        keys, alert = dead_letter_alert(letter, seen, DEAD_LETTERS)
        seen = keys
        if alert is not None:
            out.append(alert)
    return out


def stored_alert_ids(client: Client, ids: Sequence[str]) -> set[str]:
    """Which of `ids` the alerts table holds already."""
    if not ids:
        return set()
    return {str(i) for (i,) in rows(client, "alerts_stored", ids=list(ids))}


def register(app: faust.App, settings: Settings, codec: WireCodec) -> None:
    conf = settings.readback
    alerts_topic = app.topic(settings.kafka.topics.alerts, key_type=bytes, value_type=bytes)
    clients = ThreadClients(settings.clickhouse)
    sent: set[str] = set()  # sent by this runner, not necessarily stored yet

    def derive() -> list[Alert]:
        client = clients.get()
        raised = raised_alert_keys(client, DEAD_LETTERS.rule_id)
        return [a for a in new_alerts(first_letters(client, conf.dead_letter_lookback_h), raised)
                if a.alert_id not in sent]

    async def tick() -> None:
        try:
            alerts = await asyncio.to_thread(derive)
            if alerts:
                await send_all(alerts_topic, codec, alerts)
                sent.update(a.alert_id for a in alerts)
                log.info("dead-letter alerts", count=len(alerts))
        except Exception as exc:  # store or Kafka not answering: the next tick derives the same alerts again
            log.warning("dead-letter alert step failed", error=repr(exc))

    app.timer(conf.dead_letter_tick_s, on_leader=True, name="ops-dead-letter-alerts")(tick)
