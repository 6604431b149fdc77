"""File -> Kafka -> Faust sink -> ClickHouse, with bad input, replays and a killed worker."""

from __future__ import annotations

import json
import random
import time
from datetime import UTC, datetime, timedelta

import pytest

from servicepulse.cli.faults import invalid_payload
from servicepulse.schemas.events import CallEvent
from servicepulse.streams.finance.rules import SUSPENSE_POSTING
from servicepulse.streams.sink import TABLES
from tests.factories.pipeline import Pipeline

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 12, 8, 0, tzinfo=UTC)


def call(i: int) -> CallEvent:
    return CallEvent(event_id=f"c{i}:offered", contact_id=f"c{i}", event_type="offered", channel="phone",
                     queue=["kc-social", "payroll-service", "pension-group"][i % 3], org="Kontaktcenter",
                     occurred_at=T0 + timedelta(milliseconds=37 * i), source="test")


def test_tables_match_the_models(pipeline: Pipeline) -> None:
    for spec in TABLES.values():
        described = {row[0] for row in pipeline.rows(f"DESCRIBE TABLE {spec.table}")}
        missing = set(spec.columns) - described
        assert not missing, f"{spec.table} lacks {missing}"


def test_migrations_are_idempotent(pipeline: Pipeline) -> None:
    from servicepulse.connectors.clickhouse import migrate

    assert migrate(pipeline.settings.clickhouse) == []
    assert pipeline.scalar("SELECT count() FROM schema_migrations") >= 2


def test_same_dedup_token_inserts_once(pipeline: Pipeline) -> None:
    from servicepulse.connectors.clickhouse import insert_rows
    from servicepulse.streams.sink import Message, decode_batch

    codec = pipeline.codec
    spec = TABLES["call_events"]
    result = decode_batch(spec, codec, [Message("x", 0, i, None, codec.encode(call(i))) for i in range(50)], {})
    client = pipeline.client()
    insert_rows(client, spec.table, spec.columns, result.rows, token="same")
    insert_rows(client, spec.table, spec.columns, result.rows, token="same")
    assert pipeline.scalar("SELECT count() FROM call_events") == 50
    assert pipeline.scalar("SELECT max(max_offset) FROM sink_watermarks WHERE topic = 'x'") == 49
    assert pipeline.scalar("SELECT sum(rows) FROM sink_watermarks WHERE topic = 'x'") == 50
    insert_rows(client, spec.table, spec.columns, result.rows, token="other")
    assert pipeline.scalar("SELECT count() FROM call_events") == 100


