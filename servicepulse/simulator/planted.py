"""Planted SLA breaches inside any simulated window, with their ground truth (for the demo and its test)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from servicepulse.schemas.events import CallEvent, Complaint

from .calls import PlantedBreach, planted_window_contact_breaches
from .complaints import planted_window_complaint_breaches

__all__ = ["planted_breaches", "truth_records"]


def planted_breaches(
    start: datetime, end: datetime
) -> tuple[list[CallEvent | Complaint], list[PlantedBreach]]:
    """The planted contact and complaint breaches of [start, end) in time order, and their ground truth: a
    service-level dip, an e-mail left over days off, a complaint never acknowledged (see the two functions)."""
    calls, call_truth = planted_window_contact_breaches(start, end)
    complaints, complaint_truth = planted_window_complaint_breaches(start, end)
    events: list[CallEvent | Complaint] = [*calls, *complaints]
    events.sort(key=lambda e: e.occurred_at)
    return events, call_truth + complaint_truth


def truth_records(truth: list[PlantedBreach]) -> list[dict[str, Any]]:
    """Ground truth as JSON-ready records: each is exactly one `raised` alert with this rule id and key."""
    return [{"rule_id": t.rule_id, "alert_key": t.alert_key, "subject": t.subject,
             "due_day": None if t.due_day is None else t.due_day.isoformat(), "description": t.description}
            for t in truth]
