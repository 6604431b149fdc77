"""Faust wiring of alert delivery to team chat."""

from __future__ import annotations

import asyncio
from typing import Any

import faust

from servicepulse.config import Settings
from servicepulse.connectors.serde import DecodeError, WireCodec
from servicepulse.connectors.webhooks import WebhookPoster
from servicepulse.schemas.events import Alert

from ..batches import take_events

__all__ = ["register"]


def register(app: faust.App, settings: Settings, codec: WireCodec) -> None:
    conf = settings.alerts
    if conf.webhook_url is None:
        return
    poster = WebhookPoster(conf.webhook_url.get_secret_value(), conf.webhook_format, conf.webhook_timeout_s,
                           conf.webhook_retries)
    source = app.topic(settings.kafka.topics.alerts, key_type=bytes, value_type=bytes)

    async def post_alerts(stream: faust.StreamT[Any]) -> None:
        async for events in take_events(stream, conf.webhook_batch, settings.sink.batch_within_s):
            for event in events:
                try:
                    alert = codec.decode(event.message.value, Alert)
                except DecodeError:
                    continue  # the alerts sink dead-letters it
                assert isinstance(alert, Alert)
                await asyncio.to_thread(poster.post, alert)

    app.agent(source, name="ops-alert-webhooks")(post_alerts)