def test_bad_messages_go_to_dead_letters_and_valid_ones_all_arrive(pipeline: Pipeline) -> None:
    producer = pipeline.producer()
    topic = pipeline.settings.kafka.topics.call_events
    codec = pipeline.codec
    rng = random.Random(7)
    bad: dict[str, str] = {}
    valid = 0
    for i in range(600):
        event = call(i)
        if i % 50 == 25:
            kind = ["garbage", "unknown", "invalid", "truncated"][(i // 50) % 4]
            good = codec.encode(event)
            value = {
                "garbage": b"\xff\xfe not avro at all " + bytes(rng.getrandbits(8) for _ in range(8)),
                "unknown": b"\x00\x00\x0f\x42\x40" + good[5:],
                "invalid": invalid_payload(event, codec),
                "truncated": good[:7],
            }[kind]
            producer.send_raw(topic, event.key(), value)
            bad[event.key().decode()] = kind
        else:
            producer.send(event)
            valid += 1
    producer.flush()
    pipeline.start_worker()
    pipeline.wait_for(lambda: pipeline.scalar("SELECT count() FROM call_events") >= valid
                      and pipeline.scalar("SELECT count() FROM dead_letters") >= len(bad), what="all rows")
    time.sleep(1.5)
    assert pipeline.scalar("SELECT count() FROM call_events") == valid
    assert pipeline.scalar("SELECT uniqExact(event_id) FROM call_events") == valid
    letters = pipeline.rows("SELECT source_key, kind, reason, source_topic, stage, length(payload) FROM dead_letters")
    assert len(letters) == len(bad)
    expected_kind = {"garbage": "undecodable", "unknown": "unknown_schema", "invalid": "invalid",
                     "truncated": "undecodable"}
    for key, kind, reason, source_topic, stage, payload_len in letters:
        assert kind == expected_kind[bad[key]]
        assert reason and source_topic == topic and stage == "sink:call_events" and payload_len > 0
    assert any("1000000" in r[2] for r in letters), "unknown schema id is named in the reason"
    assert any("event_id" in r[2] for r in letters if r[1] == "invalid")
    # The operations alert fires once for the source, not once per bad message.
    pipeline.wait_for(lambda: pipeline.scalar("SELECT count() FROM alerts") >= 1, what="dead-letter alert")
    assert pipeline.scalar("SELECT uniqExact(alert_key) FROM alerts") == 1


def test_replaying_the_same_offsets_leaves_counts_unchanged(pipeline: Pipeline) -> None:
    producer = pipeline.producer()
    for i in range(3000):
        producer.send(call(i))
    producer.flush()
    pipeline.start_worker()
    pipeline.wait_for(lambda: pipeline.scalar("SELECT count() FROM call_events") >= 3000, what="first pass")
    pipeline.stop_workers()
    # A new consumer group has no committed offsets: it re-reads every message from offset 0.
    pipeline.start_worker(KAFKA__CONSUMER_GROUP=pipeline.env["KAFKA__CONSUMER_GROUP"] + "-replay")
    pipeline.wait_for(lambda: "replay guard skipped" in pipeline.worker_logs(), what="replay to be skipped")
    time.sleep(2)
    assert pipeline.scalar("SELECT count() FROM call_events") == 3000


def test_killed_worker_restarted_stores_each_event_exactly_once(pipeline: Pipeline) -> None:
    total = 40_000
    stored_at_kill, skipped = pipeline.kill_worker_mid_stream([call(i) for i in range(total)], kill_after=8000,
                                                              chunk=2000)
    assert stored_at_kill < total
    assert pipeline.scalar("SELECT count() FROM call_events") == total
    assert pipeline.scalar("SELECT uniqExact(event_id) FROM call_events") == total
    assert skipped >= stored_at_kill, "the restarted worker re-read (and skipped) what was stored before the kill"


def test_calls_csv_ingest_waits_until_queryable_and_reports_bad_lines(pipeline: Pipeline) -> None:
    header = "contact_id,channel,queue,org,offered_at,answered_at,ended_at,abandoned,resolved_first_contact,agent_id"
    lines = [header]
    for i in range(200):
        offered = datetime(2026, 3, 12, 9, 0, tzinfo=UTC) + timedelta(seconds=40 * i)
        answered = offered + timedelta(seconds=i % 90)
        ended = answered + timedelta(minutes=3)
        lines.append(f"k{i},phone,kc-social,Kontaktcenter,{offered.isoformat()},{answered.isoformat()},"
                     f"{ended.isoformat()},false,{'true' if i % 5 else 'false'},ag{i % 7}")
    lines.insert(51, "k-bad,phone,kc-social,Kontaktcenter,yesterday,,,true,,")
    lines.insert(102, "k-bad2,phone,kc-social,Kontaktcenter,2026-03-12T09:00:00,,,true,,")
    path = pipeline.workdir / "calls.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    pipeline.start_worker()
    done = pipeline.cli("ingest", "calls-csv", str(path), "--wait", "--timeout", "120", check=False)
    assert done.returncode == 2, done.stderr
    assert "calls.csv:52" in done.stderr and "calls.csv:103" in done.stderr
    # --wait promised every event is queryable: no polling here.
    assert pipeline.scalar("SELECT count() FROM call_events") == 600
    assert pipeline.scalar("SELECT countIf(event_type = 'answered' AND wait_ms <= 60000) FROM call_events") == sum(
        1 for i in range(200) if i % 90 <= 60
    )
    rows = pipeline.rows("SELECT source_topic, source_offset, reason FROM dead_letters ORDER BY source_offset")
    assert [(t, o) for t, o, _ in rows] == [("file:calls.csv", 52), ("file:calls.csv", 103)]
    assert "no UTC offset" in rows[1][2]


def test_sql_command_formats_and_errors(pipeline: Pipeline) -> None:
    out = pipeline.cli("sql", "SELECT 1 AS one, 'a' AS letter", "--format", "json").stdout
    assert json.loads(out.strip()) == {"one": 1, "letter": "a"}
    tsv = pipeline.cli("sql", "SELECT number FROM numbers(3)", "--format", "tsv").stdout
    assert tsv.splitlines() == ["number", "0", "1", "2"]
    bad = pipeline.cli("sql", "SELECT * FROM no_such_table", check=False)
    assert bad.returncode == 1 and "no_such_table" in bad.stderr
    status = pipeline.cli("status", "--format", "json").stdout
    tables = {json.loads(line).get("table") for line in status.splitlines() if '"table"' in line}
    assert {spec.table for spec in TABLES.values()} <= tables


def test_postings_to_9894_become_findings_with_evidence(pipeline: Pipeline) -> None:
    from datetime import date

    from servicepulse.schemas.events import InvoicePosting

    def posting(i: int, account: str, amount: int) -> InvoicePosting:
        return InvoicePosting(event_id=f"p{i}", kind="incoming_payment", company=f"10{i % 3}0", account=account,
                              amount_ore=amount, posting_date=date(2026, 3, 12), voucher_series="B",
                              voucher_number=str(1000 + i), recorded_at=T0, source="test")

    producer = pipeline.producer()
    expected = set()
    for i in range(300):
        account = "9894" if i % 10 == 0 else ("9896" if i % 10 == 1 else "1510")
        amount = -(100 + i) if i % 20 else 100 + i  # every 20th 9894 posting is a re-booking (debit)
        producer.send(posting(i, account, amount))
        if account == "9894" and amount < 0:
            expected.add(f"p{i}")
    producer.flush()
    pipeline.start_worker()
    pipeline.wait_for(lambda: pipeline.scalar("SELECT count() FROM invoice_postings") >= 300
                      and pipeline.scalar("SELECT count() FROM findings") >= len(expected), what="findings")
    time.sleep(1.5)
    rows = pipeline.rows("SELECT source_event_ids, rule_id, rule_version, severity, evidence_json FROM findings FINAL")
    assert {r[0][0] for r in rows} == expected
    assert {(r[1], r[2], r[3]) for r in rows} == {("gl.suspense_posting", SUSPENSE_POSTING.version, "low")}
    assert all(json.loads(r[4])["account"] == "9894" for r in rows)
