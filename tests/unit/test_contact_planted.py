"""The simulator's planted breaches, run through the SLA monitor: each raises exactly once, nothing else does."""

from __future__ import annotations

from servicepulse.schemas.events import Alert, AlertState, CallEvent, Complaint
from servicepulse.simulator.calls import PlantedBreach, planted_contact_breaches
from servicepulse.simulator.complaints import planted_complaint_breaches
from servicepulse.streams.complaints.rules import stories
from servicepulse.streams.contact.monitor import SlaMonitor, buckets_from_events, pending_emails
from tests.factories.narrowing import only


def _matches(alert: Alert, rule_id: str, subject: str, due_day: object) -> bool:
    if alert.rule_id != rule_id or f":{subject}:" not in f"{alert.alert_key}:":
        return False
    return due_day is None or alert.alert_key.endswith(f":{due_day}")


def run_monitor(step_hours: int = 1) -> tuple[list[Alert], list[PlantedBreach]]:
    calls, call_truth = planted_contact_breaches(2026)
    complaints, complaint_truth = planted_complaint_breaches(2026)
    monitor = SlaMonitor()
    alerts: list[Alert] = []
    # Advance the event-time clock as events arrive, in steps, as the agent's ticks would.
    for events, is_calls in ((calls, True), (complaints, False)):
        clock_points = sorted({e.occurred_at.replace(minute=0, second=0, microsecond=0) for e in events})
        for clock in [*clock_points[::step_hours], max(e.occurred_at for e in events)]:
            seen = [e for e in events if e.occurred_at <= clock]
            if not seen:
                continue
            if is_calls:
                alerts += monitor.service_level(buckets_from_events(only(CallEvent, seen)), clock)
                alerts += monitor.emails(pending_emails(only(CallEvent, seen)), clock)
            else:
                alerts += monitor.complaints(list(stories(only(Complaint, seen)).values()), clock)
    return alerts, call_truth + complaint_truth


def test_every_planted_breach_raises_exactly_once_and_nothing_else() -> None:
    alerts, truth = run_monitor()
    raised = [a for a in alerts if a.state is AlertState.raised]
    assert len(raised) == len(truth) == 4
    for t in truth:
        assert sum(_matches(a, t.rule_id, t.subject, t.due_day) for a in raised) == 1, t.description
    resolved = {a.alert_key for a in alerts if a.state is AlertState.resolved}
    # The service-level dip and both late e-mails end (resolve once); the complaint is never acknowledged.
    assert resolved == {a.alert_key for a in raised if a.rule_id != "complaints.ack_deadline"}
    assert len(resolved) == len([a for a in alerts if a.state is AlertState.resolved])
    sl = next(a for a in raised if a.rule_id == "contact.service_level")
    assert sl.measured_value is not None and sl.measured_value < 0.85


def test_coarser_clock_steps_give_the_same_alert_ids() -> None:
    fine = {a.alert_id for a in run_monitor(1)[0]}
    assert fine == {a.alert_id for a in run_monitor(24)[0]}
