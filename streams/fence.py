"""Fencing: which partitions this worker may still write for, so a worker that lost them cannot add rows."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import faust
import structlog

__all__ = ["EXIT_FENCE_LOST", "Fence", "Fenced", "FencedApp", "fence_of", "request_rejoin", "unrecorded"]

log = structlog.get_logger(__name__)

EXIT_FENCE_LOST = 70
TICK_S = 0.25
WORKER_THREADS = 32

Partition = tuple[str, int]


class Fenced(Exception):
    """The batch's partitions were revoked (or the worker stalled past its session) after it was read."""


class Fence:
    """The worker's current assignment and an epoch that changes at every rebalance start and assignment.

    A batch takes a ticket (the epoch) before it reads the watermarks; an insert goes ahead only while the
    epoch is unchanged, its partitions are assigned here, and the event loop has not stalled past the
    session (a worker frozen with SIGSTOP resumes believing it still owns its partitions; the group moved them
    on). With Kafka's eager rebalance every member revokes everything before any gets a new assignment, so
    a batch read before a rebalance never writes after it: its rows are dropped and redelivered, and the
    replay guard, read again under the new epoch, sees everything the previous owner stored.
    """

    def __init__(self, stall_limit_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._cond = threading.Condition()
        self._epoch = 0
        self._assigned: frozenset[Partition] = frozenset()
        self._stall_limit_s = stall_limit_s
        self._clock = clock
        self._last_tick = clock()
        self._on_revoke: list[Callable[[], None]] = []

    @property
    def epoch(self) -> int:
        return self._epoch

    @property
    def assigned(self) -> frozenset[Partition]:
        return self._assigned

    def on_revoke(self, callback: Callable[[], None]) -> None:
        """Call `callback` (on the event loop) at every rebalance start."""
        self._on_revoke.append(callback)

    def revoke_all(self) -> None:
        """A rebalance starts: under the eager protocol every partition is revoked."""
        with self._cond:
            self._epoch += 1
            self._assigned = frozenset()
            self._cond.notify_all()
        for callback in self._on_revoke:
            callback()

    def assign(self, partitions: Iterable[Partition]) -> None:
        with self._cond:
            self._epoch += 1
            self._assigned = frozenset(partitions)
            self._cond.notify_all()

    def tick(self) -> bool:
        """Called by the event loop every fraction of a second: proof that the worker is not frozen. After a
        stall past the session (SIGSTOP, a blocked loop) the group has likely moved the partitions on: nothing is
        written until the next assignment. Returns whether that happened."""
        now = self._clock()
        stalled = now - self._last_tick > self._stall_limit_s
        self._last_tick = now
        if stalled:
            self.revoke_all()
        return stalled

    def stalled_s(self) -> float:
        return self._clock() - self._last_tick

    def allows(self, ticket: int, partitions: Iterable[Partition]) -> bool:
        if self.stalled_s() > self._stall_limit_s:
            return False
        with self._cond:
            return ticket == self._epoch and all(p in self._assigned for p in partitions)

    def check(self, ticket: int, partitions: Iterable[Partition]) -> None:
        parts = set(partitions)
        if self.stalled_s() > self._stall_limit_s:
            raise Fenced(f"event loop stalled {self.stalled_s():.0f}s, past the session: membership in doubt")
        if not self.allows(ticket, parts):
            raise Fenced("partitions revoked since the batch was read")

    def wait(self, ticket: int, timeout_s: float) -> None:
        """Sleep up to `timeout_s`, waking early when the epoch moves on from `ticket` (a rebalance)."""
        with self._cond:
            self._cond.wait_for(lambda: self._epoch != ticket, timeout=timeout_s)


class FencedApp(faust.App):
    """A Faust app that fences its writers at the very start of a rebalance, before Faust waits for its streams
    to finish (`stream_wait_empty`): a batch stuck retrying a store that is down gives up its partitions instead
    of holding the revocation past the rebalance timeout."""

    fence: Fence

    async def on_start(self) -> None:
        # Every ClickHouse call runs in a thread (`asyncio.to_thread`). The default pool has min(32, cores + 4)
        # threads: with the store frozen, nine sink agents, the read-back steps and the payroll check each hold
        # one until their timeout, and on two cores the rest (the health file included) would queue behind.
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(max_workers=WORKER_THREADS, thread_name_prefix="servicepulse"))
        await super().on_start()

    def on_rebalance_start(self) -> None:
        self.fence.revoke_all()
        super().on_rebalance_start()


def request_rejoin(app: faust.App) -> None:
    """Ask the consumer to rejoin its group (after a stall the assignment it holds may be stale); a worker that
    cannot even ask leaves, to be restarted, rather than wait for an assignment that may never come."""
    try:
        thread: Any = app.consumer._thread  # type: ignore[attr-defined]
        coordinator = thread._ensure_consumer()._coordinator
        loop = getattr(thread, "thread_loop", None) or thread.loop
        loop.call_soon_threadsafe(coordinator.request_rejoin)
    except Exception as exc:
        log.critical("cannot ask the consumer to rejoin after a stall; worker stops to be restarted",
                     error=repr(exc))
        os._exit(EXIT_FENCE_LOST)


def fence_of(app: faust.App) -> Fence:
    """The app's fence, wired to its rebalance signals once."""
    fence: Fence | None = getattr(app, "fence", None)
    if fence is None:
        fence = Fence(stall_limit_s=float(app.conf.broker_session_timeout))
        app.fence = fence  # type: ignore[attr-defined]

        async def revoked(_sender: Any, /, *args: Any, signal: Any, **_: Any) -> None:
            fence.revoke_all()

        app.on_partitions_revoked.connect(revoked)
    if not getattr(app, "_fence_wired", False):
        app._fence_wired = True  # type: ignore[attr-defined]

        async def assigned(_sender: Any, /, *args: Any, signal: Any, **_: Any) -> None:
            current = app.consumer.assignment()
            fence.assign((tp.topic, tp.partition) for tp in current)
            log.info("partitions assigned", partitions=len(current), epoch=fence.epoch)

        app.on_partitions_assigned.connect(assigned)

        async def ticker() -> None:
            while True:
                await asyncio.sleep(TICK_S)
                if fence.tick():
                    log.warning("worker was frozen past its session; writes fenced until the group assigns again")
                    request_rejoin(app)

        # A task, not a Faust timer: timers are the read-back loop's, and this is the worker's own pulse.
        app.task(ticker)
    return fence


def unrecorded(messages: Iterable[Any]) -> None:
    """Mark Faust messages done without recording their offsets: the commit stays behind them, so they are
    redelivered (to this worker or the partition's new owner) instead of being lost. Faust's `take_events`
    acks every message of a batch in a `finally`; a message already marked acked is skipped there."""
    for message in messages:
        message.acked = True
