"""The same windowed job in raw confluent-kafka, Quix Streams, Bytewax, Faust and servicepulse: events/s, peak RSS.

    .venv/bin/python benchmarks/peers.py --setup [--events 300000] [--rounds 3] [--only raw,quix,...]
                                                 [--broker tansu|apache-kafka] [--sp-workers 1]

`--setup` creates `benchmarks/.venv-peers` (gitignored) and installs the peers there (quixstreams, bytewax,
faust-streaming, confluent-kafka, orjson): they are never project dependencies. Without `--setup` that
environment must exist already.

The job: N ~190-byte JSON call events (one per offered contact: answered or abandoned, with its wait) on 6
partitions of one broker (Tansu, or a local Apache Kafka with `--broker apache-kafka`); per answer group,
15-minute event-time tumbling windows counting offered / answered / answered within 60 s; each closed window
written to a results topic as one JSON record. Event time is the event's `offered_at` (also the message's
timestamp). The input is a replay and consumers read partitions unevenly (Quix Streams, for one, reads one
partition far ahead of the others), so every implementation allows out-of-order event time up to the input's
whole span (grace) and the windows close when the input ends: once the job has consumed every event, the
driver sends per partition and answer group a marker far in the future that closes them and counts nothing.

Implementations, each a subprocess of its own in the peers environment (they share no state): `raw` (a
confluent-kafka consume loop with orjson and a dict), `raw-json` (the same with the stdlib json), `quix` (its
group_by, tumbling_window().reduce().final()), `bytewax` (the Kafka source, key_on, fold_window with an event
clock), `faust-table` (group_by and a windowed table, emitting on window close), `faust-take` (take() batches
into a dict). `servicepulse` is the project's pipeline as `servicepulse up` starts it (project environment),
fed the project's Avro call events by its producer; its service-level windows are the view `v_service_level`
(migration 0100) in ClickHouse: rate measured from the first produced event until the view's totals are
complete (the peers: from the first consumed event until the last window is in the results topic).

Rounds are interleaved (every implementation once per round), the median is printed. Every implementation's
window counts, summed, must equal the totals computed here from the generated events, or the run fails loudly.
Peak RSS is the sum of each process's peak (VmHWM) over the implementation's process tree, sampled from /proc.
Figures are printed, never asserted: this machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PEERS_VENV = HERE / ".venv-peers"
PEER_PACKAGES = ("quixstreams", "bytewax", "faust-streaming", "confluent-kafka", "orjson")
PARTITIONS = 6
# Answer groups whose service-level threshold is 60 s (parameters.toml), so `v_service_level`'s
# answered_within_threshold is exactly "answered within 60 s".
QUEUES = ("payroll-service", "manager-support", "pension-group", "kc-education", "kc-social", "kc-parking")
T0_MS = 1_773_302_400_000  # 2026-03-12 08:00 UTC
STEP_MS = 100  # one offered contact every 100 ms of event time: 300,000 events span 8.3 hours, 34 windows
WINDOW_MS = 15 * 60 * 1000
WITHIN_MS = 60_000
END_MS = T0_MS + 10 * 24 * 3600 * 1000  # the end markers' event time: every real window is long closed by then
IMPLEMENTATIONS = ("raw", "raw-json", "quix", "bytewax", "faust-table", "faust-take", "servicepulse")


# --------------------------------------------------------------------------- events and totals (stdlib only)


def grace_ms(n: int) -> int:
    """Out-of-order event time every implementation allows: the span of n events plus a window."""
    return n * STEP_MS + WINDOW_MS


def event(i: int) -> dict[str, Any]:
    """The i-th call event, deterministic: 80 % answered (wait 0-180 s), 20 % abandoned after 6-126 s (never a
    short abandon, which the service level does not count as offered)."""
    h = (i * 2_654_435_761) % 2**32
    answered = h % 10 < 8
    wait = (h >> 8) % 180_000 if answered else 6_000 + (h >> 8) % 120_000
    e: dict[str, Any] = {"event_id": f"p{i:08d}:{'answered' if answered else 'abandoned'}", "contact_id": f"p{i:08d}",
                         "event_type": "answered" if answered else "abandoned", "channel": "phone",
                         "queue": QUEUES[(h >> 4) % len(QUEUES)], "org": "KC",
                         "offered_at": T0_MS + i * STEP_MS, "wait_ms": wait}
    if answered:
        e["agent_id"] = f"a{h % 69}"
    return e


def events(n: int) -> Iterator[dict[str, Any]]:
    return (event(i) for i in range(n))


def end_markers() -> Iterator[tuple[int, dict[str, Any]]]:
    """(partition, marker): one per partition and answer group, so every keyed window store sees its end."""
    for p in range(PARTITIONS):
        for q in QUEUES:
            yield p, {"event_id": f"end-{p}-{q}", "contact_id": f"end-{p}-{q}", "event_type": "end",
                      "channel": "phone", "queue": q, "org": "KC", "offered_at": END_MS, "wait_ms": 0}


def counts(e: dict[str, Any]) -> tuple[int, int, int]:
    """(offered, answered, answered within 60 s) of one event; an end marker counts nothing."""
    if e["event_type"] == "end":
        return 0, 0, 0
    answered = e["event_type"] == "answered"
    return 1, int(answered), int(answered and e["wait_ms"] <= WITHIN_MS)


@dataclass(frozen=True)
class Totals:
    offered: int
    answered: int
    within_60s: int


def totals(evs: Iterable[dict[str, Any]]) -> Totals:
    """The expected sums over all windows, computed straight from the events."""
    o = a = w = 0
    for e in evs:
        x, y, z = counts(e)
        o, a, w = o + x, a + y, w + z
    return Totals(o, a, w)


def window_totals(windows: Iterable[dict[str, Any]]) -> Totals:
    """Sums over result records ({queue, window_start, offered, answered, within_60s})."""
    o = a = w = 0
    for r in windows:
        o, a, w = o + int(r["offered"]), a + int(r["answered"]), w + int(r["within_60s"])
    return Totals(o, a, w)


def result(queue: str, window_start: int, c: list[int]) -> dict[str, Any]:
    return {"queue": queue, "window_start": window_start, "offered": c[0], "answered": c[1], "within_60s": c[2]}


# --------------------------------------------------------------------------- the peers (run in .venv-peers)


@dataclass
class JobArgs:
    bootstrap: str
    in_topic: str
    out_topic: str
    group: str
    state_dir: str
    mark: str
    n: int


class _Progress:
    """Called once per consumed event: writes the wall-clock time of the first to the mark file, and creates
    `<mark>.caught-up` once all n events are consumed (the driver then sends the end markers)."""

    def __init__(self, path: str, n: int) -> None:
        self.path, self.left, self.started = path, n, False

    def __call__(self, value: Any = None) -> Any:
        if not self.started:
            self.started = True
            Path(self.path).write_text(repr(time.time()))
        self.left -= 1
        if self.left == 0:
            Path(self.path.removesuffix(".count") + ".caught-up").touch()
        return value


def job_raw(a: JobArgs, loads: Callable[[bytes], Any]) -> None:
    """A plain consume loop: decode, add to a dict of windows, close windows behind every partition's event time."""
    import orjson
    from confluent_kafka import Consumer, Producer

    first = _Progress(a.mark, a.n)
    grace = grace_ms(a.n)
    consumer = Consumer({"bootstrap.servers": a.bootstrap, "group.id": a.group, "auto.offset.reset": "earliest",
                         "enable.auto.commit": True})
    producer = Producer({"bootstrap.servers": a.bootstrap, "linger.ms": 5})
    consumer.subscribe([a.in_topic])
    windows: dict[tuple[str, int], list[int]] = {}
    latest: dict[int, int] = {}
    markers: dict[int, int] = {}

    def close(before: int) -> None:
        for key in [k for k in windows if k[1] + WINDOW_MS <= before]:
            producer.produce(a.out_topic, key=key[0].encode(), value=orjson.dumps(result(key[0], key[1],
                                                                                         windows.pop(key))))
        producer.poll(0)

    while sum(markers.values()) < PARTITIONS * len(QUEUES):
        batch = consumer.consume(10_000, timeout=0.5)
        for msg in batch:
            if msg.error():
                continue
            first()
            e = loads(msg.value() or b"{}")
            p = msg.partition() or 0
            ts = e["offered_at"]
            latest[p] = max(latest.get(p, 0), ts)
            if e["event_type"] == "end":
                markers[p] = markers.get(p, 0) + 1
            key = (e["queue"], ts - ts % WINDOW_MS)
            c = windows.get(key)
            if c is None:
                c = windows[key] = [0, 0, 0]
            x, y, z = counts(e)
            c[0] += x
            c[1] += y
            c[2] += z
        if batch and len(latest) == PARTITIONS:
            close(min(latest.values()) - grace)
    close(END_MS + WINDOW_MS)
    producer.flush()
    consumer.close()


