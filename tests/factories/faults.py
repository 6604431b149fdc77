"""The one-line report every fault test prints: events in, rows out, lost, duplicated, seconds."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FaultReport"]


@dataclass(frozen=True)
class FaultReport:
    """What a fault test measured: every event either stored once or accounted for as a dead letter."""

    name: str
    events_in: int
    rows_out: int
    lost: int
    duplicated: int
    seconds: float

    def print(self) -> None:
        print(f"\n[fault] {self.name}: events in {self.events_in}, rows out {self.rows_out}, lost {self.lost}, "
              f"duplicated {self.duplicated}, seconds {self.seconds:.1f}")
