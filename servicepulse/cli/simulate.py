"""`simulate`: realistic events for all four families, to Kafka or to an events-jsonl file."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import typer

from .common import console, settings_and_logging

__all__ = ["register"]

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def register(app: typer.Typer) -> None:
    app.command(help="Generate D days of events (deterministic for a seed) and optionally keep going live.")(
        simulate
    )


def simulate(
    days: int = typer.Option(7, min=0, help="Days of history to generate"),
    seed: int = typer.Option(1, help="Same seed, start and scale give the same events"),
    start: str = typer.Option(None, help="First day, YYYY-MM-DD (default: DAYS days before today)"),
    scale: float = typer.Option(1.0, min=0.0, help="1.0 = the administration's real volumes"),
    out: Path = typer.Option(None, help="Write events-jsonl here instead of producing to Kafka"),
    follow: bool = typer.Option(False, "--follow", help="After the history, keep generating up to now, then live"),
    speed: float = typer.Option(1.0, min=1.0, help="With --follow: catch up on today this much faster than real"),
    faults: float = typer.Option(0.0, min=0.0, max=1.0, help="Share of extra corrupt messages (dead-letter demo)"),
) -> None:
    from servicepulse.simulator import SimConfig, Simulator

    settings = settings_and_logging()
    today = datetime.now(STOCKHOLM).replace(hour=0, minute=0, second=0, microsecond=0)
    first = (
        datetime.combine(date.fromisoformat(start), datetime.min.time(), STOCKHOLM)
        if start
        else today - timedelta(days=days)
    )
    end = first + timedelta(days=days)
    sim = Simulator(SimConfig(seed=seed, scale=scale), first)
    emit, close = _emitter(settings, out, faults, seed)
    counts = 0
    started = time.monotonic()
    from rich.progress import Progress

    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("simulating", total=max(days * 24, 1))
        t = first
        while t < end:
            t = min(t + timedelta(hours=1), end)
            counts += emit(sim.advance(t))
            progress.advance(task)
    console.print(f"{counts} events for {first.date()} .. {(end - timedelta(seconds=1)).date()} "
                  f"in {time.monotonic() - started:.1f}s")
    if follow:
        wall0 = time.monotonic()
        console.print(f"following: replaying from {end.isoformat()} at {speed:g}x until now, then live")
        try:
            while True:
                now = datetime.now(STOCKHOLM)
                target = min(now, end + timedelta(seconds=(time.monotonic() - wall0) * speed))
                counts += emit(sim.advance(target))
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
    close()


def _emitter(
    settings: object, out: Path | None, faults: float, seed: int
) -> tuple[Callable[[list], int], Callable[[], None]]:
    from servicepulse.config import Settings
    from servicepulse.connectors.ingest.events_jsonl import dumps

    assert isinstance(settings, Settings)
    if out is not None:
        handle = out.open("wb")

        def write(events: list) -> int:
            for event in events:
                handle.write(dumps(event) + b"\n")
            return len(events)

        return write, handle.close

    from servicepulse.connectors.kafka import EventProducer, ensure_topics
    from servicepulse.connectors.serde import WireCodec, build_registry

    from .faults import corrupt_message

    ensure_topics(settings.kafka)
    codec = WireCodec(build_registry(settings.registry.url, settings.registry.file))
    producer = EventProducer(settings.kafka, codec)
    rng = random.Random(seed)

    def produce(events: list) -> int:
        for event in events:
            producer.send(event)
            if faults and rng.random() < faults:
                topic, key, value = corrupt_message(event, codec, producer.topic_for(event), rng)
                producer.send_raw(topic, key, value)
        producer.flush()
        return len(events)

    return produce, lambda: producer.flush()
