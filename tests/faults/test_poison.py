"""Poison never stops anything: values the tables cannot hold are dead letters, the rest flows, no worker exits."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from servicepulse.schemas.events import CallEvent
from tests.factories.faults import FaultReport
from tests.factories.pipeline import Pipeline

pytestmark = [pytest.mark.integration, pytest.mark.broker_independent]

SIE_HEAD = """#FLAGGA 0
#FORMAT PC8
#SIETYP 4
#PROGRAM "ERP export" 1.0
#FTGNR 1040
#RAR 0 20260101 20261231
"""


def _voucher(number: int, day: str, amount: str, text: str) -> str:
    return (f'#VER A {number} {day} "{text}" {day} "EK-017"\n{{\n'
            f"   #TRANS 1930 {{}} {amount}\n   #TRANS 3010 {{}} -{amount}\n}}\n")


def _sie_file(path: Path) -> dict[int, str]:
    """Valid vouchers with bad ones among them; returns the #VER line of each bad voucher and what is wrong."""
    parts = [SIE_HEAD]
    line = SIE_HEAD.count("\n") + 1
    bad: dict[int, str] = {}
    vouchers = [("20260302", "100.00", "ok"), ("19000101", "5.00", "placeholder date"),
                ("20260303", "250.50", "ok"), ("21500101", "5.00", "far future"),
                ("20260304", "1.00", "ok"), ("20260305", "100000000000000000.00", "beyond Int64 öre"),
                ("20260306", "42.00", "ok"), ("20260309", "7.25", "ok"), ("20260310", "0.01", "ok")]
    for number, (day, amount, text) in enumerate(vouchers, start=1):
        if text != "ok":
            bad[line] = text
        block = _voucher(number, day, amount, text)
        parts.append(block)
        line += block.count("\n")
    path.write_text("".join(parts), encoding="cp437")
    return bad


def _calls(n: int, queue: str = "kc-social", start: int = 0) -> list[CallEvent]:
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    return [CallEvent(event_id=f"f{start + i}:offered", contact_id=f"f{start + i}", event_type="offered",
                      channel="phone", queue=queue, org="Kontaktcenter", occurred_at=t0 + timedelta(seconds=i),
                      source="faults") for i in range(n)]


def test_sie4_with_dates_and_amounts_the_tables_cannot_hold(pipeline: Pipeline, tmp_path: Path) -> None:
    started = time.monotonic()
    worker = pipeline.start_worker()
    sie = tmp_path / "placeholder-dates.se"
    bad = _sie_file(sie)
    done = pipeline.cli("ingest", "sie4", str(sie), "--wait", "--timeout", "120", check=False)
    assert done.returncode == 2, done.stderr  # 2: published, with bad lines sent to dead letters

    postings = pipeline.rows("SELECT voucher_number, count() FROM invoice_postings WHERE source = 'sie4' "
                             "GROUP BY voucher_number ORDER BY toInt32(voucher_number)")
    assert postings == [(str(n), 2) for n in (1, 3, 5, 7, 8, 9)]
    letters = pipeline.rows(f"SELECT source_offset, kind, reason FROM dead_letters WHERE source_topic = "
                            f"'file:{sie.name}' ORDER BY source_offset")
    # One dead letter per bad posting line (each names its voucher, rejected whole), none for a valid one.
    by_voucher: dict[int, list[str]] = {}
    for offset, kind, reason in letters:
        assert kind == "rejected" and "rejected whole" in reason and "ClickHouse column" in reason
        voucher_line = max(v for v in bad if v <= offset)
        assert offset - voucher_line in (2, 3)  # the #TRANS lines of that voucher
        by_voucher.setdefault(voucher_line, []).append(reason)
    assert set(by_voucher) == set(bad)
    reasons = {bad[v]: " ".join(r) for v, r in by_voucher.items()}
    assert "1900-01-01" in reasons["placeholder date"] and "2150-01-01" in reasons["far future"]
    assert "Int64" in reasons["beyond Int64 öre"]

    # Calls ingested right after land as usual: nothing is stuck behind the poison.
    calls = _calls(50)
    jsonl = tmp_path / "calls.jsonl"
    from servicepulse.connectors.ingest.events_jsonl import dumps

    jsonl.write_bytes(b"".join(dumps(c) + b"\n" for c in calls))
    before = time.monotonic()
    pipeline.cli("ingest", "events-jsonl", str(jsonl), "--wait", "--timeout", "60")
    calls_s = time.monotonic() - before
    assert calls_s < 30, f"calls took {calls_s:.1f}s to become queryable"
    stored = pipeline.scalar("SELECT count() FROM call_events WHERE source = 'faults'")
    unique = pipeline.scalar("SELECT uniqExact(event_id) FROM call_events WHERE source = 'faults'")
    assert worker.poll() is None, "the worker exited"
    assert "sink write failed" not in pipeline.worker_logs()

    events_in = sie.read_text(encoding="cp437").count("#TRANS") + len(calls)
    rows_out = sum(n for _, n in postings) + stored
    lost = events_in - rows_out - len(letters)  # every bad posting line is accounted for by its dead letter
    FaultReport("sie4 poison", events_in, rows_out, lost, stored - unique, time.monotonic() - started).print()
    assert lost == 0 and stored == unique == len(calls)


