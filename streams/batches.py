"""Faust's batch iteration, typed: every agent here reads its topic in batches with `take_events`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import faust
from faust.types import EventT

__all__ = ["take_events"]


def take_events(stream: faust.StreamT[Any], max_: int, within_s: float) -> AsyncIterator[Sequence[EventT[Any]]]:
    """Batches of up to `max_` events, or what arrived within `within_s`. Faust acks each batch in a `finally`
    once the consumer moves on, so the body must finish its work (or leave the process) before the next one."""
    # `take_events` is defined on faust.Stream but not declared on the StreamT protocol.
    batches: AsyncIterator[Sequence[EventT[Any]]] = stream.take_events(max_, within_s)  # type: ignore[attr-defined]
    return batches
