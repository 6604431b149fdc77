"""Cases of the payroll & pension case system: opened in office hours, closed within their lead time (mostly)."""

from __future__ import annotations

import random

from servicepulse.domain.calendar import (
    HOUR_MS,
    MINUTE_MS,
    STOCKHOLM,
    add_office_ms,
    from_ms,
    is_working_day,
    office_window,
    slot_tag,
)
from servicepulse.schemas.events import CaseEvent, CaseEventType

from .agenda import Agenda
from .organisations import CUSTOMERS
from .randomness import WeightedPicker, poisson, rng_for, uniform_times

__all__ = ["CASE_TYPES", "CaseFamily"]

# Case type -> (cases per working day at scale 1, lead time "day 1-N" from seed 000, handling unit).
CASE_TYPES: dict[str, tuple[float, int, str]] = {
    "new_hire": (45.0, 2, "payroll-service"),
    "personal_data_update": (120.0, 5, "payroll-service"),
    "name_change": (12.0, 5, "payroll-service"),
    "employer_certificate": (30.0, 5, "payroll-service"),
    "urgent_girovision": (3.0, 5, "payroll-service"),
    "urgent_agresso": (1.5, 2, "payroll-service"),
}
_OFFICE_DAY_MS = int(8.5 * HOUR_MS)
_LATE_SHARE = 0.04  # default baseline: a few cases overrun their lead time, for the alerts to catch


def _case(case_id: str, event_type: CaseEventType, at_ms: int, case_type: str, unit: str, customer: str) -> CaseEvent:
    return CaseEvent(event_id=f"{case_id}:{event_type.value}", case_id=case_id, event_type=event_type,
                     case_type=case_type, unit=unit, customer=customer, occurred_at=from_ms(at_ms),
                     source="simulator")


class CaseFamily:
    """Generates the cases opened in a slot and schedules their closing."""

    name = "cases"
    warmup_ms = 0

    def __init__(self, seed: int, scale: float, targets_met: bool = False) -> None:
        self._seed = seed
        self._scale = scale
        # Targets met: every case closed with at least an hour of its last allowed working day to spare.
        self._targets_met = targets_met
        self._customer = WeightedPicker([c.name for c in CUSTOMERS], [c.employees for c in CUSTOMERS])

    def generate(self, slot_ms: int, agenda: Agenda) -> None:
        if self._scale <= 0:
            return
        day = from_ms(slot_ms).astimezone(STOCKHOLM).date()
        window = office_window(day) if is_working_day(day) else None
        if window is None:
            return
        lo, hi = max(slot_ms, window[0]), min(slot_ms + HOUR_MS, window[1])
        if hi <= lo:
            return
        rng = rng_for(self._seed, self.name, slot_ms)
        share = (hi - lo) / _OFFICE_DAY_MS
        tag = slot_tag(slot_ms)
        n = 0
        for case_type, (per_day, limit, unit) in CASE_TYPES.items():
            for t0 in uniform_times(rng, poisson(rng, per_day * self._scale * share), lo, hi):
                # Day 1 is the opening day: what is left of it, then full office days up to day N.
                allowed = window[1] - t0 + (limit - 1) * _OFFICE_DAY_MS
                self._story(rng, agenda, f"CASE-{tag}-{n:04d}", t0, case_type, allowed, unit)
                n += 1

    def _story(self, rng: random.Random, agenda: Agenda, case_id: str, t0: int, case_type: str, allowed: int,
               unit: str) -> None:
        """`allowed`: office time from opening to the end of the lead time's last working day."""
        customer = self._customer.pick(rng)
        late = not self._targets_met and rng.random() < _LATE_SHARE
        if late:
            office = rng.uniform(allowed * 1.1 + 30 * MINUTE_MS, 2 * allowed + HOUR_MS)
        else:
            office = rng.uniform(min(20 * MINUTE_MS, allowed * 0.3), allowed * 0.9)
        closed = add_office_ms(t0, int(office))
        if t0 < agenda.keep_from_ms:
            return
        agenda.add(t0, _case, case_id, CaseEventType.opened, t0, case_type, unit, customer)
        agenda.add(closed, _case, case_id, CaseEventType.closed, closed, case_type, unit, customer)
