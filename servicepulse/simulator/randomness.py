"""Stable, seedable random streams and the few distributions the simulator draws from."""

from __future__ import annotations

import hashlib
import math
import random
from bisect import bisect
from collections.abc import Sequence
from itertools import accumulate
from typing import Generic, TypeVar

__all__ = ["WeightedPicker", "below", "between", "lognormal", "poisson", "rng_for", "stable_int", "uniform_times"]

_T = TypeVar("_T")


def stable_int(*parts: object) -> int:
    """A 64-bit integer from `parts` that is the same in every process (unlike the salted built-in hash)."""
    text = "\x1f".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


def rng_for(*parts: object) -> random.Random:
    """An independent random stream for e.g. (seed, family, slot): the same parts always give the same draws."""
    return random.Random(stable_int(*parts))


def below(rng: random.Random, n: int) -> int:
    """A uniform integer in [0, n); cheaper than `randrange`, which the hot loops would otherwise spend time in."""
    return int(rng.random() * n)


def between(rng: random.Random, low: int, high: int) -> int:
    """A uniform integer in [low, high], both ends included."""
    return low + int(rng.random() * (high - low + 1))


def poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam < 30:
        # Knuth's product method; exact and cheap for the small per-slot rates most families have.
        limit = math.exp(-lam)
        count, product = 0, rng.random()
        while product > limit:
            count += 1
            product *= rng.random()
        return count
    return max(0, round(rng.gauss(lam, math.sqrt(lam))))


def lognormal(rng: random.Random, median: float, sigma: float) -> float:
    return median * math.exp(rng.gauss(0.0, sigma))


def uniform_times(rng: random.Random, count: int, lo_ms: int, hi_ms: int) -> list[int]:
    """`count` sorted instants drawn uniformly from [lo_ms, hi_ms)."""
    span = hi_ms - lo_ms
    return sorted(lo_ms + int(rng.random() * span) for _ in range(count))


class WeightedPicker(Generic[_T]):
    """Repeated weighted choice from a fixed population, with the cumulative weights computed once."""

    __slots__ = ("_cum", "_items", "_total")

    def __init__(self, items: Sequence[_T], weights: Sequence[float]) -> None:
        if len(items) != len(weights) or not items:
            raise ValueError("items and weights must be non-empty and of equal length")
        self._items = list(items)
        self._cum = list(accumulate(weights))
        self._total = self._cum[-1]

    def pick(self, rng: random.Random) -> _T:
        return self._items[min(bisect(self._cum, rng.random() * self._total), len(self._items) - 1)]
