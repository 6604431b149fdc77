"""The demo's acceptance point on the real pipeline: with the targets-met baseline and the planted breaches
(`simulate --targets-met --plant-breaches`, as `up --demo` runs it), the SLA alerts raised are exactly the
planted ground truth: every planted breach one raise, no raise anywhere else."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from servicepulse.config import ReadbackSettings
from servicepulse.schemas.events import CallEvent, Complaint
from servicepulse.simulator import STOCKHOLM, SimConfig, Simulator
from tests.factories.pipeline import Pipeline

pytestmark = pytest.mark.integration

START, DAYS, SCALE = "2026-03-02", 12, 0.1
SLA_RULES = ("contact.service_level", "contact.email_deadline", "complaints.ack_deadline", "complaints.backlog")
TICK_S = ReadbackSettings().sla_tick_s
RAISED = ("SELECT rule_id, alert_key FROM alerts FINAL WHERE state = 'raised' "
          "AND (rule_id LIKE 'contact.%' OR rule_id LIKE 'complaints.%')")


def test_demo_feed_raises_exactly_the_planted_breaches(pipeline: Pipeline, tmp_path: Path) -> None:
    truth_file = tmp_path / "truth.json"
    pipeline.cli("simulate", "--days", str(DAYS), "--start", START, "--scale", str(SCALE), "--targets-met",
                 "--plant-breaches", "--truth", str(truth_file))
    truth = json.loads(truth_file.read_text(encoding="utf-8"))["planted"]
    expected = {(t["rule_id"], t["alert_key"]) for t in truth}
    # At least a service-level dip, an e-mail left over days off and a complaint never acknowledged.
    assert {t["rule_id"] for t in truth} == {"contact.service_level", "contact.email_deadline",
                                             "complaints.ack_deadline"}
    assert len(expected) == len(truth) == 3
    # What was produced, to know when all of it is stored (the same seed and window give the same events).
    start = datetime.combine(datetime.fromisoformat(START).date(), datetime.min.time(), STOCKHOLM)
    end = start + timedelta(days=DAYS)
    events = Simulator(SimConfig(seed=1, scale=SCALE, targets_met=True, plant_breaches=True), start, end).advance(end)
    calls = sum(isinstance(e, CallEvent) for e in events)
    complaints = sum(isinstance(e, Complaint) for e in events)
    assert calls > 10_000 and complaints > 10

    pipeline.start_worker()
    pipeline.wait_for(lambda: pipeline.scalar("SELECT count() FROM call_events") >= calls, timeout=150,
                      what=f"{calls} call events stored")
    pipeline.wait_for(lambda: pipeline.scalar("SELECT count() FROM complaints") >= complaints, what="complaints")
    # Every planted deadline lies at least a day before the end; the monitor's event-time clocks (the newest
    # stored event of each table) reach the last simulated hours once everything is stored.
    latest = pipeline.scalar("SELECT toString(max(occurred_at)) FROM call_events")
    assert latest >= (end - timedelta(hours=12)).astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M")

    def raised() -> set[tuple[str, str]]:
        return {(r, k) for r, k in pipeline.rows(RAISED)}

    def resolved() -> set[str]:
        return {k for (k,) in pipeline.rows("SELECT alert_key FROM alerts FINAL WHERE state = 'resolved' "
                                            "AND (rule_id LIKE 'contact.%' OR rule_id LIKE 'complaints.%')")}

    # The resolves come from later monitor ticks than the raises: both are waited for before the exact checks.
    want_resolved = {k for r, k in expected if r != "complaints.ack_deadline"}
    pipeline.wait_for(lambda: raised() >= expected and resolved() >= want_resolved, timeout=90,
                      what=f"planted alerts {sorted(expected)} and their resolves")
    time.sleep(3 * TICK_S + 1)  # later ticks, with every event stored and the clocks at the end, add nothing
    got = raised()
    assert got == expected, f"missing {sorted(expected - got)}, not planted {sorted(got - expected)}"
    # One raise per planted breach (alert ids are deterministic, FINAL collapses re-sends).
    per_key = pipeline.rows("SELECT alert_key, count() FROM alerts FINAL WHERE state = 'raised' "
                            "AND (rule_id LIKE 'contact.%' OR rule_id LIKE 'complaints.%') GROUP BY alert_key")
    assert all(n == 1 for _, n in per_key)
    assert {r for r, _ in got} <= set(SLA_RULES)
    # The dip and the late e-mail end and resolve once; the complaint is never acknowledged.
    assert resolved() == want_resolved
