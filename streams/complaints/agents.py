"""Faust wiring of the complaints' per-event agents: none.

Acknowledgement deadlines pass with nothing arriving and the backlog counts every open complaint, so no
complaint rule decides on one event. Both run in the SLA monitor (`streams/readback/sla_monitor.py`), which
reads the stored complaint stories back from ClickHouse on the complaints' event-time clock.
"""

from __future__ import annotations

import faust

from servicepulse.config import Settings
from servicepulse.connectors.serde import WireCodec

__all__ = ["register"]


def register(app: faust.App, settings: Settings, codec: WireCodec) -> None:
    """Nothing to wire (see the module docstring)."""
