"""Wiring shared by rule agents: decode the input topic, apply a pure step, send its outputs before acking."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import faust

from servicepulse.config import Settings
from servicepulse.connectors.serde import DecodeError, WireCodec
from servicepulse.schemas.events import Event

from .batches import take_events

__all__ = ["register_rule_agent", "send_all"]


async def send_all(topic: faust.TopicT, codec: WireCodec, events: Sequence[Event]) -> None:
    """Send and wait for delivery, so the input is acked only after its outputs are in Kafka."""
    futures = [await topic.send(key=e.key(), value=codec.encode(e)) for e in events]
    if futures:
        await asyncio.gather(*futures)


def register_rule_agent(
    app: faust.App,
    settings: Settings,
    codec: WireCodec,
    *,
    name: str,
    source: str,
    output: str,
    model: type[Event],
    step: Callable[[Event], Iterable[Event]],
) -> None:
    """An agent applying `step` to every decodable event of `source` and sending what it returns to `output`.

    Input that does not decode is skipped here: the sink agent on the same topic dead-letters it.
    """
    source_topic = app.topic(source, key_type=bytes, value_type=bytes)
    output_topic = app.topic(output, key_type=bytes, value_type=bytes)

    async def run(stream: faust.StreamT[Any]) -> None:
        async for events in take_events(stream, settings.sink.batch_max, settings.sink.batch_within_s):
            out: list[Event] = []
            for event in events:
                try:
                    decoded = codec.decode(event.message.value, model)
                except DecodeError:
                    continue
                out.extend(step(decoded))
            await send_all(output_topic, codec, out)

    app.agent(source_topic, name=name)(run)
