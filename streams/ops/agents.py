"""Faust wiring of the operational per-event agents: a dead letter raises an alert (once per source and hour)."""

from __future__ import annotations

from collections.abc import Iterable

import faust

from servicepulse.config import Settings
from servicepulse.connectors.serde import WireCodec
from servicepulse.schemas.events import DeadLetter, Event

from ..emit import register_rule_agent
from .rules import DEAD_LETTERS, dead_letter_alert

__all__ = ["register"]


def register(app: faust.App, settings: Settings, codec: WireCodec) -> None:
    topics = settings.kafka.topics
    rule = DEAD_LETTERS
    # Raised keys live in memory: after a restart an alert may be sent once more, with the same alert_id,
    # which the alerts table collapses.
    raised: set[str] = set()

    def step(letter: Event) -> Iterable[Event]:
        nonlocal raised
        assert isinstance(letter, DeadLetter)
        raised, alert = dead_letter_alert(letter, raised, rule)
        return [alert] if alert is not None else []

    register_rule_agent(app, settings, codec, name="ops-dead-letter-alerts", source=topics.dead_letters,
                        output=topics.alerts, model=DeadLetter, step=step)
