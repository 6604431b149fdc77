"""Faust wiring of the operational alerts."""

from __future__ import annotations

import faust

from servicepulse.config import Settings
from servicepulse.connectors.serde import WireCodec
from servicepulse.schemas.events import Alert, DeadLetter

from ..emit import decode_or_none, send_all
from .alerts import DeadLetterAlertRule, dead_letter_alert

__all__ = ["register"]


def register(app: faust.App, settings: Settings, codec: WireCodec) -> None:
    topics = settings.kafka.topics
    source = app.topic(topics.dead_letters, key_type=bytes, value_type=bytes)
    alerts = app.topic(topics.alerts, key_type=bytes, value_type=bytes)
    rule = DeadLetterAlertRule()

    async def alert_on_dead_letters(stream: faust.StreamT) -> None:
        # Raised keys are kept in memory: after a restart an alert may be sent once more, with the same
        # alert_id, which the alerts table collapses.
        raised: set[str] = set()
        async for events in stream.take_events(1000, settings.sink.batch_within_s):
            out: list[Alert] = []
            for event in events:
                letter = decode_or_none(codec, event.message.value, DeadLetter)
                if isinstance(letter, DeadLetter):
                    raised, alert = dead_letter_alert(letter, raised, rule)
                    if alert is not None:
                        out.append(alert)
            await send_all(alerts, codec, out)

    app.agent(source, name="ops-dead-letter-alerts")(alert_on_dead_letters)
