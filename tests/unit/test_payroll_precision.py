"""Rule precision on realistic data: a clean simulated month (noise, no planted case) gives next to no findings,
printed per rule per 10,000 lines beside precision and recall on the planted months; weekend days inside a
trip are never flagged. Pure rules, no Kafka: the whole measurement takes seconds."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest

from servicepulse.domain.calendar import is_working_day
from servicepulse.schemas.events import PayCategory, PayLine
from servicepulse.simulator.payroll_planted import planted_main_run
from servicepulse.simulator.payroll_scoring import context_for, score, urgent_summaries
from servicepulse.streams.payroll.rules import RULES, evaluate_run, urgent_payments

NOW = datetime(2026, 11, 23, tzinfo=UTC)
SEEDS = (1, 2, 3)
CLEAN_EMPLOYEES = 3_000
# Findings per 10,000 lines a rule may raise on a clean month: each one is a false positive.
MAX_NOISE_PER_10K = 1.0


def _trip_days(x: PayLine) -> list[date]:
    if x.work_date is not None:
        return [x.work_date]
    if x.period_from is None or x.period_to is None:
        return []
    return [x.period_from + timedelta(days=d) for d in range((x.period_to - x.period_from).days + 1)]


def _noise(lines: list[PayLine]) -> Counter[str]:
    """What real payroll noise the clean month holds, so the test cannot pass on a month without it."""
    kinds: Counter[str] = Counter()
    for x in lines:
        if x.category is PayCategory.per_diem:
            kinds["weekend per-diem days"] += sum(1 for d in _trip_days(x) if d.weekday() >= 5)
            # What version 1 of payroll.travel_per_diem flagged: a per-diem line dated on a day off.
            kinds["lines v1 flagged as weekend"] += int(x.work_date is not None and not is_working_day(x.work_date))
        if x.amount_ore < 0 and x.pay_type in ("31", "41"):
            kinds["reversals"] += 1
        if x.pay_type == "15":
            kinds["retroactive lines"] += 1
        if x.pay_type in ("52", "61"):
            kinds["leave lines"] += 1
    return kinds


def test_clean_month_findings_per_rule_beside_planted_precision_and_recall(
        capsys: pytest.CaptureFixture[str]) -> None:
    clean_found: Counter[str] = Counter()
    clean_lines = 0
    noise: Counter[str] = Counter()
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    planted_n: Counter[str] = Counter()
    for seed in SEEDS:
        clean = planted_main_run(seed=seed, employees=CLEAN_EMPLOYEES, plant=False)
        assert clean.planted == []
        clean_lines += len(clean.lines)
        noise += _noise(list(clean.lines))
        findings = evaluate_run(context_for(clean), now=NOW) + urgent_payments(urgent_summaries(clean), now=NOW)
        clean_found.update(f.rule_id for f in findings)
        planted = planted_main_run(seed=seed, employees=400)
        result = score(planted, evaluate_run(context_for(planted), now=NOW)
                       + urgent_payments(urgent_summaries(planted), now=NOW))
        truth = {(p.rule_id, p.subjects) for p in planted.planted}
        planted_n.update(r for r, _ in truth)
        tp.update(r for r, s in truth if (r, s) not in result.missed)
        fp.update(r for r, _ in result.false_positives)
    rows = [f"{'rule':<34}{'clean /10k lines':>17}{'precision':>11}{'recall':>8}"]
    for rule in sorted(r.rule_id for r in RULES):
        per_10k = clean_found[rule] * 10_000 / clean_lines
        precision = tp[rule] / max(1, tp[rule] + fp[rule])
        rows.append(f"{rule:<34}{per_10k:>17.2f}{precision:>11.0%}{tp[rule] / max(1, planted_n[rule]):>8.0%}")
    with capsys.disabled():
        print(f"\nclean month: {clean_lines} lines over seeds {SEEDS}, noise {dict(sorted(noise.items()))}")
        print("\n".join(rows))
    # The clean month is realistic: trips over weekends, corrections, retroactive pay and leave are in it.
    assert noise["weekend per-diem days"] >= 20 and noise["reversals"] >= 20
    assert noise["retroactive lines"] >= 50 and noise["leave lines"] >= 50
    for rule in (r.rule_id for r in RULES):
        assert clean_found[rule] * 10_000 / clean_lines <= MAX_NOISE_PER_10K, (rule, clean_found[rule])
        assert tp[rule] == planted_n[rule] and fp[rule] == 0, rule


def test_weekend_days_inside_a_trip_are_never_flagged() -> None:
    clean = planted_main_run(seed=4, employees=CLEAN_EMPLOYEES, plant=False)
    trips = [x for x in clean.lines if x.category is PayCategory.per_diem]
    weekend = [x for x in trips if any(d.weekday() >= 5 for d in _trip_days(x))]
    assert len(weekend) >= 10
    findings = [f for f in evaluate_run(context_for(clean), now=NOW) if f.rule_id == "payroll.travel_per_diem"]
    flagged = {e for f in findings for e in f.source_event_ids}
    assert not flagged & {x.event_id for x in weekend}
    assert findings == []
