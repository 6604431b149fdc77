"""Stickprov: the same run id always draws the same sample; another run id draws another; MUS favours large amounts."""

from __future__ import annotations

import random

from servicepulse.streams.payroll.sampling import (
    MONETARY_UNIT,
    SIMPLE_RANDOM,
    monetary_unit_sample,
    seed_for,
    simple_random_sample,
)

DOCS = {f"A{i:06d}": 2_000_000 + (i * 7919) % 1_500_000 for i in range(1, 2001)}


def test_same_run_id_same_sample() -> None:
    a = simple_random_sample("SF01-2026-11-main", DOCS)
    b = simple_random_sample("SF01-2026-11-main", dict(reversed(list(DOCS.items()))))  # order does not matter
    assert a == b and len(a.documents) == 25 and len(set(a.documents)) == 25
    assert a.method == SIMPLE_RANDOM and a.seed == seed_for("SF01-2026-11-main", SIMPLE_RANDOM)
    # An auditor re-draws with nothing but the stored seed and the sorted population.
    assert tuple(random.Random(a.seed).sample(sorted(DOCS), 25)) == a.documents
    assert simple_random_sample("SF01-2026-12-main", DOCS).documents != a.documents


def test_small_population_is_taken_whole() -> None:
    sample = simple_random_sample("r", {"A1": 1, "A2": 2})
    assert sorted(sample.documents) == ["A1", "A2"] and sample.population == 2


def test_monetary_unit_sample_is_reproducible_and_hand_checkable() -> None:
    docs = {"A1": 100, "A2": 300, "A3": 600}  # cumulative ranges [0,100) [100,400) [400,1000)
    sample = monetary_unit_sample("run-x", docs, size=2)
    assert sample.method == MONETARY_UNIT and sample.interval_ore == 500 and sample.population_ore == 1000
    start = random.Random(seed_for("run-x", MONETARY_UNIT)).randrange(500)
    assert sample.start_ore == start
    points = [start, start + 500]
    expected = [name for name, lo, hi in (("A1", 0, 100), ("A2", 100, 400), ("A3", 400, 1000))
                if any(lo <= p < hi for p in points)]
    assert list(sample.documents) == expected
    assert monetary_unit_sample("run-x", docs, size=2) == sample


def test_monetary_unit_sample_takes_large_documents_for_certain_and_once() -> None:
    docs = {f"A{i:03d}": 10_000 for i in range(100)} | {"BIG": 5_000_000}
    sample = monetary_unit_sample("SF01-2026-11-main", docs)
    assert sample.documents.count("BIG") == 1
    assert len(sample.documents) == len(set(sample.documents))
    # Negative and zero nets (salary debts) are not monetary units.
    assert "NEG" not in monetary_unit_sample("r", {"NEG": -5, "A": 10}).documents
