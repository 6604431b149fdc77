"""Faust wiring of the operational per-event agents: none at present.

The `ops.dead_letters` alert used to be raised here, per event, by every worker from its own memory of what it
had raised: once per worker and again after each restart. It is now a read-back step on the leader
(`streams/readback/dead_letter_alerts.py`); alert delivery is the outbox step there too (`alert_delivery.py`).
"""

from __future__ import annotations

import faust

from servicepulse.config import Settings
from servicepulse.connectors.serde import WireCodec

__all__ = ["register"]


def register(app: faust.App, settings: Settings, codec: WireCodec) -> None:
    """Nothing to wire: kept so every area has the same `register` entry point."""