def test_rows_the_store_refuses_are_dead_letters_and_the_rest_of_the_batch_lands(pipeline: Pipeline) -> None:
    # The model accepts every value below; the store, in this test database only, cannot hold a wait beyond
    # UInt32 ms (about 50 days). (A CHECK constraint would be the obvious tool, but the embedded store's
    # streaming insert drops a row that violates one and still reports success.)
    pipeline.client().command("ALTER TABLE call_events MODIFY COLUMN wait_ms Nullable(UInt32)")
    started = time.monotonic()
    good = _calls(40)
    poison = _calls(1, start=1000)[0].model_copy(update={"wait_ms": 5_000_000_000})
    # One key, one partition, produced before the worker starts: the poison sits in the middle of one batch.
    producer = pipeline.producer()
    batch = [*good[:20], poison, *good[20:]]
    topic_name = pipeline.settings.kafka.topics.call_events
    codec = pipeline.codec
    for event in batch:
        producer.send_raw(topic_name, b"same-partition", codec.encode(event))
    producer.flush()
    worker = pipeline.start_worker()

    count = "SELECT count() FROM call_events WHERE source = 'faults'"
    refused = "SELECT count() FROM dead_letters WHERE kind = 'refused'"
    pipeline.wait_for(lambda: pipeline.scalar(count) >= len(good) and pipeline.scalar(refused) >= 1,
                      timeout=90, what="valid rows and the refused dead letter")
    later = _calls(10, start=2000)
    for event in later:
        producer.send_raw(topic_name, b"same-partition", codec.encode(event))
    producer.flush()
    total = len(good) + len(later)
    pipeline.wait_for(lambda: pipeline.scalar(count) >= total, timeout=60, what="rows after the poison")
    time.sleep(2)  # a duplicate would land now

    stored = int(pipeline.scalar(count))
    unique = int(pipeline.scalar("SELECT uniqExact(event_id) FROM call_events WHERE source = 'faults'"))
    ((topic, partition, offset, reason, payload, stage),) = pipeline.rows(
        "SELECT source_topic, source_partition, source_offset, reason, hex(payload), stage FROM dead_letters "
        "WHERE kind = 'refused'")
    assert topic == topic_name and stage == "sink:call_events"
    assert "wait_ms" in reason and "5000000000" not in reason
    assert codec.decode(bytes.fromhex(payload), CallEvent) == poison
    first_good = pipeline.rows("SELECT min(_offset), max(_offset), any(_partition) FROM call_events")
    assert first_good[0][2] == partition and first_good[0][0] < offset < first_good[0][1]  # same batch, mid-way
    assert worker.poll() is None and "sink write failed" not in pipeline.worker_logs()
    assert "batch split to isolate refused rows" in pipeline.worker_logs()

    events_in = len(batch) + len(later)
    lost = total - unique
    FaultReport("store refusal", events_in, stored, lost, stored - unique, time.monotonic() - started).print()
    assert stored == unique == total and lost == 0
