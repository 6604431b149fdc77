"""Time-ordered agenda of future events: what the families schedule and the engine releases."""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any, Protocol

from servicepulse.schemas.events import Event

__all__ = ["Agenda", "Builder", "Family"]

Builder = Callable[..., Event]


class Agenda:
    """A heap of (time, sequence, builder, args); events are built only when released, to keep memory low."""

    __slots__ = ("_heap", "_seq", "floor_ms", "keep_from_ms")

    def __init__(self, keep_from_ms: int) -> None:
        self._heap: list[tuple[int, int, Builder, tuple[Any, ...]]] = []
        self._seq = 0
        # Steps before this instant are dropped: the simulated world is only observed from here on. Families
        # without warm-up drop a story begun earlier as a whole, so no consumer sees half a phone call.
        self.keep_from_ms = keep_from_ms
        # Start of the slot being generated; nothing may be scheduled before it, or chunking would change output.
        self.floor_ms = keep_from_ms

    def add(self, at_ms: int, build: Builder, *args: Any) -> None:
        if at_ms < self.floor_ms:
            if at_ms < self.keep_from_ms:
                return  # a step of a story begun before the start (warm-up): the world is only seen from start
            raise ValueError(f"step at {at_ms} scheduled before the slot start {self.floor_ms}")
        heapq.heappush(self._heap, (at_ms, self._seq, build, args))
        self._seq += 1

    def release(self, until_ms: int) -> list[Event]:
        """Build and return, in (time, scheduling order), every event due before `until_ms`."""
        heap = self._heap
        out: list[Event] = []
        pop = heapq.heappop
        while heap and heap[0][0] < until_ms:
            _, _, build, args = pop(heap)
            out.append(build(*args))
        return out

    def __len__(self) -> int:
        return len(self._heap)


class Family(Protocol):
    """One event family: fills the agenda with every story that starts in an hour slot."""

    name: str
    warmup_ms: int  # how far before the start its stories are generated, so their later steps are seen

    def generate(self, slot_ms: int, agenda: Agenda) -> None: ...
