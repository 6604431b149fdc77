"""SLA alerts as pure functions: rolling-hour service level below target, and missed working-time deadlines.

Every alert has a deterministic id (`stable_id` of its key and state), so re-deriving it after a restart or
a replay sends the same id again, which the alerts table (ReplacingMergeTree, read with FINAL) collapses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from servicepulse.domain.calendar import WorkingCalendar
from servicepulse.domain.rules import Rule, build_alert, declare
from servicepulse.domain.zone import STOCKHOLM
from servicepulse.schemas.events import Alert, AlertState, Severity

__all__ = [
    "CASE_LEAD_TIME",
    "EMAIL_DEADLINE",
    "RULES",
    "SERVICE_LEVEL",
    "BreachState",
    "PendingItem",
    "WindowResult",
    "deadline_alerts",
    "service_level_decides",
    "service_level_step",
]

SERVICE_LEVEL = declare(
    "contact.service_level", Severity.high,
    "The rolling-hour service level of an answer group is below its target (raised once, resolved once when "
    "it is back at or above it); windows with fewer than `min_offered` contacts decide nothing.")
EMAIL_DEADLINE = declare(
    "contact.email_deadline", Severity.medium,
    "E-mail not answered within `working_days` working day(s); one alert per answer group and local due day, "
    "raised when the first deadline passes, resolved when every e-mail of that group and day is answered.")
CASE_LEAD_TIME = declare(
    "contact.case_lead_time", Severity.medium,
    "A case not closed by the end of working day N of its lead time 'day 1-N' (`limits` per case type); one "
    "alert per case type and due day, raised when the deadline passes, resolved when all are closed.")
RULES: tuple[Rule, ...] = (SERVICE_LEVEL, EMAIL_DEADLINE, CASE_LEAD_TIME)
"""The contact-centre rules, with their defaults from the parameters file."""


@dataclass(frozen=True)
class WindowResult:
    """A closed rolling-hour window of one answer group."""

    queue: str
    org: str
    window_start: datetime
    window_end: datetime
    offered: int
    answered_within_threshold: int
    target: float

    @property
    def service_level(self) -> float | None:
        return self.answered_within_threshold / self.offered if self.offered else None


@dataclass(frozen=True)
class BreachState:
    """The ongoing breach of one answer group: the window that raised it and its alert key."""

    alert_key: str
    since: datetime


def _alert(rule: Rule, severity: Severity, key: str, state: AlertState, title: str, value: float | None,
           target: float | None, unit: str, start: datetime | None, end: datetime | None, at: datetime,
           details: dict[str, object]) -> Alert:
    return build_alert(rule, key, state, title=title, measured_value=value, target=target, unit=unit,
                       window_start=start, window_end=end, occurred_at=at, details=details, severity=severity)


def service_level_decides(raised: bool, offered: int, within: int, target: float,
                          rule: Rule = SERVICE_LEVEL) -> bool:
    """Does a closed window with these counts change anything: raise (nothing `raised`: level below target) or
    resolve (a breach `raised`: level back at or above it)? Windows with fewer than `min_offered` contacts (or
    none) never do. `service_level_step` decides by this, so a caller may skip the windows it rejects."""
    if offered == 0 or offered < rule["min_offered"]:
        return False
    level = within / offered
    return level >= target if raised else level < target


def service_level_step(
    state: BreachState | None, window: WindowResult, rule: Rule = SERVICE_LEVEL
) -> tuple[BreachState | None, list[Alert]]:
    """Feed closed windows of one queue in start order: raise once when the level drops below target, resolve
    once when it is back at or above it."""
    if not service_level_decides(state is not None, window.offered, window.answered_within_threshold,
                                 window.target, rule):
        return state, []
    level = window.answered_within_threshold / window.offered
    local_start = window.window_start.astimezone(STOCKHOLM)
    details = {"queue": window.queue, "org": window.org, "offered": window.offered,
               "answered_within_threshold": window.answered_within_threshold,
               "window_start": local_start.isoformat(),
               "window_end": window.window_end.astimezone(STOCKHOLM).isoformat()}
    if state is None and level < window.target:
        key = f"{rule.rule_id}:{window.queue}:{local_start.isoformat()}"
        alert = _alert(rule, rule.severity, key, AlertState.raised,
                       f"Service level {level:.0%} below target {window.target:.0%} in {window.queue}",
                       level, window.target, "ratio", window.window_start, window.window_end, window.window_end,
                       details)
        return BreachState(key, window.window_start), [alert]
    if state is not None and level >= window.target:
        alert = _alert(rule, Severity.info, state.alert_key, AlertState.resolved,
                       f"Service level back at {level:.0%} (target {window.target:.0%}) in {window.queue}",
                       level, window.target, "ratio", window.window_start, window.window_end, window.window_end,
                       details | {"breach_since": state.since.astimezone(STOCKHOLM).isoformat()})
        return None, [alert]
    return state, []


@dataclass(frozen=True)
class PendingItem:
    """Something with a deadline: an e-mail (or a case, a complaint) received and maybe answered."""

    item_id: str
    group: str
    received_at: datetime
    answered_at: datetime | None


def deadline_alerts(
    items: Iterable[PendingItem],
    clock: datetime,
    raised: dict[str, int],
    calendar: WorkingCalendar,
    rule: Rule = EMAIL_DEADLINE,
    due: Callable[[PendingItem], datetime] | None = None,
    noun: str = "e-mail(s)",
    done: str = "answered",
    limit_text: Callable[[str], str] | None = None,
) -> tuple[dict[str, int], list[Alert]]:
    """At event-time `clock`, group the items whose deadline passed unanswered by (group, due day).

    `raised` maps open alert keys to the count at raise; the new map and the alerts to send are returned.
    A missed deadline raises once even if the answer came before the clock saw it (then it resolves at once);
    a raised group resolves once when none of its items is still unanswered at `clock`.
    """
    missed: dict[str, list[tuple[PendingItem, datetime]]] = {}
    for item in items:
        deadline = due(item) if due is not None else calendar.working_days_due(item.received_at, rule["working_days"])
        if deadline > clock or (item.answered_at is not None and item.answered_at <= deadline):
            continue
        key = f"{rule.rule_id}:{item.group}:{deadline.astimezone(STOCKHOLM).date().isoformat()}"
        missed.setdefault(key, []).append((item, deadline))
    out: list[Alert] = []
    state = dict(raised)
    for key, found in sorted(missed.items()):
        open_now = [i for i, _ in found if i.answered_at is None or i.answered_at > clock]
        first_due = min(d for _, d in found)
        group = found[0][0].group
        day = first_due.astimezone(STOCKHOLM)
        day_start = day.replace(hour=0, minute=0, second=0, microsecond=0)
        if key not in state:
            state[key] = len(found)
            out.append(_alert(rule, rule.severity, key, AlertState.raised,
                              f"{len(found)} {noun} in {group} not {done} within "
                              + (limit_text(group) if limit_text else f"{rule['working_days']} working day(s)"),
                              float(len(found)), 0.0, "count", day_start,
                              day_start + timedelta(days=1), first_due,
                              {"group": group, "due_day": day.date().isoformat(), "first_due": day.isoformat(),
                               "item_ids": sorted(i.item_id for i, _ in found)}))
        if state[key] >= 0 and not open_now:
            last = max(i.answered_at for i, _ in found if i.answered_at is not None)
            state[key] = -1  # resolved: stays in the map so it is neither raised nor resolved again
            out.append(_alert(rule, Severity.info, key, AlertState.resolved,
                              f"Late {noun} in {group} due {day.date().isoformat()} now {done}",
                              float(len(found)), 0.0, "count", day_start, day_start + timedelta(days=1), last,
                              {"group": group, "due_day": day.date().isoformat(),
                               "item_ids": sorted(i.item_id for i, _ in found)}))
    return state, out
