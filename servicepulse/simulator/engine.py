"""The simulator: hour slots generated in order, every step released in time order, the same for any chunking."""

from __future__ import annotations

import gc
from dataclasses import dataclass
from datetime import datetime

from servicepulse.domain.calendar import HOUR_MS, ceil_ms
from servicepulse.schemas.events import Event, InvoicePosting

from .agenda import Agenda, Family
from .calls import CallFamily, PlantedBreach
from .cases import CaseFamily
from .complaints import ComplaintFamily
from .finance import FinanceFamily
from .payroll_family import PayrollFamily
from .planted import planted_breaches

__all__ = ["SimConfig", "Simulator", "event_time"]


def event_time(event: Event) -> datetime:
    """The instant the simulator orders an event by: `recorded_at` for postings, `occurred_at` for the rest."""
    if isinstance(event, InvoicePosting):
        return event.recorded_at
    moment = getattr(event, "occurred_at", None)
    if not isinstance(moment, datetime):
        raise TypeError(f"{type(event).__name__} has no occurred_at")
    return moment


def _planted(event: Event) -> Event:
    return event


@dataclass(frozen=True)
class SimConfig:
    """Seed and volumes. `scale` multiplies every family; the per-family knobs multiply one family (0 = off)."""

    seed: int = 1
    scale: float = 1.0  # 1.0 = the volumes in domain.md; 0.1 = a tenth
    calls: float = 1.0
    finance: float = 1.0
    payroll: float = 1.0
    complaints: float = 1.0
    cases: float = 1.0
    finance_warmup_days: int = 45  # invoices simulated before the start so payments flow from the first day
    # Calls and complaints meet every SLA target with margin (no alert expected), instead of missing some.
    targets_met: bool = False
    # Add planted SLA breaches inside [start, end) (needs `end`); ground truth in `Simulator.planted`.
    plant_breaches: bool = False

    def __post_init__(self) -> None:
        for name in ("scale", "calls", "finance", "payroll", "complaints", "cases", "finance_warmup_days"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")


class Simulator:
    """Deterministic event source: `advance(until)` returns every event due in [previous until, until), sorted.

    Each family draws everything that starts in an hour slot from a random stream seeded by (seed, family,
    slot) and schedules later steps on the agenda; a slot is generated as soon as `until` passes its start.
    So the output depends only on seed, scale and start (and, with planted breaches, the end), never on how
    the time is chunked.
    """

    def __init__(self, config: SimConfig, start: datetime, end: datetime | None = None) -> None:
        self.config = config
        self._start_ms = ceil_ms(start)
        self._until_ms = self._start_ms
        self._next_slot_ms = self._start_ms - self._start_ms % HOUR_MS
        self._agenda = Agenda(self._start_ms)
        self._warmed_up = False
        s = config.scale
        self._families: tuple[Family, ...] = (
            CallFamily(config.seed, s * config.calls, config.targets_met),
            FinanceFamily(config.seed, s * config.finance, config.finance_warmup_days),
            PayrollFamily(config.seed, s * config.payroll),
            ComplaintFamily(config.seed, s * config.complaints, config.targets_met),
            CaseFamily(config.seed, s * config.cases, config.targets_met),
        )
        self.planted: list[PlantedBreach] = []
        if config.plant_breaches:
            if end is None:
                raise ValueError("plant_breaches needs the end of the simulated window")
            events, self.planted = planted_breaches(start, end)
            for event in events:  # scheduled first: released in time order, the same for any chunking
                self._agenda.add(ceil_ms(event_time(event)), _planted, event)

    @property
    def pending(self) -> int:
        """Steps generated but not yet due (e.g. payments of registered invoices)."""
        return len(self._agenda)

    def advance(self, until: datetime) -> list[Event]:
        """Every event with occurred_at (recorded_at for postings) in [previous until or start, until)."""
        until_ms = ceil_ms(until)
        if until_ms <= self._until_ms:
            return []
        # A backfill creates about a million acyclic objects; the cyclic collector would rescan them all again
        # and again (it tripled the run time), so it is paused while they are made.
        collecting = gc.isenabled()
        gc.disable()
        try:
            agenda = self._agenda
            if not self._warmed_up:
                self._warm_up()
            while self._next_slot_ms < until_ms:
                agenda.floor_ms = max(self._next_slot_ms, self._start_ms)
                for family in self._families:
                    family.generate(self._next_slot_ms, agenda)
                self._next_slot_ms += HOUR_MS
            self._until_ms = until_ms
            return agenda.release(until_ms)
        finally:
            if collecting:
                gc.enable()

    def _warm_up(self) -> None:
        """Generate the slots before the start for families that want it; only steps from the start are kept."""
        agenda = self._agenda
        agenda.floor_ms = self._start_ms
        for family in self._families:
            slot = self._next_slot_ms - family.warmup_ms
            slot -= slot % HOUR_MS
            while slot < self._next_slot_ms:
                family.generate(slot, agenda)
                slot += HOUR_MS
        self._warmed_up = True
