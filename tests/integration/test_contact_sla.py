"""SLA windows and alerts end to end: Kafka -> sink -> ClickHouse views -> SLA monitor -> alerts."""

from __future__ import annotations

import random
import time
from datetime import datetime, timedelta
from typing import Any

import pytest

from servicepulse.domain.zone import STOCKHOLM
from servicepulse.schemas.events import CallEvent
from servicepulse.streams.contact.metrics import compute_windows
from tests.factories.calls import EXPECTED_15, contact, planted_events
from tests.factories.pipeline import Pipeline

pytestmark = pytest.mark.integration


def sthlm(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=STOCKHOLM)


def _view(pipeline: Pipeline) -> dict[tuple[str, str], tuple[Any, ...]]:
    rows = pipeline.rows(
        "SELECT queue, toString(window_start), offered, answered_within_threshold, short_abandoned, service_level,"
        " asa_s, abandonment_rate, fcr FROM v_service_level")
    return {(r[0], r[1]): r[2:] for r in rows}


def test_windows_and_alerts_for_planted_breaches(pipeline: Pipeline) -> None:
    events = planted_events()
    producer = pipeline.producer()
    for e in events:
        producer.send(e)
    producer.flush()
    pipeline.start_worker()
    calls = sum(isinstance(e, CallEvent) for e in events)
    pipeline.wait_for(lambda: pipeline.scalar("SELECT count() FROM call_events") >= calls, what="calls stored")
    pipeline.wait_for(lambda: pipeline.scalar("SELECT count() FROM complaints") >= 5, what="complaints stored")

    view = _view(pipeline)
    for (queue, start), (offered, within, short, sl, asa, aband, fcr) in EXPECTED_15.items():
        got = view[(queue, start.strftime("%Y-%m-%d %H:%M:%S"))]
        assert got[:3] == (offered, within, short)
        assert got[3:] == pytest.approx((sl, asa, aband, fcr))
    # Per organisation: Lön & pension's 09:00 window is payroll-service's alone; Väsby Direkt's is v1-v3.
    by_org = {r[0]: r[1:] for r in pipeline.rows(
        "SELECT org, offered, answered_within_threshold, service_level FROM v_service_level_by_org "
        "WHERE toString(window_start) = '2026-03-12 09:00:00'")}
    assert by_org == {"Serviceförvaltningen Lön & pension": (5, 3, pytest.approx(0.6)),
                      "Väsby Direkt": (3, 1, pytest.approx(1 / 3))}
    tertial = pipeline.rows("SELECT tertial, customer, process, registered, acknowledged_in_time "
                            "FROM v_complaints_by_tertial")
    assert tertial == [("2026-T1", "Socialförvaltningen", "payroll", 3, 2)]

    expected = {("contact.service_level", "raised"): 1, ("contact.service_level", "resolved"): 1,
                ("contact.email_deadline", "raised"): 2, ("complaints.ack_deadline", "raised"): 1}
    query = "SELECT rule_id, state, count() FROM alerts FINAL WHERE rule_id != 'ops.dead_letters' GROUP BY 1, 2"

    def settled() -> bool:
        return {(r, s): n for r, s, n in pipeline.rows(query)} == expected

    pipeline.wait_for(settled, timeout=120, what=f"alerts {expected}")
    time.sleep(4)  # more ticks must not add anything
    assert {(r, s): n for r, s, n in pipeline.rows(query)} == expected
    raised = pipeline.rows("SELECT toString(window_start), measured_value, target FROM alerts FINAL "
                           "WHERE rule_id = 'contact.service_level' AND state = 'raised'")
    start, value, target = raised[0]
    assert target == 0.85 and value < 0.85 and start.startswith("2026-03-12 ")
    due = pipeline.rows("SELECT alert_key, toString(occurred_at) FROM alerts FINAL "
                        "WHERE rule_id = 'contact.email_deadline' ORDER BY occurred_at")
    assert due == [
        # e1 of the hand-computed day (Thursday 12 March 09:02, never answered): due Friday 09:02
        ("contact.email_deadline:payroll-service:2026-03-13", "2026-03-13 09:02:00.000"),
        # m1, Thursday before Easter 16:00: flagged when its deadline passed, Tuesday after Easter 16:00
        ("contact.email_deadline:payroll-service:2026-04-07", "2026-04-07 16:00:00.000"),
    ]
    ack = pipeline.rows("SELECT alert_key, toString(occurred_at) FROM alerts FINAL "
                        "WHERE rule_id = 'complaints.ack_deadline'")
    # k1 registered Monday 2 March 09:00, 8 office hours -> Tuesday 08:30
    assert ack == [("complaints.ack_deadline:k1", "2026-03-03 08:30:00.000")]


