"""Stickprov: reproducible samples of a main run's pay documents, seeded from the run id so an auditor can re-draw them.

A pay document is one employee's payslip in the run. Two methods:

- `simple-random-v1`: N documents drawn without replacement, every document equally likely;
- `monetary-unit-v1`: monetary-unit sampling (MUS) over net pay: documents are laid end to end in
  anstid order, N points `start + k * interval` (interval = total / N, start drawn in [0, interval))
  pick the documents they fall in, so a document's chance grows with its amount; a document larger than
  the interval is picked for certain (and only once).

The seed is the first 16 hex digits of sha256("<method>|<run id>"), stored with the sample; re-drawing
needs only the run id, the method and the run's documents (read from `payroll_lines`).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = ["MONETARY_UNIT", "SIMPLE_RANDOM", "Sample", "monetary_unit_sample", "seed_for", "simple_random_sample"]

SIMPLE_RANDOM = "simple-random-v1"
MONETARY_UNIT = "monetary-unit-v1"


@dataclass(frozen=True)
class Sample:
    """A drawn sample: enough to re-draw it and to check the draw."""

    run_id: str
    method: str
    seed: int
    size: int
    population: int
    population_ore: int
    documents: tuple[str, ...]  # subjects (anstid or a protected person's pseudonym), in draw order
    interval_ore: int | None = None
    start_ore: int | None = None


def seed_for(run_id: str, method: str) -> int:
    return int(hashlib.sha256(f"{method}|{run_id}".encode()).hexdigest()[:16], 16)


def simple_random_sample(run_id: str, documents: Mapping[str, int], size: int = 25) -> Sample:
    """`size` documents (or all, if fewer) drawn uniformly from `documents` (subject -> net öre)."""
    seed = seed_for(run_id, SIMPLE_RANDOM)
    ordered = sorted(documents)
    drawn = random.Random(seed).sample(ordered, min(size, len(ordered)))
    return Sample(run_id, SIMPLE_RANDOM, seed, size, len(ordered), sum(documents.values()), tuple(drawn))


def monetary_unit_sample(run_id: str, documents: Mapping[str, int], size: int = 25) -> Sample:
    """Monetary-unit sample over the positive amounts of `documents` (subject -> net öre)."""
    seed = seed_for(run_id, MONETARY_UNIT)
    ordered = [(subject, amount) for subject, amount in sorted(documents.items()) if amount > 0]
    total = sum(amount for _, amount in ordered)
    if total <= 0 or size <= 0:
        return Sample(run_id, MONETARY_UNIT, seed, size, len(ordered), total, (), None, None)
    interval = max(1, total // size)
    start = random.Random(seed).randrange(interval)
    return Sample(run_id, MONETARY_UNIT, seed, size, len(ordered), total,
                  tuple(_hits(ordered, start, interval)), interval, start)


def _hits(ordered: Iterable[tuple[str, int]], start: int, interval: int) -> Iterable[str]:
    point = start
    cumulative = 0
    for subject, amount in ordered:
        upper = cumulative + amount  # this document covers [cumulative, upper)
        if point < upper:
            yield subject
            while point < upper:
                point += interval
        cumulative = upper
