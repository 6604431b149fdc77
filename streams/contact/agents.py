"""Faust wiring of the contact centre's per-event agents: none.

No contact rule can decide on one event: a service level needs a rolling hour of calls, an e-mail or case
deadline passes with nothing arriving. They run in the SLA monitor (`streams/readback/sla_monitor.py`),
which reads the stored calls, e-mails and cases back from ClickHouse on an event-time clock.
"""

from __future__ import annotations

import faust

from servicepulse.config import Settings
from servicepulse.connectors.serde import WireCodec

__all__ = ["register"]


def register(app: faust.App, settings: Settings, codec: WireCodec) -> None:
    """Nothing to wire (see the module docstring)."""
