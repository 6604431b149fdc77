"""`simulate`: realistic events for all four families, to Kafka or to an events-jsonl file."""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from servicepulse.domain.zone import STOCKHOLM

from .common import console, settings_and_logging

if TYPE_CHECKING:  # imported lazily at run time, so `--help` stays fast
    from servicepulse.config import Settings
    from servicepulse.schemas.events import Event
    from servicepulse.simulator import Simulator

__all__ = ["register"]



def register(app: typer.Typer) -> None:
    app.command(help="Generate D days of events (deterministic for a seed) and optionally keep going live.")(
        simulate
    )


def simulate(
    days: int = typer.Option(7, min=0, help="Days of history to generate"),
    seed: int = typer.Option(1, help="Same seed, start and scale give the same events"),
    start: str | None = typer.Option(None, help="First day, YYYY-MM-DD (default: DAYS days before today)"),
    scale: float = typer.Option(1.0, min=0.0, help="1.0 = the administration's real volumes"),
    out: Path | None = typer.Option(None, help="Write events-jsonl here instead of producing to Kafka"),
    follow: bool = typer.Option(False, "--follow", help="After the history, keep generating up to now, then live"),
    speed: float = typer.Option(1.0, min=1.0, help="With --follow: replay at least this much faster than real time"),
    replay_days: int = typer.Option(
        0, min=0, help="With --follow: replay the last N history days at --speed instead of all at once"
    ),
    faults: float = typer.Option(0.0, min=0.0, max=1.0, help="Share of extra corrupt messages (dead-letter demo)"),
    targets_met: bool = typer.Option(
        False, "--targets-met", help="Calls, e-mails and complaints meet every SLA target (no alert expected)"
    ),
    plant_breaches: bool = typer.Option(
        False, "--plant-breaches", help="Plant SLA breaches inside the history days (one alert each expected)"
    ),
    truth: Path | None = typer.Option(
        None, help="With --plant-breaches: write the planted breaches' ground truth here"
    ),
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
    # Days to replay are held back from the instant backfill; the events are the same either way.
    instant_end = max(first, end - timedelta(days=replay_days)) if follow else end
    try:
        sim = Simulator(SimConfig(seed=seed, scale=scale, targets_met=targets_met, plant_breaches=plant_breaches),
                        first, end)
    except ValueError as exc:  # a window too short for the planted breaches
        raise typer.BadParameter(str(exc), param_hint="--days") from exc
    if truth is not None:
        _write_truth(truth, sim, first, end)
    emit, close = _emitter(settings, out, faults, seed)
    counts = 0
    started = time.monotonic()
    from rich.progress import Progress

    with Progress(console=console, transient=True) as progress:
        total_hours = max(int((instant_end - first).total_seconds() // 3600), 1)
        task = progress.add_task("simulating", total=total_hours)
        t = first
        while t < instant_end:
            t = min(t + timedelta(hours=1), instant_end)
            counts += emit(sim.advance(t))
            progress.advance(task)
    console.print(f"{counts} events from {first.isoformat()} to {instant_end.isoformat()} "
                  f"in {time.monotonic() - started:.1f}s")
    if follow:
        console.print(f"following: replaying from {instant_end.isoformat()} at {speed:g}x (quiet stretches "
                      "skipped) until now, then live")
        with contextlib.suppress(KeyboardInterrupt):
            _follow(sim, instant_end, speed, emit)
    close()


def _write_truth(path: Path, sim: object, first: datetime, end: datetime) -> None:
    """The planted breaches as JSON: each must be exactly one raised alert with its rule id and key."""
    import json

    from servicepulse.simulator import Simulator
    from servicepulse.simulator.planted import truth_records

    assert isinstance(sim, Simulator)
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"window": [first.isoformat(), end.isoformat()], "targets_met": sim.config.targets_met,
                "planted": truth_records(sim.planted)}
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    console.print(f"{len(sim.planted)} planted breaches, ground truth in {path}")


def _follow(
    sim: Simulator, clock: datetime, speed: float, emit: Callable[[list[Event]], int], tick_s: float = 0.5,
    busy: int = 10
) -> None:
    """Replay at no less than `speed` until now, then live.

    A tick carrying fewer than `busy` events doubles the next step (up to an hour), so nights and weekends pass
    in seconds and a replayed week always shows activity; a busy tick goes back to `speed`.
    """
    base = timedelta(seconds=tick_s * speed)
    step = base
    while True:
        now = datetime.now(STOCKHOLM)
        if clock >= now:
            emit(sim.advance(now))
            clock = now
            time.sleep(tick_s)
            continue
        clock = min(now, clock + step)
        emitted = emit(sim.advance(clock))
        step = base if emitted >= busy else min(step * 2, timedelta(hours=1))
        if emitted:
            time.sleep(tick_s)


def _emitter(
    settings: Settings, out: Path | None, faults: float, seed: int
) -> tuple[Callable[[list[Event]], int], Callable[[], None]]:
    from servicepulse.connectors.ingest.events_jsonl import dumps

    if out is not None:
        handle = out.open("wb")

        def write(events: list[Event]) -> int:
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

    def produce(events: list[Event]) -> int:
        for event in events:
            producer.send(event)
            if faults and rng.random() < faults:
                topic, key, value = corrupt_message(event, codec, producer.topic_for(event), rng)
                producer.send_raw(topic, key, value)
        producer.flush()
        return len(events)

    return produce, lambda: producer.flush()