def job_quix(a: JobArgs) -> None:
    from quixstreams import Application  # type: ignore[import-not-found]

    app = Application(broker_address=a.bootstrap, consumer_group=a.group, auto_offset_reset="earliest",
                      state_dir=a.state_dir, loglevel="WARNING")
    source = app.topic(a.in_topic, value_deserializer="json")
    out = app.topic(a.out_topic, value_serializer="json")

    started = _Progress(a.mark, 0)
    progress = _Progress(a.mark + ".count", a.n)

    def initial(e: dict[str, Any]) -> list[Any]:
        return [e["queue"], *counts(e)]

    def reduce(agg: list[Any], e: dict[str, Any]) -> list[Any]:
        x, y, z = counts(e)
        return [agg[0], agg[1] + x, agg[2] + y, agg[3] + z]

    sdf = app.dataframe(source)
    sdf = sdf.update(started)  # the first event consumed
    sdf = sdf.group_by("queue")
    sdf = sdf.update(progress)  # caught up once every event is through the repartition topic
    sdf = sdf.tumbling_window(duration_ms=WINDOW_MS, grace_ms=grace_ms(a.n)).reduce(reduce, initial).final()
    sdf = sdf.apply(lambda w: result(w["value"][0], w["start"], w["value"][1:]))
    sdf.to_topic(out)
    app.run()


