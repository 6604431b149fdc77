"""The simulator's targets-met baseline and the breaches it plants inside any window (the demo's feed): the
baseline meets every SLA target, and through the SLA monitor exactly the planted breaches raise."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta

import pytest

from servicepulse.domain.calendar import WorkingCalendar
from servicepulse.schemas.events import Alert, AlertState, CallEvent, CallEventType, Channel, Complaint, Event
from servicepulse.simulator import STOCKHOLM, SimConfig, Simulator, event_time, is_working_day
from servicepulse.simulator.planted import planted_breaches, truth_records
from servicepulse.streams.complaints.rules import stories
from servicepulse.streams.contact.metrics import DEFAULT_TARGETS
from servicepulse.streams.contact.monitor import SlaMonitor, buckets_from_events, pending_emails


def _at(day: date, hour: int = 0) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=STOCKHOLM)


def _run(config: SimConfig, start: datetime, end: datetime) -> tuple[list[Event], Simulator]:
    sim = Simulator(config, start, end)
    return sim.advance(end), sim


def _config(targets_met: bool = False, plant_breaches: bool = False, scale: float = 0.1) -> SimConfig:
    return SimConfig(seed=5, scale=scale, finance=0, payroll=0, targets_met=targets_met, plant_breaches=plant_breaches)


def _monitor(events: list[Event], end: datetime, step: timedelta = timedelta(hours=12)) -> list[Alert]:
    """The SLA monitor as the agent runs it: event-time clock advanced in steps over what has arrived."""
    calls = [e for e in events if isinstance(e, CallEvent)]
    complaints = [e for e in events if isinstance(e, Complaint)]
    monitor, alerts = SlaMonitor(), []
    clock = min(event_time(e) for e in events)
    while True:
        clock = min(clock + step, end)
        seen_calls = [e for e in calls if e.occurred_at <= clock]
        if seen_calls:
            alerts += monitor.service_level(buckets_from_events(seen_calls), clock)
            alerts += monitor.emails(pending_emails(seen_calls), clock)
        seen = [e for e in complaints if e.occurred_at <= clock]
        if seen:
            alerts += monitor.complaints(list(stories(seen).values()), clock)
        if clock >= end:
            return alerts


def test_targets_met_baseline_meets_every_target() -> None:
    start, end = _at(date(2026, 10, 12)), _at(date(2026, 10, 17))  # Monday to Saturday
    events, _ = _run(_config(targets_met=True), start, end)
    calendar = WorkingCalendar()
    live = [e for e in events if isinstance(e, CallEvent) and e.event_type in (CallEventType.answered,
                                                                             CallEventType.abandoned)]
    assert len(live) > 1000
    for e in live:
        threshold = DEFAULT_TARGETS[e.queue].threshold_s * 1000
        assert e.wait_ms is not None
        if e.event_type is CallEventType.answered:
            assert e.wait_ms < threshold / 2
        else:  # only short abandons, which do not count as offered
            assert e.wait_ms <= 5000
    received = {e.contact_id: e.occurred_at for e in events if isinstance(e, CallEvent)
                and e.event_type is CallEventType.email_received}
    answered = [e for e in events if isinstance(e, CallEvent) and e.event_type is CallEventType.email_answered
                and e.contact_id in received]
    assert len(answered) > 100
    for e in answered:
        assert e.channel is Channel.email
        assert e.occurred_at <= calendar.add_office_time(received[e.contact_id], timedelta(hours=6))
    story = stories(e for e in events if isinstance(e, Complaint))
    acknowledged = [s for s in story.values() if s.registered_at and s.acknowledged_at]
    assert len(acknowledged) > 5
    for s in acknowledged:
        assert s.acknowledged_at is not None and s.registered_at is not None
        assert s.acknowledged_at <= calendar.add_office_time(s.registered_at, timedelta(hours=5))
    resolved = [e.resolved_first_contact for e in events if isinstance(e, CallEvent)
                and e.event_type is CallEventType.ended and e.queue in ("manager-support", "pension-group")]
    assert resolved and all(resolved)  # the 100 % first-contact targets


def test_targets_met_baseline_raises_no_alert() -> None:
    start, end = _at(date(2026, 3, 2)), _at(date(2026, 3, 14))
    events, sim = _run(_config(targets_met=True), start, end)
    assert sim.planted == []
    assert [a.alert_key for a in _monitor(events, end)] == []
    # The default baseline misses targets on purpose (what the demo used to show).
    default, _ = _run(_config(), start, end)
    assert any(a.state is AlertState.raised for a in _monitor(default, end, timedelta(days=1)))


@pytest.mark.parametrize(("start_day", "days"), [(date(2026, 3, 2), 12), (date(2026, 3, 9), 28)])
def test_every_planted_breach_raises_exactly_once_and_nothing_else(start_day: date, days: int) -> None:
    start = _at(start_day)
    end = start + timedelta(days=days)  # the second window ends on Easter Monday
    events, sim = _run(_config(targets_met=True, plant_breaches=True, scale=0.05), start, end)
    truth = {(t.rule_id, t.alert_key) for t in sim.planted}
    assert {r for r, _ in truth} == {"contact.service_level", "contact.email_deadline", "complaints.ack_deadline"}
    alerts = _monitor(events, end, timedelta(hours=12 if days < 20 else 24))
    raised = [(a.rule_id, a.alert_key) for a in alerts if a.state is AlertState.raised]
    assert sorted(raised) == sorted(truth)
    resolved = [a.alert_key for a in alerts if a.state is AlertState.resolved]
    assert sorted(resolved) == sorted(k for r, k in truth if r != "complaints.ack_deadline")


def test_planted_breaches_lie_on_working_days_inside_the_window() -> None:
    start, end = _at(date(2026, 11, 1)), _at(date(2026, 11, 22))
    events, truth = planted_breaches(start, end)
    assert events == sorted(events, key=event_time)
    for e in events:
        local = event_time(e).astimezone(STOCKHOLM)
        assert start <= local < end - timedelta(days=1)
        assert is_working_day(local.date())
    records = truth_records(truth)
    json.dumps(records)
    assert [r["rule_id"] for r in records] == ["contact.service_level", "contact.email_deadline",
                                               "complaints.ack_deadline"]
    # The dip in the last week, the e-mail over the last weekend that still settles, the complaint early.
    assert records[0]["alert_key"].startswith("contact.service_level:pension-group:2026-11-20T11:05")
    assert records[1]["due_day"] == "2026-11-16"
    assert records[2]["alert_key"] == "complaints.ack_deadline:SYN-PLANTED-NOACK-20261103"


def test_plants_are_deterministic_and_chunk_invariant() -> None:
    start, end = _at(date(2026, 3, 2)), _at(date(2026, 3, 14))
    whole, _ = _run(_config(targets_met=True, plant_breaches=True), start, end)
    sim = Simulator(_config(targets_met=True, plant_breaches=True), start, end)
    chunked: list[Event] = []
    until = start
    while until < end:
        until = min(end, until + timedelta(minutes=47))
        chunked += sim.advance(until)
    assert chunked == whole
    assert sum(isinstance(e, CallEvent) and e.contact_id.startswith("planted-") for e in whole) > 100
    times = [event_time(e) for e in whole]
    assert times == sorted(times)


def test_plants_need_a_window_end_and_a_long_enough_window() -> None:
    start = _at(date(2026, 3, 2))
    with pytest.raises(ValueError, match="end"):
        Simulator(SimConfig(plant_breaches=True), start)
    with pytest.raises(ValueError, match="too short"):
        Simulator(SimConfig(plant_breaches=True), start, start + timedelta(days=4))
