"""Benchmark and inspect the simulator: `python -m servicepulse.simulator --days 31 --scale 1`."""

from __future__ import annotations

import argparse
import time
from collections import Counter
from datetime import date, datetime, timedelta

from servicepulse.domain.calendar import STOCKHOLM, is_working_day
from servicepulse.schemas.events import Event

from .engine import SimConfig, Simulator, event_time


def _step(event: Event) -> str:
    for attr in ("event_type", "kind", "status"):
        value = getattr(event, attr, None)
        if value is not None and not (attr == "kind" and event.schema_name == "PayrollRun"):
            return f"{event.schema_name}:{value.value}"
    return event.schema_name


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2026, 10, 1), help="first day (Stockholm)")
    parser.add_argument("--days", type=int, default=31)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--chunk-hours", type=float, default=0, help="advance in steps of this size (0 = one call)")
    args = parser.parse_args(argv)

    start = datetime.combine(args.start, datetime.min.time(), tzinfo=STOCKHOLM)
    end = start + timedelta(days=args.days)
    elapsed = 0.0
    sim = Simulator(SimConfig(seed=args.seed, scale=args.scale), start)
    counts: Counter[str] = Counter()
    per_day: Counter[tuple[date, str]] = Counter()
    step = timedelta(hours=args.chunk_hours) if args.chunk_hours > 0 else end - start
    until = start
    while until < end:
        until = min(end, until + step)
        began = time.perf_counter()
        events = sim.advance(until)
        elapsed += time.perf_counter() - began  # generation only, not the counting below
        for event in events:
            kind = _step(event)
            counts[kind] += 1
            per_day[(event_time(event).astimezone(STOCKHOLM).date(), kind)] += 1
        del events
    total = sum(counts.values())
    working = [start.date() + timedelta(days=i) for i in range(args.days)]
    working = [d for d in working if is_working_day(d)]
    print(f"{total:,} events in {elapsed:.2f} s = {total / elapsed:,.0f} events/s (scale {args.scale}, "
          f"{args.days} days, {len(working)} working days, {sim.pending:,} steps pending)")
    for kind in sorted(counts):
        on_working = sum(per_day[(d, kind)] for d in working) / max(1, len(working))
        print(f"  {kind:36s} {counts[kind]:>10,}  {on_working:>10,.1f} per working day")


if __name__ == "__main__":
    main()