def job_bytewax(a: JobArgs) -> None:
    from datetime import UTC, datetime, timedelta

    import bytewax.operators as op  # type: ignore[import-not-found]
    import bytewax.operators.windowing as win  # type: ignore[import-not-found]
    import orjson
    from bytewax.connectors.kafka import KafkaSink, KafkaSinkMessage, KafkaSource  # type: ignore[import-not-found]
    from bytewax.dataflow import Dataflow  # type: ignore[import-not-found]
    from bytewax.testing import run_main  # type: ignore[import-not-found]

    first = _Progress(a.mark, a.n)
    align = datetime.fromtimestamp(T0_MS / 1000, tz=UTC)
    flow = Dataflow("peers")
    # tail=False: the source ends at the end of each partition, and the dataflow closes its windows.
    msgs = op.input("in", flow, KafkaSource([a.bootstrap], [a.in_topic], tail=False,
                                            add_config={"group.id": a.group}))
    evs = op.map("decode", msgs, lambda m: orjson.loads(first(m).value))
    evs = op.filter("no-markers", evs, lambda e: e["event_type"] != "end")  # the end of input closes windows
    keyed = op.key_on("queue", evs, lambda e: e["queue"])
    clock = win.EventClock(lambda e: datetime.fromtimestamp(e["offered_at"] / 1000, tz=UTC),
                           wait_for_system_duration=timedelta(milliseconds=grace_ms(a.n)))
    windower = win.TumblingWindower(length=timedelta(milliseconds=WINDOW_MS), align_to=align)

    def fold(c: list[int], e: dict[str, Any]) -> list[int]:
        x, y, z = counts(e)
        return [c[0] + x, c[1] + y, c[2] + z]

    def merge(c: list[int], d: list[int]) -> list[int]:
        return [c[0] + d[0], c[1] + d[1], c[2] + d[2]]

    counted = win.fold_window("count", keyed, clock, windower, lambda: [0, 0, 0], fold, merge)

    def record(item: tuple[str, tuple[int, list[int]]]) -> Any:
        queue, (window_id, c) = item
        start = T0_MS + window_id * WINDOW_MS
        return KafkaSinkMessage(queue.encode(), orjson.dumps(result(queue, start, c)))

    op.output("out", op.map("encode", counted.down, record), KafkaSink([a.bootstrap], a.out_topic))
    run_main(flow)


