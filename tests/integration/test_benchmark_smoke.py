"""The benchmarks cannot rot: peers.py's events and totals; payroll_run.py's end to end on a few hundred employees."""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import orjson
import pytest

from servicepulse.simulator.payroll_planted import planted_main_run
from servicepulse.simulator.payroll_scoring import context_for
from tests.factories.pipeline import Backend

pytestmark = [pytest.mark.integration, pytest.mark.broker_independent]

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def _load(name: str) -> ModuleType:
    """A benchmark script as a module (benchmarks/ is no package); registered first, as dataclasses need."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_peer_events_and_their_totals() -> None:
    peers = _load("peers")
    evs = list(peers.events(20_000))
    assert evs == list(peers.events(20_000)), "the generator is deterministic"
    assert 170 <= sum(len(orjson.dumps(e)) for e in evs) / len(evs) <= 210, "~190-byte events"
    answered = [e for e in evs if e["event_type"] == "answered"]
    assert all(e["wait_ms"] > 5_000 for e in evs if e["event_type"] == "abandoned"), "no short abandons"
    assert len({e["queue"] for e in evs}) == 6 and len({e["offered_at"] // peers.WINDOW_MS for e in evs}) > 1
    expected = peers.totals(evs)
    assert (expected.offered, expected.answered, expected.within_60s) == (
        len(evs), len(answered), sum(e["wait_ms"] <= 60_000 for e in answered))
    assert 0 < expected.within_60s < expected.answered < expected.offered

    # Per answer group and 15-minute window, as every implementation counts; the sums are the totals.
    windows: dict[tuple[str, int], list[int]] = {}
    for e in [*evs, *(m for _, m in peers.end_markers())]:
        c = windows.setdefault((e["queue"], e["offered_at"] - e["offered_at"] % peers.WINDOW_MS), [0, 0, 0])
        for i, x in enumerate(peers.counts(e)):
            c[i] += x
    records = [peers.result(q, start, c) for (q, start), c in windows.items()]
    assert peers.window_totals(records) == expected
    records[0]["within_60s"] += 1  # one window miscounted by one: the check must see it
    assert peers.window_totals(records) != expected
    assert Counter(p for p, _ in peers.end_markers()) == dict.fromkeys(range(peers.PARTITIONS), 6)


def test_payroll_main_run_end_to_end_small(backend: Backend, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(BENCHMARKS))  # payroll_run imports peers from its folder, as when run
    payroll = _load("payroll_run")
    planted = planted_main_run(seed=1, employees=200)
    ctx = payroll.pad(planted, context_for(planted), 20)
    result = payroll.end_to_end(planted, ctx, bootstrap=backend.bootstrap, clickhouse_url=backend.clickhouse_url,
                                work_dir=tmp_path, timeout=120)
    at = dict(result.stages)
    assert set(at) == {"ingest: parsed and published", "stored in ClickHouse (every line)",
                       "checked by every rule", "findings queryable"}
    # Reported in the order they happened; the ingest's exit may come after its lines are stored
    # (seen in CI), but nothing is checked before it is stored, nor queryable before it is checked.
    assert [s for _, s in result.stages] == sorted(s for _, s in result.stages) and result.stages[0][1] > 0
    assert at["stored in ClickHouse (every line)"] <= at["checked by every rule"] <= at["findings queryable"]
    assert result.lines == len(ctx.lines), "every line of the file, stored"
    # The worker's check over the stored run finds what the same rules find over the run in memory.
    assert result.findings == result.findings_in_memory > 0
    assert {"ingest", "up (supervisor)", "worker 0"} <= set(result.rss_mib)
    assert all(mib > 10 for mib in result.rss_mib.values())
    payroll.print_end_to_end(result)
