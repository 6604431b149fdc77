"""Complaint rules as pure functions: tertials, compilation per customer and process, acknowledgement deadline,
open backlog with age, and the alerts on them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from servicepulse.domain.calendar import WorkingCalendar, tertial_of
from servicepulse.domain.rules import Rule, build_alert, declare
from servicepulse.domain.zone import STOCKHOLM
from servicepulse.schemas.events import Alert, AlertState, Complaint, ComplaintEventType, Severity

__all__ = [
    "ACK_DEADLINE",
    "BACKLOG",
    "RULES",
    "Compiled",
    "ComplaintStory",
    "ack_alerts",
    "backlog_at",
    "backlog_step",
    "compile_complaints",
    "stories",
]

ACK_DEADLINE = declare(
    "complaints.ack_deadline", Severity.medium,
    "A complaint not acknowledged within `office_hours` office hours of its registration; raised once when "
    "the deadline passes, resolved once when it is acknowledged.")
BACKLOG = declare(
    "complaints.backlog", Severity.medium,
    "More open complaints than `threshold` (checked on the hour, event time); resolved when back at or below.")
RULES: tuple[Rule, ...] = (ACK_DEADLINE, BACKLOG)
"""The complaint rules, with their defaults from the parameters file."""


@dataclass
class ComplaintStory:
    """One registration and the times of its later steps (as far as seen)."""

    complaint_id: str
    customer: str
    process: str
    category: str
    registered_at: datetime | None = None
    acknowledged_at: datetime | None = None
    closed_at: datetime | None = None


def stories(events: Iterable[Complaint]) -> dict[str, ComplaintStory]:
    out: dict[str, ComplaintStory] = {}
    for e in events:
        s = out.get(e.complaint_id)
        if s is None:
            s = out[e.complaint_id] = ComplaintStory(e.complaint_id, e.customer, e.process, e.category.value)
        if e.event_type is ComplaintEventType.registered:
            s.registered_at = e.occurred_at
        elif e.event_type is ComplaintEventType.acknowledged:
            s.acknowledged_at = e.occurred_at
        else:
            s.closed_at = e.occurred_at
    return out


@dataclass
class Compiled:
    registered: int = 0
    acknowledged: int = 0
    acknowledged_in_time: int = 0
    closed: int = 0
    ids: list[str] = field(default_factory=list, repr=False)


def compile_complaints(
    items: Iterable[ComplaintStory], calendar: WorkingCalendar, ack_office_hours: float, by: str = "tertial"
) -> dict[tuple[str, str, str], Compiled]:
    """Per (period, customer, process), period = tertial or month of registration: registered, acknowledged,
    acknowledged within `ack_office_hours` office hours, closed."""
    out: dict[tuple[str, str, str], Compiled] = {}
    limit = timedelta(hours=ack_office_hours)
    for s in items:
        if s.registered_at is None:
            continue
        local = s.registered_at.astimezone(STOCKHOLM)
        period = tertial_of(local) if by == "tertial" else local.strftime("%Y-%m")
        c = out.setdefault((period, s.customer, s.process), Compiled())
        c.registered += 1
        c.ids.append(s.complaint_id)
        if s.acknowledged_at is not None:
            c.acknowledged += 1
            if s.acknowledged_at <= calendar.add_office_time(s.registered_at, limit):
                c.acknowledged_in_time += 1
        if s.closed_at is not None:
            c.closed += 1
    return out


def ack_alerts(
    items: Iterable[ComplaintStory], clock: datetime, raised: set[str], calendar: WorkingCalendar,
    rule: Rule = ACK_DEADLINE,
) -> tuple[set[str], list[Alert]]:
    """At event-time `clock`: raise once per complaint whose acknowledgement deadline passed unacknowledged,
    when the deadline passes; resolve once when it is finally acknowledged."""
    out: list[Alert] = []
    state = set(raised)
    for s in sorted(items, key=lambda s: s.complaint_id):
        if s.registered_at is None:
            continue
        limit_hours = rule["office_hours"]
        due = calendar.add_office_time(s.registered_at, timedelta(hours=limit_hours))
        late = due <= clock and (s.acknowledged_at is None or s.acknowledged_at > due)
        key = f"{rule.rule_id}:{s.complaint_id}"
        details = {"complaint_id": s.complaint_id, "customer": s.customer, "process": s.process,
                   "registered_at": s.registered_at.astimezone(STOCKHOLM).isoformat(),
                   "due": due.astimezone(STOCKHOLM).isoformat(), "office_hours": limit_hours}
        if late and key not in state:
            state.add(key)
            out.append(build_alert(
                rule, key, AlertState.raised,
                title=f"Complaint for {s.customer} ({s.process}) not acknowledged within {limit_hours:g} "
                "office hours", measured_value=None, target=limit_hours, unit="office hours",
                window_start=s.registered_at, window_end=due, occurred_at=due, details=details))
        ack = s.acknowledged_at
        if late and ack is not None and ack <= clock and f"{key}:resolved" not in state:
            state.add(f"{key}:resolved")
            hours = calendar.office_time_between(s.registered_at, ack) / timedelta(hours=1)
            out.append(build_alert(
                rule, key, AlertState.resolved,
                title=f"Complaint for {s.customer} ({s.process}) acknowledged", measured_value=round(hours, 3),
                target=limit_hours, unit="office hours", window_start=s.registered_at, window_end=due,
                occurred_at=ack, details=details | {"acknowledged_at": ack.astimezone(STOCKHOLM).isoformat()}))
    return state, out


def backlog_at(items: Iterable[ComplaintStory], moment: datetime) -> list[tuple[str, timedelta]]:
    """Open complaints (registered, not closed) at `moment`, with their age."""
    return [(s.complaint_id, moment - s.registered_at) for s in items
            if s.registered_at is not None and s.registered_at <= moment
            and (s.closed_at is None or s.closed_at > moment)]


def backlog_step(
    state: str | None, moment: datetime, open_count: int, oldest_age: timedelta | None,
    rule: Rule = BACKLOG,
) -> tuple[str | None, list[Alert]]:
    """Raise once when the open backlog passes the threshold, resolve once when it is back at or below it."""
    at = moment.astimezone(STOCKHOLM)
    threshold = rule["threshold"]
    details = {"open": open_count, "threshold": threshold,
               "oldest_age_hours": None if oldest_age is None else round(oldest_age / timedelta(hours=1), 2),
               "at": at.isoformat()}
    if state is None and open_count > threshold:
        key = f"{rule.rule_id}:{at.isoformat()}"
        return key, [build_alert(
            rule, key, AlertState.raised, title=f"Complaint backlog {open_count} above {threshold}",
            measured_value=float(open_count), target=float(threshold), unit="count", window_end=moment,
            occurred_at=moment, details=details)]
    if state is not None and open_count <= threshold:
        return None, [build_alert(
            rule, state, AlertState.resolved, title=f"Complaint backlog back at {open_count}",
            measured_value=float(open_count), target=float(threshold), unit="count", window_end=moment,
            occurred_at=moment, details=details)]
    return state, []
