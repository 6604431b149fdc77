"""Produce -> sink -> queryable in ClickHouse: sustained events/s, and latency p50/p99 at fixed offered rates.

    python benchmarks/end_to_end.py [--events 200000] [--workers 1] [--sinks 1] [--rate 1000,5000] [--seconds 20]
    python benchmarks/end_to_end.py --in-worker      # the sink as Faust agents (SINK__IN_WORKER), for comparison

Starts its own embedded broker and store (or uses KAFKA_BOOTSTRAP / CLICKHOUSE_URL when set), in a fresh
database and fresh topics. Figures are printed, never asserted: this machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import bisect
import os
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

from confluent_kafka import KafkaError, Message

from servicepulse.config import Settings, load_settings
from servicepulse.connectors.clickhouse import connect, migrate
from servicepulse.connectors.kafka import EventProducer, ensure_topics
from servicepulse.connectors.serde import FileRegistry, WireCodec
from servicepulse.devstack.stack import embedded_stack, module_command
from servicepulse.schemas.events import CallEvent

T0 = datetime(2026, 3, 12, 8, 0, tzinfo=UTC)
QUEUES = ("kc-social", "kc-education", "payroll-service", "pension-group", "manager-support", "vasby-direkt")


def call(i: int) -> CallEvent:
    return CallEvent(event_id=f"b{i}:answered", contact_id=f"b{i}", event_type="answered", channel="phone",
                     queue=QUEUES[i % len(QUEUES)], org="Kontaktcenter", occurred_at=T0 + timedelta(seconds=i),
                     offered_at=T0 + timedelta(seconds=i), wait_ms=(i * 7919) % 180_000, agent_id=f"a{i % 69}",
                     source="benchmark")


def watermarks(settings: Settings) -> dict[tuple[str, int], int]:
    rows = connect(settings.clickhouse).query(
        "SELECT topic, partition, max(max_offset) FROM sink_watermarks WHERE table_name = 'call_events'"
        " GROUP BY topic, partition"
    ).result_rows
    return {(t, int(p)): int(o) for t, p, o in rows}


def all_stored(settings: Settings, produced: dict[tuple[str, int], int]) -> bool:
    stored = watermarks(settings)
    return all(stored.get(k, -1) >= v for k, v in produced.items())


def throughput(settings: Settings, codec: WireCodec, events: int) -> None:
    payloads = [(e.key(), codec.encode(e)) for e in (call(i) for i in range(events))]
    producer = EventProducer(settings.kafka, codec)
    topic = settings.kafka.topics.call_events
    start = time.perf_counter()
    for key, value in payloads:
        producer.send_raw(topic, key, value)
    producer.flush()
    produced_s = time.perf_counter() - start
    while not all_stored(settings, producer.max_offsets):
        time.sleep(0.05)
    total_s = time.perf_counter() - start
    print(f"throughput: {events} events produced in {produced_s:.2f}s ({events / produced_s:,.0f}/s); "
          f"all queryable after {total_s:.2f}s -> sustained {events / total_s:,.0f} events/s")


def latency(settings: Settings, codec: WireCodec, rate: int, seconds: float, offset_base: int) -> None:
    """Offer a fixed rate; a poller thread records when each partition's stored watermark rose, and each event
    counts as queryable at the first poll that saw the watermark at or past its offset. That moment does not
    depend on when the producer heard its delivery report (on a loaded machine up to ~0.8 s after the row was
    stored): the offset is learnt from the report, the time it became queryable from the poller's record."""
    producer = EventProducer(settings.kafka, codec, **{"linger.ms": 1})
    topic = settings.kafka.topics.call_events
    produce_time: dict[bytes, float] = {}
    delivered: list[tuple[int, int, float, float]] = []  # partition, offset, produced at, report heard at
    # Per partition, (seen at, watermark) each time the poller saw the watermark rise.
    risen: dict[int, list[tuple[float, int]]] = defaultdict(list)
    queries: list[float] = []  # one watermark query of the poller
    done = threading.Event()

    def on_delivery(err: KafkaError | None, msg: Message) -> None:
        partition, offset, key = msg.partition(), msg.offset(), msg.key()
        if err is None and partition is not None and offset is not None and isinstance(key, bytes):
            delivered.append((partition, offset, produce_time[key], time.perf_counter()))

    def all_seen() -> bool:
        last: dict[int, int] = {}
        for partition, offset, _t, _a in delivered:
            last[partition] = max(last.get(partition, -1), offset)
        return all(risen[p] and risen[p][-1][1] >= o for p, o in last.items())

    def poll() -> None:
        while True:
            finished = done.is_set()  # read before the query: every report is in when it is set
            asked = time.perf_counter()
            stored = watermarks(settings)
            seen = time.perf_counter()
            queries.append(seen - asked)
            for (t, partition), mark in stored.items():
                marks = risen[partition]
                if t == topic and (not marks or mark > marks[-1][1]):
                    marks.append((seen, mark))
            if finished and all_seen():
                return
            time.sleep(0.02)

    # A new producer's first messages wait for its connection, metadata and idempotent producer id (measured:
    # ~0.3 s on an idle machine, ~0.8 s loaded, i.e. the whole p99 of a 20 s run at 1,000/s): warm it up first,
    # as a long-lived producer of the pipeline is.
    producer.send_raw(topic, b"warm-up", codec.encode(call(offset_base - 1)))
    producer.flush()
    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    n = int(rate * seconds)
    start = time.perf_counter()
    for i in range(n):
        due = start + i / rate
        while (now := time.perf_counter()) < due:
            time.sleep(min(due - now, 0.001))
        event = call(offset_base + i)
        produce_time[event.key()] = time.perf_counter()
        producer.send_raw(topic, event.key(), codec.encode(event), on_delivery=on_delivery)
    producer.flush()
    done.set()
    poller.join(timeout=120)
    latencies, acked = [], []
    for partition, offset, produced, reported in delivered:
        marks = risen[partition]
        at = bisect.bisect_left([m for _s, m in marks], offset)
        if at < len(marks):
            latencies.append(marks[at][0] - produced)
            acked.append(reported - produced)
    print(f"latency at {rate}/s offered for {seconds:.0f}s ({len(latencies)} of {n} events seen): "
          f"produce-to-queryable p50 {_pct(latencies, 0.5):.0f} ms, p99 {_pct(latencies, 0.99):.0f} ms "
          f"(ClickHouse polled every ~20 ms; one poll p50/p99 {_pct(queries, 0.5):.0f}/{_pct(queries, 0.99):.0f} ms);"
          f" produce-to-delivery-report p50/p99 {_pct(acked, 0.5):.0f}/{_pct(acked, 0.99):.0f} ms")