def job_faust(a: JobArgs, take: bool) -> None:
    """`take`: batches of up to 10,000 from take() into a dict; else group_by and a windowed table."""
    from datetime import timedelta

    import faust
    import orjson

    first = _Progress(a.mark, a.n)
    grace = grace_ms(a.n)
    app = faust.App(a.group, broker=f"kafka://{a.bootstrap}", store="memory://", datadir=a.state_dir,
                    topic_partitions=PARTITIONS, table_cleanup_interval=1.0, web_enabled=False)
    source = app.topic(a.in_topic, value_serializer="json")
    out = app.topic(a.out_topic, value_serializer="raw", partitions=1)

    if take:
        windows: dict[tuple[str, int], list[int]] = {}

        @app.agent(source)
        async def batches(stream: Any) -> None:
            latest = 0
            async for values in stream.take(10_000, within=0.5):
                for e in values:
                    first()
                    ts = e["offered_at"]
                    latest = max(latest, ts)
                    c = windows.setdefault((e["queue"], ts - ts % WINDOW_MS), [0, 0, 0])
                    x, y, z = counts(e)
                    c[0] += x
                    c[1] += y
                    c[2] += z
                for key in [k for k in windows if k[1] + WINDOW_MS <= latest - grace]:
                    await out.send(key=key[0].encode(), value=orjson.dumps(result(key[0], key[1],
                                                                                  windows.pop(key))))
    else:
        # Faust closes a windowed table's windows on wall-clock time (Table._del_old_keys compares with
        # time.time()), which cannot close event-time windows of a replay: the windows never expire here and the
        # agent itself closes them from the table's store once its answer group's event time passes end + grace.
        tumbling: Any = app.Table("counts", default=lambda: [0, 0, 0], partitions=PARTITIONS).tumbling(
            WINDOW_MS / 1000, expires=timedelta(days=3650))
        table = tumbling.relative_to(lambda ev: ev.value["offered_at"] / 1000)  # untyped in faust's stubs
        open_windows: dict[str, set[tuple[float, float]]] = {}
        latest: dict[str, float] = {}

        @app.agent(source)
        async def windowed(stream: Any) -> None:
            async for e in stream.group_by(lambda v: v["queue"], name="queue"):
                first()
                queue, ts = e["queue"], e["offered_at"] / 1000
                c = list(table[queue].value())
                x, y, z = counts(e)
                table[queue] = [c[0] + x, c[1] + y, c[2] + z]
                seen = open_windows.setdefault(queue, set())
                seen.update(table.table.window.ranges(ts))
                latest[queue] = max(latest.get(queue, 0.0), ts)
                for r in [r for r in seen if r[1] <= latest[queue] - grace / 1000]:
                    seen.discard(r)
                    value = table.table.data.pop((queue, r))
                    await out.send(key=queue.encode(), value=orjson.dumps(result(queue, int(r[0] * 1000), value)))

    sys.argv = [sys.argv[0], "worker", "-l", "warn"]
    app.main()


def run_job(name: str, a: JobArgs) -> None:
    if name == "raw":
        import orjson

        job_raw(a, orjson.loads)
    elif name == "raw-json":
        job_raw(a, json.loads)
    elif name == "quix":
        job_quix(a)
    elif name == "bytewax":
        job_bytewax(a)
    elif name in ("faust-table", "faust-take"):
        job_faust(a, take=name == "faust-take")
    else:
        raise SystemExit(f"unknown job {name}")


# --------------------------------------------------------------------------- measuring (the driver)


