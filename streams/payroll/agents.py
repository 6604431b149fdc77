"""Faust wiring of payroll's per-event agents: none.

Every payroll rule compares across a whole run (shared bank accounts, duplicates, the previous run), so none
decides on one line. A closed run header triggers the run check in `streams/readback/payroll_checks.py`,
which reads the run back from ClickHouse once all its lines are stored.
"""

from __future__ import annotations

import faust

from servicepulse.config import Settings
from servicepulse.connectors.serde import WireCodec

__all__ = ["register"]


def register(app: faust.App, settings: Settings, codec: WireCodec) -> None:
    """Nothing to wire (see the module docstring)."""
