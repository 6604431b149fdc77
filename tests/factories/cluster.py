"""The fault suite's load and its exactness checks: paced feeds, corrupt messages, counts without FINAL."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from servicepulse.domain.zone import STOCKHOLM
from servicepulse.schemas.events import CallEvent, Event, InvoicePosting
from tests.factories.calls import contact
from tests.factories.events import T0
from tests.factories.pipeline import Pipeline

__all__ = ["Feeder", "Tally", "call_load", "exactness", "postings", "service_level_mismatches"]

QUEUES = ("kc-social", "vasby-direkt", "payroll-service")


def call_load(contacts: int, seed: int = 7) -> list[CallEvent]:
    """About 3.5 call events a contact over one March morning, shuffled across contacts."""
    rng = random.Random(seed)
    start = T0.astimezone(STOCKHOLM).replace(hour=8, minute=0, second=0, microsecond=0)
    events: list[CallEvent] = []
    for i in range(contacts):
        offered = start + timedelta(seconds=rng.uniform(0, 4 * 3600))
        wait = int(rng.expovariate(1 / 40))
        events += contact(f"x{seed}-{i}", QUEUES[i % 3], offered, wait, rng.random() > 0.08, rng.random() < 0.85)
    rng.shuffle(events)
    return events


def postings(count: int, seed: int = 7) -> list[InvoicePosting]:
    """Incoming payments, every fifth to the 9894 suspense account (a `gl.suspense_posting` finding each)."""
    base = InvoicePosting(event_id="p", kind="incoming_payment", company="1010", account="1930", amount_ore=-10_000,
                          posting_date=date(2026, 3, 12), voucher_series="B", voucher_number="1",
                          reference="1234567897", text="Inbetalning", recorded_at=T0, source="faults")
    return [base.model_copy(update={"event_id": f"p{seed}-{i}", "voucher_number": str(1000 + i),
                                    "account": "9894" if i % 5 == 0 else "1930", "amount_ore": -(100 + i)})
            for i in range(count)]


CORRUPT = (b"", b"\x00", b"not avro at all", b"\x00\x00\x00\x00\x01", b"\x01\x02\x03\x04\x05\x06\x07")


@dataclass
class Feeder:
    """Sends events (and corrupt messages) in paced chunks from a thread, so workers can die and join meanwhile."""

    pipeline: Pipeline
    events: Sequence[Event]
    chunk: int = 1000
    pause_s: float = 0.3
    corrupt_per_chunk: int = 1
    corrupt_sent: int = 0
    _thread: threading.Thread | None = field(default=None, repr=False)

    def start(self) -> Feeder:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        producer = self.pipeline.producer()
        topic = self.pipeline.settings.kafka.topics.call_events
        for i, event in enumerate(self.events):
            producer.send(event)
            if i % self.chunk == self.chunk - 1:
                for _ in range(self.corrupt_per_chunk):
                    bad = CORRUPT[self.corrupt_sent % len(CORRUPT)]
                    producer.send_raw(topic, f"corrupt-{self.corrupt_sent}".encode(), bad)
                    self.corrupt_sent += 1
                producer.flush()
                time.sleep(self.pause_s)
        producer.flush()

    def join(self, timeout_s: float = 300) -> None:
        assert self._thread is not None
        self._thread.join(timeout_s)
        assert not self._thread.is_alive(), "the feed did not finish"


@dataclass(frozen=True)
class Tally:
    """One table counted without FINAL: rows, distinct keys, and what was expected."""

    table: str
    rows: int
    distinct: int
    expected: int | None

    @property
    def duplicated(self) -> int:
        return self.rows - self.distinct

    @property
    def lost(self) -> int:
        return 0 if self.expected is None else max(self.expected - self.distinct, 0)


KEYS = {
    "call_events": "event_id",
    "invoice_postings": "event_id",
    "findings": "finding_id",
    "alerts": "alert_id",
    "dead_letters": "(source_topic, source_partition, source_offset)",
}


def exactness(pipeline: Pipeline, expected: Mapping[str, int | None]) -> list[Tally]:
    """Every table of `expected` counted without FINAL against its distinct keys."""
    out = []
    for table, want in expected.items():
        rows, distinct = pipeline.rows(f"SELECT count(), count(DISTINCT {KEYS[table]}) FROM {table}")[0]
        out.append(Tally(table, int(rows), int(distinct), want))
    return out


def service_level_mismatches(pipeline: Pipeline, events: Sequence[CallEvent]) -> list[str]:
    """Windows of `v_service_level` that differ from the Python truth (`compute_windows`) over the events sent."""
    from servicepulse.streams.contact.metrics import compute_windows

    truth = {(q, s.astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M:%S")): (m.offered, m.answered_within_threshold,
                                                                         m.short_abandoned, m.fcr_ended)
             for (q, s), m in compute_windows(events).items()}
    view = {(str(q), str(s)): (int(o), int(w), int(sa), int(f)) for q, s, o, w, sa, f in pipeline.rows(
        "SELECT queue, toString(window_start), offered, answered_within_threshold, short_abandoned, fcr_ended "
        "FROM v_service_level")}
    keys = set(truth) | set(view)
    return [f"{k}: view {view.get(k)} truth {truth.get(k)}" for k in sorted(keys) if view.get(k) != truth.get(k)]