def children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(f"/proc/{entry.name}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def _peak_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class PeakRss:
    """Samples the peak RSS (VmHWM) of a process tree every 0.2 s: the sum of every process's peak, MiB."""

    def __init__(self, *roots: int) -> None:
        self.roots, self.peaks = roots, dict.fromkeys(roots, 0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            self.sample()
            if self._stop.wait(0.2):
                return

    def sample(self) -> None:
        tree = children()
        todo = list(self.roots)
        while todo:
            pid = todo.pop()
            self.peaks[pid] = max(self.peaks.get(pid, 0), _peak_kib(pid))
            todo.extend(tree.get(pid, ()))

    def stop(self) -> float:
        self.sample()
        self._stop.set()
        self._thread.join()
        return sum(self.peaks.values()) / 1024


@dataclass
class Outcome:
    seconds: float
    rss_mib: float
    totals: Totals
    note: str = ""
    events: int = 0
    expected: Totals = Totals(0, 0, 0)

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds == self.seconds else float("nan")

    @property
    def ok(self) -> bool:
        return self.totals == self.expected


@dataclass
class Row:
    name: str
    outcomes: list[Outcome] = field(default_factory=list)


class Results:
    """Consumes a results topic from the start in a thread, summing the window counts."""

    def __init__(self, bootstrap: str, topic: str, expected: Totals) -> None:
        from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

        self.expected, self.sums = expected, Totals(0, 0, 0)
        self.complete_at: float | None = None
        self._consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "peers-check-" + uuid.uuid4().hex,
                                   "enable.auto.commit": False})
        self._consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import orjson

        while not self._stop.is_set():
            for msg in self._consumer.consume(1000, timeout=0.1):
                if msg.error() is None and msg.value():
                    s, r = self.sums, orjson.loads(msg.value() or b"{}")
                    self.sums = Totals(s.offered + r["offered"], s.answered + r["answered"],
                                       s.within_60s + r["within_60s"])
            s = self.sums
            if self.complete_at is None and s.offered >= self.expected.offered and (
                    s.answered >= self.expected.answered and s.within_60s >= self.expected.within_60s):
                self.complete_at = time.time()
        self._consumer.close()

    def stop(self) -> Totals:
        time.sleep(0.5)  # a duplicate or surplus window arriving right after completion still counts
        self._stop.set()
        self._thread.join()
        return self.sums


def _stop(proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def run_peer(name: str, bootstrap: str, in_topic: str, n: int, expected: Totals, work: Path,
             timeout: float) -> Outcome:
    from confluent_kafka.admin import AdminClient, NewTopic

    tag = f"{name}-{uuid.uuid4().hex[:8]}"
    out_topic = f"peers-out-{tag}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    config = {"retention.ms": str(7 * 24 * 3600 * 1000), "retention.bytes": "-1"}
    for future in admin.create_topics([NewTopic(out_topic, 1, 1, config=config)]).values():
        future.result()
    (work / tag).mkdir(parents=True)
    mark = work / tag / "first"
    collector = Results(bootstrap, out_topic, expected)
    log = work / f"{tag}.log"
    command = [str(PEERS_VENV / "bin" / "python"), str(Path(__file__).resolve()), "--job", name,
               "--bootstrap", bootstrap, "--in-topic", in_topic, "--out-topic", out_topic, "--group", f"peers-{tag}",
               "--state-dir", str(work / tag), "--mark", str(mark), "--n", str(n)]
    with log.open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=work)
    rss = PeakRss(proc.pid)
    deadline = time.monotonic() + timeout
    markers = False
    while collector.complete_at is None and time.monotonic() < deadline:
        if proc.poll() is not None and proc.returncode != 0:
            break
        if not markers and Path(f"{mark}.caught-up").exists():
            send_end_markers(bootstrap, in_topic)
            markers = True
        time.sleep(0.02)
    if collector.complete_at is None and proc.poll() is None:
        time.sleep(2)  # the job ended or timed out short of the totals: let the last windows arrive
    peak = rss.stop()
    _stop(proc)
    got = collector.stop()
    first = float(mark.read_text()) if mark.exists() else float("nan")
    if collector.complete_at is None:
        tail = log.read_text(errors="replace")[-1500:]
        return Outcome(float("nan"), peak, got, f"incomplete (exit {proc.returncode}); log tail:\n{tail}")
    return Outcome(collector.complete_at - first, peak, got)