def _pct(values: list[float], q: float) -> float:
    """The q-quantile of `values` in ms (0 when empty), the same rank rule for every figure printed."""
    ordered = sorted(values)
    return ordered[max(int(len(ordered) * q) - 1, 0)] * 1000 if ordered else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=1, help="Faust workers (rule agents, timers)")
    parser.add_argument("--sinks", type=int, default=1, help="`servicepulse sink` processes")
    parser.add_argument("--in-worker", action="store_true", help="sink inside the Faust workers instead")
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--rate", default="1000,5000", help="offered rates for the latency runs, comma-separated")
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ)
        if not (env.get("KAFKA_BOOTSTRAP") and env.get("CLICKHOUSE_URL")):
            local = stack.enter_context(embedded_stack(Path(tmp) / "stack"))
            env |= {"KAFKA_BOOTSTRAP": local.bootstrap, "CLICKHOUSE_URL": local.clickhouse_url}
        name = "bench" + uuid.uuid4().hex[:8]
        env |= {"CLICKHOUSE__DATABASE": name, "KAFKA__CONSUMER_GROUP": name, "KAFKA__PARTITIONS": str(args.partitions),
                "KAFKA__TOPICS__CALL_EVENTS": f"{name}-call-events", "LOG__FORMAT": "json",
                "WORKER__DATA_DIR": str(Path(tmp) / "faust"), "WORKER__HEALTH_DIR": str(Path(tmp) / "health"),
                "SINK__BATCH_WITHIN_S": "0.2", "SINK__IN_WORKER": "true" if args.in_worker else "false"}
        os.environ.update(env)
        settings = load_settings()
        migrate(settings.clickhouse)
        ensure_topics(settings.kafka)
        workers = [
            subprocess.Popen(module_command("servicepulse.cli.main", "worker", "--index", str(i)), env=env,
                             stdout=open(Path(tmp) / f"w{i}.log", "wb"), stderr=subprocess.STDOUT)  # noqa: SIM115
            for i in range(args.workers)
        ]
        sinks = 0 if args.in_worker else args.sinks
        workers += [
            subprocess.Popen(module_command("servicepulse.cli.main", "sink", "--index", str(i)), env=env,
                             stdout=open(Path(tmp) / f"s{i}.log", "wb"), stderr=subprocess.STDOUT)  # noqa: SIM115
            for i in range(sinks)
        ]
        try:
            codec = WireCodec(FileRegistry())
            where = "in the Faust workers" if args.in_worker else f"in {sinks} sink process(es)"
            print(f"{args.workers} worker(s), sink {where}, {args.partitions} partitions, "
                  f"batch {settings.sink.batch_max}")
            warm = EventProducer(settings.kafka, codec)
            warm.send(call(10**9))
            warm.flush()
            while not all_stored(settings, warm.max_offsets):
                time.sleep(0.1)
            throughput(settings, codec, args.events)
            base = args.events
            for rate in (int(r) for r in str(args.rate).split(",")):
                latency(settings, codec, rate, args.seconds, offset_base=base)
                base += int(rate * args.seconds)
        finally:
            for w in workers:
                w.send_signal(signal.SIGTERM)
            for w in workers:
                w.wait(timeout=30)


if __name__ == "__main__":
    main()
