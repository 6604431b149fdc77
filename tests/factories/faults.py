"""The one-line report every fault test prints: events in, rows out, lost, duplicated, seconds."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["FAULT_FIGURES", "FaultReport"]

# Every report is also appended here, and the test session prints the file at its end: pytest-xdist's test
# processes swallow what tests print, and CI's log should show the figures of every fault run.
FAULT_FIGURES = Path(__file__).resolve().parents[2] / "var" / "test-artifacts" / "fault-figures.txt"


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
        line = (f"[fault] {self.name}: events in {self.events_in}, rows out {self.rows_out}, lost {self.lost}, "
                f"duplicated {self.duplicated}, seconds {self.seconds:.1f}")
        print(f"\n{line}")
        test = os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0].rsplit("::", 1)[-1]
        FAULT_FIGURES.parent.mkdir(parents=True, exist_ok=True)
        with FAULT_FIGURES.open("a", encoding="utf-8") as out:
            out.write(f"{line}  ({test})\n" if test else f"{line}\n")