class Input:
    """The JSON events, encoded once; produced into a fresh topic for every run (message timestamp = offered_at),
    so no run reads another run's end markers."""

    def __init__(self, n: int) -> None:
        import orjson

        self.records = [(e["contact_id"].encode(), orjson.dumps(e), e["offered_at"]) for e in events(n)]
        self.expected = totals(events(n))
        self.mean_size = sum(len(v) for _, v, _ in self.records) / max(n, 1)

    def produce(self, bootstrap: str) -> str:
        from confluent_kafka import Producer
        from confluent_kafka.admin import AdminClient, NewTopic

        topic = f"peers-in-{uuid.uuid4().hex[:8]}"
        admin = AdminClient({"bootstrap.servers": bootstrap})
        # retention.ms is set explicitly: Quix Streams copies it to its repartition topics and Tansu reports none.
        config = {"retention.ms": str(7 * 24 * 3600 * 1000), "retention.bytes": "-1"}
        for future in admin.create_topics([NewTopic(topic, PARTITIONS, 1, config=config)]).values():
            future.result()
        producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "batch.num.messages": 10_000})
        for key, value, ts in self.records:
            while True:
                try:
                    producer.produce(topic, key=key, value=value, timestamp=ts)
                    break
                except BufferError:
                    producer.poll(0.1)
        producer.flush()
        return topic


def send_end_markers(bootstrap: str, topic: str) -> None:
    """Sent once the job has consumed every event: a marker read before another partition's last events would
    close their windows early (every peer's window closes on the highest event time seen, not the lowest)."""
    import orjson
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
    for p, marker in end_markers():
        producer.produce(topic, key=marker["contact_id"].encode(), value=orjson.dumps(marker), partition=p,
                         timestamp=END_MS)
    producer.flush()


# --------------------------------------------------------------------------- servicepulse, as `up` runs it


class Servicepulse:
    """`servicepulse up` against the benchmark's broker and store, fresh topics, group and database per round;
    fed Avro call events (the same contacts as the JSON events) by the project's producer."""

    def __init__(self, bootstrap: str, clickhouse_url: str, store_pid: int | None, n: int, workers: int) -> None:
        from servicepulse.connectors.serde import FileRegistry, WireCodec
        from servicepulse.schemas.events import CallEvent

        self.bootstrap, self.clickhouse_url, self.store_pid = bootstrap, clickhouse_url, store_pid
        self.workers = workers
        self.codec = WireCodec(FileRegistry())
        t0 = time.perf_counter()
        self.payloads = [(c.key(), self.codec.encode(c)) for c in (self.call(e) for e in events(n))]
        print(f"servicepulse: {n:,} Avro call events encoded in {time.perf_counter() - t0:.1f}s (not timed)")
        self.warm = CallEvent(event_id="warm:ended", contact_id="warm", event_type="ended", channel="email",
                              queue=QUEUES[0], org="Kontaktcenter", occurred_at=self.call(event(0)).occurred_at,
                              source="benchmark")

    @staticmethod
    def call(e: dict[str, Any]) -> Any:
        from datetime import UTC, datetime, timedelta

        from servicepulse.schemas.events import CallEvent

        offered = datetime.fromtimestamp(e["offered_at"] / 1000, tz=UTC)
        return CallEvent(event_id=e["event_id"], contact_id=e["contact_id"], event_type=e["event_type"],
                         channel=e["channel"], queue=e["queue"], org=e["org"],
                         occurred_at=offered + timedelta(milliseconds=e["wait_ms"]), offered_at=offered,
                         wait_ms=e["wait_ms"], agent_id=e.get("agent_id"), source="benchmark")

    def run(self, expected: Totals, work: Path, timeout: float) -> Outcome:
        from servicepulse.config import Topics, load_settings
        from servicepulse.connectors.clickhouse import connect
        from servicepulse.connectors.kafka import EventProducer, ensure_topics
        from servicepulse.devstack.stack import environ, module_command

        name = "peers" + uuid.uuid4().hex[:8]
        env = dict(os.environ) | {
            "KAFKA_BOOTSTRAP": self.bootstrap, "CLICKHOUSE_URL": self.clickhouse_url, "CLICKHOUSE__DATABASE": name,
            "KAFKA__CONSUMER_GROUP": name, "KAFKA__PARTITIONS": str(PARTITIONS), "LOG__FORMAT": "json",
        } | {f"KAFKA__TOPICS__{f.upper()}": f"{name}-{f}" for f in Topics.model_fields}
        with environ(env):
            settings = load_settings()
        ensure_topics(settings.kafka)
        log = work / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(module_command("servicepulse.cli.main", "up", "--workers", str(self.workers),
                                                   "--run-dir", str(work / name)),
                                    env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            return self._measure(proc, settings, expected, timeout, connect, EventProducer)
        finally:
            _stop(proc, timeout=40)

    def _measure(self, proc: subprocess.Popen[bytes], settings: Any, expected: Totals, timeout: float,
                 connect: Any, producer_class: Any) -> Outcome:
        deadline = time.monotonic() + 180
        producer = producer_class(settings.kafka, self.codec)
        producer.send(self.warm)
        producer.flush()
        client = None
        while not self._stored(client, producer.max_offsets):  # up has migrated and the sink runs
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"servicepulse up did not store the warm-up event (exit {proc.poll()})")
            time.sleep(0.2)
            client = client or self._client(connect, settings)
        rss = PeakRss(proc.pid)
        store = PeakRss(self.store_pid) if self.store_pid else None
        topic = settings.kafka.topics.call_events
        start = time.time()
        for key, value in self.payloads:
            producer.send_raw(topic, key, value)
        producer.flush()
        deadline = time.monotonic() + timeout
        got = Totals(0, 0, 0)
        while time.monotonic() < deadline:
            if self._stored(client, producer.max_offsets):
                got = self._windows(client)
                if got == expected:
                    break
            time.sleep(0.05)
        seconds = time.time() - start
        peak = rss.stop()
        note = f"store {store.stop():.0f} MiB" if store else ""
        if got != expected:
            return Outcome(float("nan"), peak, got, "incomplete")
        return Outcome(seconds, peak, got, note)

    @staticmethod
    def _client(connect: Any, settings: Any) -> Any:
        try:
            return connect(settings.clickhouse)
        except Exception:
            return None  # the database is not migrated yet

    @staticmethod
    def _stored(client: Any, produced: dict[tuple[str, int], int]) -> bool:
        if client is None:
            return False
        try:
            rows = client.query("SELECT topic, partition, max(max_offset) FROM sink_watermarks"
                                " WHERE table_name = 'call_events' GROUP BY topic, partition").result_rows
        except Exception:
            return False
        stored = {(t, int(p)): int(o) for t, p, o in rows}
        return all(stored.get(k, -1) >= v for k, v in produced.items())

    @staticmethod
    def _windows(client: Any) -> Totals:
        o, a, w = client.query("SELECT sum(offered), sum(answered), sum(answered_within_threshold)"
                               " FROM v_service_level").result_rows[0]
        return Totals(int(o or 0), int(a or 0), int(w or 0))


