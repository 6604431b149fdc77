"""The fence: a batch read before a rebalance (or a stall past the session) never writes after it."""

from __future__ import annotations

import threading
import time

import pytest

from servicepulse.streams.fence import Fence, Fenced

P0, P1 = ("calls", 0), ("calls", 1)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_ticket_allows_its_assigned_partitions_until_the_next_rebalance() -> None:
    fence = Fence(stall_limit_s=6)
    fence.assign({P0})
    ticket = fence.epoch
    assert fence.allows(ticket, {P0})
    assert not fence.allows(ticket, {P0, P1})  # never assigned here
    fence.revoke_all()
    assert not fence.allows(ticket, {P0})
    fence.assign({P0, P1})
    assert not fence.allows(ticket, {P0}), "a batch read before the rebalance stays fenced after it"
    assert fence.allows(fence.epoch, {P0, P1})
    with pytest.raises(Fenced):
        fence.check(ticket, {P0})


def test_a_stall_past_the_session_fences_until_the_next_assignment() -> None:
    clock = Clock()
    fence = Fence(stall_limit_s=6, clock=clock)
    revoked: list[int] = []
    fence.on_revoke(lambda: revoked.append(fence.epoch))
    fence.assign({P0})
    ticket = fence.epoch
    clock.now += 60  # SIGSTOP for a minute: the insert thread may look before the loop ticks
    with pytest.raises(Fenced, match="stalled"):
        fence.check(ticket, {P0})
    assert fence.tick() is True and revoked  # the loop's first tick after the stall revokes everything
    assert not fence.allows(fence.epoch, {P0})
    fence.assign({P0})
    assert fence.allows(fence.epoch, {P0})


def test_a_backoff_wait_ends_at_the_rebalance() -> None:
    fence = Fence(stall_limit_s=6)
    fence.assign({P0})
    ticket = fence.epoch
    threading.Timer(0.1, fence.revoke_all).start()
    started = time.monotonic()
    fence.wait(ticket, 10)
    assert time.monotonic() - started < 5