def test_kill_during_window_leaves_window_counts_exact(pipeline: Pipeline) -> None:
    rng = random.Random(11)
    queues = ["kc-social", "vasby-direkt", "payroll-service"]
    events: list[CallEvent] = []
    for i in range(5000):
        offered = sthlm(2026, 3, 12, 9, 0) + timedelta(seconds=rng.uniform(0, 3599))
        wait = int(rng.expovariate(1 / 40))
        events += contact(f"k{i}", queues[i % 3], offered, wait, rng.random() > 0.08, rng.random() < 0.85)
    rng.shuffle(events)
    total = len(events)
    stored_at_kill, skipped = pipeline.kill_worker_mid_stream(events, kill_after=3000, chunk=1500, timeout=150)
    assert stored_at_kill < total
    assert pipeline.scalar("SELECT count() FROM call_events") == total
    # The restarted worker really re-read what was stored before the kill (no offsets had been committed).
    assert skipped >= stored_at_kill
    expected = {(q, s.astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M:%S")): m
                for (q, s), m in compute_windows(events).items()}
    view = _view(pipeline)
    assert set(view) == set(expected)
    for key, m in expected.items():
        offered, within, short, sl, asa, aband, fcr = view[key]
        assert (offered, within, short) == (m.offered, m.answered_within_threshold, m.short_abandoned), key
        assert (sl, asa, aband, fcr) == pytest.approx((m.service_level, m.asa_s, m.abandonment_rate, m.fcr))
    # Alerts re-derived by the restarted worker carry the same ids: one raise per breach at most.
    dup = pipeline.scalar("SELECT count() FROM (SELECT alert_key, state FROM alerts FINAL GROUP BY 1, 2 "
                          "HAVING count() > 1)")
    assert dup == 0


def test_simulator_planted_breaches_each_raise_exactly_one_alert(pipeline: Pipeline) -> None:
    from servicepulse.simulator.calls import planted_contact_breaches
    from servicepulse.simulator.complaints import planted_complaint_breaches

    calls, call_truth = planted_contact_breaches(2026)
    complaints, complaint_truth = planted_complaint_breaches(2026)
    truth = call_truth + complaint_truth
    producer = pipeline.producer()
    for e in [*calls, *complaints]:
        producer.send(e)
    producer.flush()
    pipeline.start_worker()
    pipeline.wait_for(lambda: pipeline.scalar("SELECT count() FROM call_events") >= len(calls), what="calls")
    pipeline.wait_for(lambda: pipeline.scalar("SELECT count() FROM complaints") >= len(complaints),
                      what="complaints")
    query = ("SELECT rule_id, alert_key FROM alerts FINAL WHERE state = 'raised' AND rule_id != 'ops.dead_letters' "
             "ORDER BY rule_id, alert_key")
    resolved_query = "SELECT alert_key FROM alerts FINAL WHERE state = 'resolved' ORDER BY alert_key"

    def raised_and_resolved() -> bool:
        # The resolves come from later monitor ticks than the raises: waited for before the exact checks.
        raised = pipeline.rows(query)
        want = {k for r, k in raised if r != "complaints.ack_deadline"}
        return len(raised) >= len(truth) and {k for (k,) in pipeline.rows(resolved_query)} >= want

    pipeline.wait_for(raised_and_resolved, timeout=120, what="planted alerts and their resolves")
    time.sleep(4)  # later ticks add nothing
    raised = pipeline.rows(query)
    assert len(raised) == len(truth)
    for t in truth:
        hits = [k for r, k in raised if r == t.rule_id and f":{t.subject}:" in f"{k}:"
                and (t.due_day is None or k.endswith(f":{t.due_day}"))]
        assert len(hits) == 1, (t.description, raised)
    resolved = pipeline.rows(resolved_query)
    assert sorted(k for (k,) in resolved) == sorted(k for r, k in raised if r != "complaints.ack_deadline")