# --------------------------------------------------------------------------- main


def setup() -> None:
    if not (PEERS_VENV / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEERS_VENV)], check=True)
    subprocess.run([str(PEERS_VENV / "bin" / "pip"), "install", "-q", *PEER_PACKAGES], check=True)


def versions() -> str:
    script = ("import importlib.metadata as m; print(', '.join(f'{p} {m.version(p)}' for p in "
              f"{PEER_PACKAGES!r}))")
    return subprocess.run([str(PEERS_VENV / "bin" / "python"), "-c", script], capture_output=True, text=True,
                          check=True).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--setup", action="store_true", help="create/update benchmarks/.venv-peers first")
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", default=",".join(IMPLEMENTATIONS), help="comma-separated implementations")
    parser.add_argument("--broker", default="tansu", choices=("tansu", "apache-kafka"))
    parser.add_argument("--faust-table-events", type=int, default=60_000,
                        help="Faust's windowed table (~1,000 events/s here) runs on at most this many events")
    parser.add_argument("--sp-workers", type=int, default=1, help="servicepulse: `up --workers`")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per implementation and round")
    parser.add_argument("--work-dir", type=Path, help="keep logs and state here (default: a temporary folder)")
    parser.add_argument("--job", help=argparse.SUPPRESS)
    for name in ("bootstrap", "in-topic", "out-topic", "group", "state-dir", "mark"):
        parser.add_argument(f"--{name}", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.job:
        run_job(args.job, JobArgs(args.bootstrap, args.in_topic, args.out_topic, args.group, args.state_dir,
                                  args.mark, args.n))
        return
    chosen = [x for x in args.only.split(",") if x]
    unknown = set(chosen) - set(IMPLEMENTATIONS)
    if unknown:
        raise SystemExit(f"unknown implementations: {sorted(unknown)}; choose from {IMPLEMENTATIONS}")
    if args.setup:
        setup()
    if not (PEERS_VENV / "bin" / "python").exists() and set(chosen) - {"servicepulse"}:
        raise SystemExit(f"{PEERS_VENV} is missing: run with --setup")
    print(f"peers: {versions()}" if set(chosen) - {"servicepulse"} else "")
    sys.exit(measure(args, chosen))


def measure(args: argparse.Namespace, chosen: list[str]) -> int:
    from servicepulse.devstack.stack import embedded_stack

    with ExitStack() as stack:
        work = args.work_dir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="peers-")))
        work.mkdir(parents=True, exist_ok=True)
        local = stack.enter_context(embedded_stack(work / "stack", args.broker))
        t0 = time.perf_counter()
        feed = Input(args.events)
        expected, size = feed.expected, feed.mean_size
        feed.produce(local.bootstrap)
        print(f"{args.events:,} events (mean {size:.0f} bytes) encoded and produced once (each run gets its own copy)"
              f" to {PARTITIONS} partitions of {args.broker} in {time.perf_counter() - t0:.1f}s; expected totals: "
              f"offered {expected.offered:,}, answered {expected.answered:,}, within 60 s {expected.within_60s:,}")
        # Faust's windowed table runs ~1,000 events/s here: on the first events only, or it alone takes the run's
        # time budget (its rate does not depend on the count: per-event machinery).
        slow = Input(min(args.events, args.faust_table_events)) if "faust-table" in chosen else feed
        sp = None
        if "servicepulse" in chosen:
            sp = Servicepulse(local.bootstrap, local.clickhouse_url, local.store.pid if local.store else None,
                              args.events, args.sp_workers)
        rows = {name: Row(name) for name in chosen}
        for r in range(args.rounds):
            for name in chosen:
                source = slow if name == "faust-table" else feed
                n = len(source.records)
                if sp is not None and name == "servicepulse":
                    outcome = sp.run(expected, work, args.timeout)
                else:
                    outcome = run_peer(name, local.bootstrap, source.produce(local.bootstrap), n, source.expected,
                                       work, args.timeout)
                outcome.events, outcome.expected = n, source.expected
                rows[name].outcomes.append(outcome)
                print(f"round {r + 1} {name:<13} {outcome.rate:>10,.0f} events/s  {outcome.seconds:6.1f}s  "
                      f"peak RSS {outcome.rss_mib:6.0f} MiB  totals {'ok' if outcome.ok else 'WRONG'}"
                      f" {outcome.note}", flush=True)
        return report(rows, args)


