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
    state: Path | None = typer.Option(
        None, help="Resume file: the simulated clock up to which events were produced and flushed, written after "
        "every batch; a restart with the same file skips those events (SIGTERM stops after the current batch)",
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
    stop = _Resume(state)
    t = first
    if stop.through is not None:
        # Generated again (the simulator is deterministic) but not produced: they are in Kafka already.
        sim.advance(stop.through)
        t = max(first, stop.through)
        console.print(f"resuming after {t.isoformat()} (from {state})")

    def step(clock: datetime) -> int:
        emitted = emit(sim.advance(clock))  # produced and flushed
        stop.save(clock)
        return emitted

    counts = 0
    started = time.monotonic()
    from rich.progress import Progress

    with Progress(console=console, transient=True) as progress:
        total_hours = max(int((instant_end - first).total_seconds() // 3600), 1)
        task = progress.add_task("simulating", total=total_hours)
        while t < instant_end and not stop.requested:
            t = min(t + timedelta(hours=1), instant_end)
            counts += step(t)
            progress.advance(task)
    console.print(f"{counts} events from {first.isoformat()} to {instant_end.isoformat()} "
                  f"in {time.monotonic() - started:.1f}s")
    if follow and not stop.requested:
        console.print(f"following: replaying from {t.isoformat()} at {speed:g}x (quiet stretches "
                      "skipped) until now, then live")
        with contextlib.suppress(KeyboardInterrupt):
            _follow(step, t, speed, lambda: stop.requested)
    close()


class _Resume:
    """The resume file of `--state`; with one, SIGTERM ends the run between two flushed batches, so the file never
    names a clock whose events were only partly produced (a restart would then lose or double them)."""

    def __init__(self, path: Path | None) -> None:
        import json
        import signal

        self.path = path
        self.requested = False
        self.through: datetime | None = None
        if path is None:
            return
        if path.exists():
            self.through = datetime.fromisoformat(json.loads(path.read_text(encoding="utf-8"))["through"])
        signal.signal(signal.SIGTERM, self._request)

    def _request(self, _sig: int, _frame: object) -> None:
        self.requested = True

    def save(self, clock: datetime) -> None:
        import json

        if self.path is None:
            return
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"through": clock.isoformat()}) + "\n", encoding="utf-8")
        tmp.replace(self.path)  # atomic: a crash leaves the old clock or the new one


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
    step: Callable[[datetime], int], clock: datetime, speed: float, stopped: Callable[[], bool],
    tick_s: float = 0.5, busy: int = 10
) -> None:
    """Replay at no less than `speed` until now, then live.

    A tick carrying fewer than `busy` events doubles the next step (up to an hour), so nights and weekends pass
    in seconds and a replayed week always shows activity; a busy tick goes back to `speed`.
    """
    base = timedelta(seconds=tick_s * speed)
    stride = base
    while not stopped():
        now = datetime.now(STOCKHOLM)
        if clock >= now:
            step(now)
            clock = now
            time.sleep(tick_s)
            continue
        clock = min(now, clock + stride)
        emitted = step(clock)
        stride = base if emitted >= busy else min(stride * 2, timedelta(hours=1))
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
