"""The sink's per-row work in process, no broker or store: decode + validate + row, ordering, transposing.

    python benchmarks/sink_path.py [--rows 20000]

"pydantic" is the path before the hot-path work (a model per row), "RowMaker" the sink's path now.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from servicepulse.connectors.serde import FileRegistry, WireCodec
from servicepulse.schemas.events import CallEvent
from servicepulse.streams.sink import TABLES, Message, decode_batch, plan_writes
from servicepulse.streams.sink_rows import row_maker

T0 = datetime(2026, 3, 12, 8, 0, tzinfo=UTC)


def call(i: int) -> CallEvent:
    """The call event of benchmarks/end_to_end.py."""
    return CallEvent(event_id=f"b{i}:answered", contact_id=f"b{i}", event_type="answered", channel="phone",
                     queue="payroll-service", org="Kontaktcenter", occurred_at=T0 + timedelta(seconds=i),
                     offered_at=T0 + timedelta(seconds=i), wait_ms=(i * 7919) % 180_000, agent_id=f"a{i % 69}",
                     source="benchmark")


def best(work: Callable[[], Any], rounds: int = 3) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20_000)
    n = parser.parse_args().rows
    codec = WireCodec(FileRegistry())
    payloads = [codec.encode(call(i)) for i in range(n)]
    messages = [Message("t", i % 4, i, b"k", p) for i, p in enumerate(payloads)]
    spec = TABLES["call_events"]
    maker = row_maker(CallEvent)

    def pydantic_rows() -> list[list[Any]]:
        return [[v.value if isinstance(v, StrEnum) else v for v in codec.decode(p, CallEvent).__dict__.values()]
                for p in payloads]

    result = decode_batch(spec, codec, messages, {})
    figures = {
        "decode + validate + row, pydantic": best(pydantic_rows),
        "fastavro datum only": best(lambda: [codec.decode_datum(p, CallEvent) for p in payloads]),
        "decode + validate + row, RowMaker": best(lambda: [maker.row(codec.decode_datum(p, CallEvent)[0])
                                                          for p in payloads]),
        "decode_batch (replay guard, positions)": best(lambda: decode_batch(spec, codec, messages, {})),
        "plan_writes": best(lambda: plan_writes(result)),
        "transpose to columns": best(lambda: list(zip(*result.rows, strict=True))),
    }
    for name, seconds in figures.items():
        print(f"{name:42s} {seconds / n * 1e6:6.1f} µs/row")


if __name__ == "__main__":
    main()
