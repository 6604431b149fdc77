"""Case lead times "day 1-N": deadlines on Swedish working days, one alert per case type and due day."""

from __future__ import annotations

from datetime import datetime, timedelta

from servicepulse.domain.calendar import WorkingCalendar
from servicepulse.domain.zone import STOCKHOLM
from servicepulse.schemas.events import CaseEvent
from servicepulse.simulator import SimConfig, Simulator
from servicepulse.streams.contact.monitor import SlaMonitor
from servicepulse.streams.contact.rules import PendingItem


def at(day: int, hour: int, minute: int = 0, month: int = 4) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=STOCKHOLM)


def test_new_hire_opened_on_maundy_thursday_is_due_the_tuesday_after_easter() -> None:
    cal = WorkingCalendar()  # 08:00-16:30
    # Day 1 = Thursday 2 April; Good Friday and Easter Monday are not working days; day 2 = Tuesday 7 April.
    assert cal.case_day_due(at(2, 10), 2) == at(7, 16, 30)
    # Opened after closing time: day 1 is the next working day (Tuesday), so day 2 is Wednesday.
    assert cal.case_day_due(at(2, 17), 2) == at(8, 16, 30)
    # Day 1-5 from Monday 13 April ends Friday 17 April.
    assert cal.case_day_due(at(13, 9), 5) == at(17, 16, 30)


def test_case_past_its_lead_time_raises_once_when_the_deadline_passes_and_resolves_once() -> None:
    monitor = SlaMonitor()
    late = PendingItem("c1", "new_hire", at(13, 9), None)
    on_time = PendingItem("c2", "new_hire", at(13, 10), at(14, 15))
    assert monitor.cases([late, on_time], at(14, 16, 29)) == []
    (raised,) = monitor.cases([late, on_time], at(14, 16, 31))
    assert (raised.rule_id, raised.state.value) == ("contact.case_lead_time", "raised")
    assert raised.alert_key == "contact.case_lead_time:new_hire:2026-04-14"
    assert raised.measured_value == 1.0 and "day 1-2" in raised.title
    assert monitor.cases([late, on_time], at(15, 9)) == []  # still open: no repeat
    closed = PendingItem("c1", "new_hire", at(13, 9), at(15, 10))
    (resolved,) = monitor.cases([closed, on_time], at(15, 11))
    assert resolved.state.value == "resolved" and resolved.alert_key == raised.alert_key
    assert monitor.cases([closed, on_time], at(16, 11)) == []


def test_case_types_without_a_limit_are_not_timed() -> None:
    assert SlaMonitor().cases([PendingItem("c9", "something_else", at(13, 9), None)], at(30, 12)) == []


def _case_alerts(targets_met: bool) -> int:
    start = at(2, 0, month=3)
    events = Simulator(SimConfig(seed=2, scale=0.1, targets_met=targets_met), start).advance(start + timedelta(days=30))
    cases = [e for e in events if isinstance(e, CaseEvent)]
    opened = {e.case_id: e for e in cases if e.event_type.value == "opened"}
    closed = {e.case_id: e.occurred_at for e in cases if e.event_type.value == "closed"}
    assert len(opened) > 300
    items = [PendingItem(c, e.case_type, e.occurred_at, closed.get(c)) for c, e in opened.items()]
    return sum(a.state.value == "raised" for a in SlaMonitor().cases(items, start + timedelta(days=30)))


def test_simulated_cases_meet_lead_times_in_the_targets_met_baseline_only() -> None:
    assert _case_alerts(targets_met=True) == 0
    assert _case_alerts(targets_met=False) > 0
