"""Consumer lag sampled for the dashboards: the leader asks the broker for the group's committed offsets and the
end offsets, and stores one row per partition in `consumer_lag` (the pipeline-health dashboard reads it)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import faust
import structlog

from servicepulse.config import Settings
from servicepulse.connectors.clickhouse import ThreadClients
from servicepulse.connectors.kafka import GroupProgress, consumer_progress, topic_names
from servicepulse.connectors.serde import WireCodec
from servicepulse.streams.sink_process import sink_group

__all__ = ["lag_rows", "register"]

log = structlog.get_logger(__name__)

COLUMNS = ("sampled_at", "consumer_group", "topic", "partition", "end_offset", "committed", "lag")


def lag_rows(progress: list[GroupProgress], group: str, at: datetime) -> list[tuple[Any, ...]]:
    """One row per partition; a partition the group never committed has no lag yet (NULL), not 0."""
    return [(at, group, p.topic, p.partition, p.high_watermark, p.committed, p.lag) for p in progress]


def register(app: faust.App, settings: Settings, codec: WireCodec) -> None:
    clients = ThreadClients(settings.clickhouse)
    # The lag that means "not yet queryable": the sink's group (it reads every topic), the workers' when they sink.
    group = settings.kafka.consumer_group if settings.sink.in_worker else sink_group(settings)

    def sample() -> int:
        # A sample time, not an event time: this row describes the pipeline at this moment, not the data.
        rows = lag_rows(consumer_progress(settings.kafka, group, topic_names(settings.kafka)), group,
                        datetime.now(UTC))
        if rows:
            clients.get().insert("consumer_lag", rows, column_names=list(COLUMNS))
        return len(rows)

    async def tick() -> None:
        try:
            await asyncio.to_thread(sample)
        except Exception as exc:  # the broker or the store may be starting: the next sample will do
            log.warning("consumer lag not sampled", error=type(exc).__name__, detail=str(exc)[:200])

    app.timer(settings.readback.lag_tick_s, on_leader=True, name="consumer-lag")(tick)
