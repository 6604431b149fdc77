"""Wiring shared by rule agents: decode the input topic, apply a pure step, send its outputs before acking."""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, NoReturn

import faust
import structlog

from servicepulse.config import Settings
from servicepulse.connectors.serde import DecodeError, RegistryUnavailable, WireCodec
from servicepulse.schemas.events import Event

from .batches import take_events

__all__ = ["EXIT_SEND_FAILED", "leave_before_ack", "register_rule_agent", "send_all", "send_or_leave"]

log = structlog.get_logger(__name__)

EXIT_SEND_FAILED = 70
"""Exit code of a worker that could not deliver a rule agent's outputs (the supervisor restarts it)."""

# Bounded so the retries of one batch stay well inside the consumer's max poll interval (60 s).
SEND_ATTEMPTS = 5
SEND_BACKOFF_S = 0.5
SEND_BACKOFF_CAP_S = 8.0


async def send_all(topic: faust.TopicT, codec: WireCodec, events: Sequence[Event]) -> None:
    """Send and wait for delivery, so the input is acked only after its outputs are in Kafka."""
    futures = [await topic.send(key=e.key(), value=codec.encode(e)) for e in events]
    if futures:
        await asyncio.gather(*futures)


def leave_before_ack(reason: str, **fields: Any) -> NoReturn:
    """Leave the process now. Faust's `take_events` acks a batch in a `finally` even when the body raises, so
    exiting is the only way to keep the offsets behind input whose outputs were never delivered; the
    supervisor (`up`, compose, Kubernetes) restarts the worker and the batch is redelivered."""
    log.critical(reason, **fields)
    os._exit(EXIT_SEND_FAILED)


async def send_or_leave(
    send: Callable[[], Awaitable[None]],
    what: str,
    *,
    attempts: int = SEND_ATTEMPTS,
    backoff_s: float = SEND_BACKOFF_S,
    cap_s: float = SEND_BACKOFF_CAP_S,
    leave: Callable[..., NoReturn] = leave_before_ack,
) -> None:
    """Await `send`, retrying with capped exponential backoff (async: the event loop keeps polling); if it still
    fails, leave the process before the batch is acked."""
    for attempt in range(attempts):
        try:
            await send()
            return
        except Exception as exc:
            if attempt == attempts - 1:
                leave(f"{what}: outputs not delivered; worker stops so the input is redelivered",
                      attempts=attempts, error=repr(exc))
            wait = min(backoff_s * 2**attempt, cap_s)
            log.warning(f"{what}: send failed, retrying", attempt=attempt + 1, wait_s=wait, error=repr(exc))
            await asyncio.sleep(wait)


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

    Input that does not decode is skipped here: the sink agent on the same topic dead-letters it. The batch is
    acked only once every output is delivered (`send_or_leave`). A schema registry that does not answer is
    waited for, never taken for bad input.
    """
    source_topic = app.topic(source, key_type=bytes, value_type=bytes)
    output_topic = app.topic(output, key_type=bytes, value_type=bytes)

    async def run(stream: faust.StreamT[Any]) -> None:
        async for events in take_events(stream, settings.sink.batch_max, settings.sink.batch_within_s):
            out: list[Event] = []
            for event in events:
                decoded = await decode_or_wait(codec, event.message.value, model, name)
                if decoded is not None:
                    out.extend(step(decoded))
            if out:
                await send_or_leave(functools.partial(send_all, output_topic, codec, out), name)

    app.agent(source_topic, name=name)(run)


async def decode_or_wait(codec: WireCodec, payload: bytes | None, model: type[Event], what: str,
                         attempts: int = SEND_ATTEMPTS, backoff_s: float = SEND_BACKOFF_S,
                         leave: Callable[..., NoReturn] = leave_before_ack) -> Event | None:
    """The decoded event, None for input that is not valid (dead-lettered by the sink); a registry that does not
    answer is retried (the lookup runs in a thread, so the loop keeps polling), then the process leaves."""
    for attempt in range(attempts):
        try:
            return await asyncio.to_thread(codec.decode, payload, model) if codec.needs_lookup(payload, model) \
                else codec.decode(payload, model)
        except DecodeError:
            return None
        except RegistryUnavailable as exc:
            if attempt == attempts - 1:
                leave(f"{what}: schema registry unavailable; worker stops so the input is redelivered",
                      error=str(exc))
            await asyncio.sleep(min(backoff_s * 2**attempt, SEND_BACKOFF_CAP_S))
    return None  # pragma: no cover - leave() does not return
