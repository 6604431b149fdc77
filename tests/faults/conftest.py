"""The integration fixtures (embedded stack or containers, one isolated pipeline per test), reused as they are,
plus the one-line report every fault test prints."""

from __future__ import annotations

from dataclasses import dataclass

from tests.integration.conftest import (  # noqa: F401  (fixtures and the report hook, registered here)
    Backend,
    Pipeline,
    backend,
    pipeline,
    pytest_runtest_makereport,
)

__all__ = ["Backend", "FaultReport", "Pipeline"]


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
