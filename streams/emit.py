"""Decoding inputs and sending outputs for rule agents: bad input is left to the sink's dead-letter path."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import faust

from servicepulse.connectors.serde import DecodeError, WireCodec
from servicepulse.schemas.events import Event

__all__ = ["decode_or_none", "send_all"]


def decode_or_none(codec: WireCodec, payload: bytes | None, model: type[Event]) -> Event | None:
    # The sink agent on the same topic already dead-letters what does not decode; rules just skip it.
    try:
        return codec.decode(payload, model)
    except DecodeError:
        return None


async def send_all(topic: faust.TopicT, codec: WireCodec, events: Sequence[Event]) -> None:
    """Send and wait for delivery, so the input is acked only after its outputs are in Kafka."""
    futures = [await topic.send(key=e.key(), value=codec.encode(e)) for e in events]
    if futures:
        await asyncio.gather(*futures)