def report(rows: dict[str, Row], args: argparse.Namespace) -> int:
    def rate(row: Row) -> float:
        good = [o.rate for o in row.outcomes if o.seconds == o.seconds]
        return statistics.median(good) if good else float("nan")

    quix = rate(rows["quix"]) if "quix" in rows else float("nan")
    wrong = [(row.name, o) for row in rows.values() for o in row.outcomes if not o.ok]
    print(f"\n{args.events:,} events, {args.rounds} round(s), broker {args.broker}; medians")
    print(f"{'implementation':<14} {'events':>8} {'events/s':>10} {'vs Quix':>8} {'peak RSS MiB':>13}  totals")
    for row in rows.values():
        ok = all(o.ok for o in row.outcomes)
        notes = "; ".join(sorted({o.note for o in row.outcomes if o.note and "\n" not in o.note}))
        print(f"{row.name:<14} {row.outcomes[0].events:>8,} {rate(row):>10,.0f} {rate(row) / quix:>7.2f}x "
              f"{statistics.median(o.rss_mib for o in row.outcomes):>13,.0f}  {'equal' if ok else 'WRONG'}"
              f"{'  (' + notes + ')' if notes else ''}")
    print("goal: servicepulse >= Quix Streams (moonshot: >= Bytewax); printed, not asserted")
    for name, o in wrong:
        print(f"\nTOTALS DIFFER: {name}: got {o.totals}, expected {o.expected}. {o.note}", file=sys.stderr)
    return 1 if wrong else 0


if __name__ == "__main__":
    main()
