"""The SLA monitor's rolling-hour windows (prefix sums, only deciding windows) against the plain computation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from servicepulse.schemas.events import Alert
from servicepulse.streams.contact.metrics import HOP_SIZE, HOP_STEP
from servicepulse.streams.contact.monitor import Bucket, SlaMonitor
from servicepulse.streams.contact.rules import BreachState, WindowResult, service_level_step

T0 = datetime(2026, 2, 1, 8, 0, tzinfo=UTC)
STEPS = HOP_SIZE // HOP_STEP


def plain(monitor: SlaMonitor, buckets: list[Bucket], clock: datetime) -> list[Alert]:
    """Every window from the last decided one, its 12 buckets summed, each fed to `service_level_step`."""
    by_queue: dict[str, dict[datetime, Bucket]] = {}
    for b in buckets:
        by_queue.setdefault(b.queue, {})[b.start] = b
    out: list[Alert] = []
    for queue in sorted(by_queue):
        grid = by_queue[queue]
        first = monitor.decided_until.get(queue)
        start = first + HOP_STEP if first is not None else min(grid) - (STEPS - 1) * HOP_STEP
        org = next(iter(grid.values())).org
        while start + HOP_SIZE + monitor.lateness <= clock:
            parts = [grid[start + k * HOP_STEP] for k in range(STEPS) if start + k * HOP_STEP in grid]
            if parts:
                window = WindowResult(queue, org, start, start + HOP_SIZE, sum(p.offered for p in parts),
                                      sum(p.answered_within_threshold for p in parts), parts[0].target)
                state: BreachState | None
                state, alerts = service_level_step(monitor.breaches.get(queue), window, monitor.sl_rule)
                monitor.breaches[queue] = state
                out.extend(alerts)
            monitor.decided_until[queue] = start
            start += HOP_STEP
    return out


QUEUES = ("kc-social", "kc-parking", "payroll-service")
bucket_lists = st.lists(
    st.tuples(st.sampled_from(QUEUES), st.integers(0, 300), st.integers(0, 6), st.integers(0, 6),
              st.sampled_from((0.5, 0.8, 0.85))),
    max_size=120,
)


def as_buckets(raw: list[tuple[str, int, int, int, float]]) -> list[Bucket]:
    return [Bucket(q, f"org-{q}", T0 + k * HOP_STEP, offered, min(within, offered), target)
            for q, k, offered, within, target in raw]


@settings(max_examples=300, deadline=None)
@given(bucket_lists, bucket_lists, st.integers(0, 400), st.integers(0, 400), st.integers(0, 299))
def test_windows_match_the_plain_computation(first: list[tuple[str, int, int, int, float]],
                                             later: list[tuple[str, int, int, int, float]],
                                             clock_steps: int, more_steps: int, seconds: int) -> None:
    # Two ticks: from scratch, then with later buckets (and the first ones again, as the reader reads them).
    clock = T0 + clock_steps * HOP_STEP + timedelta(seconds=seconds)
    fast, slow = SlaMonitor(), SlaMonitor()
    fast_min = SlaMonitor(sl_rule=SlaMonitor().sl_rule.with_values(min_offered=0))
    slow_min = SlaMonitor(sl_rule=fast_min.sl_rule)
    for tick, clock_now in ((as_buckets(first), clock),
                            (as_buckets(first + later), clock + more_steps * HOP_STEP)):
        for a, b in ((fast, slow), (fast_min, slow_min)):
            got, want = a.service_level(tick, clock_now), plain(b, tick, clock_now)
            assert [x.model_dump() for x in got] == [x.model_dump() for x in want]
            assert (a.decided_until, a.breaches) == (b.decided_until, b.breaches)


def test_a_window_deciding_nothing_is_skipped_but_the_clock_moves() -> None:
    # One bucket far back, one breach-raising hour: the windows in between hold no bucket.
    buckets = [Bucket("kc-social", "o", T0, 1, 1, 0.85)]
    buckets += [Bucket("kc-social", "o", T0 + (200 + k) * HOP_STEP, 2, 1, 0.85) for k in range(12)]
    clock = T0 + 400 * HOP_STEP
    fast, slow = SlaMonitor(), SlaMonitor()
    got = fast.service_level(buckets, clock)
    assert [x.model_dump() for x in got] == [x.model_dump() for x in plain(slow, buckets, clock)]
    assert len(got) == 1 and fast.decided_until == slow.decided_until
