"""A Stockholm-size main run (60,000 employees, ~1.2 M pay lines) checked by every payroll rule: lines/s, seconds.

    python benchmarks/payroll_run.py [--employees 60000] [--lines-per-employee 20] [--no-store]

Two figures:

1. rules: every per-run rule over the run already in memory (the pure functions of streams/payroll);
2. store: what the worker does when the run's closed header arrives (`check_run`): wait for the lines,
   load the run, its people and the previous main run from ClickHouse, run every rule, draw and store the
   samples. The lines are inserted first (not timed: that is the sink's job, see end_to_end.py). Uses
   CLICKHOUSE_URL when set, else starts the embedded store, in a fresh database.

The run is the simulator's planted run (all deviations planted) padded with per-shift unsocial-hours lines
to the given lines per employee. Figures are printed, never asserted: this machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from collections import Counter
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from servicepulse.domain.calendar import is_working_day
from servicepulse.simulator.payroll_planted import PlantedRun, planted_main_run, previous_run_lines
from servicepulse.simulator.payroll_scoring import context_for, score, urgent_summaries
from servicepulse.streams.payroll.rules import Line, RunContext, evaluate_run, urgent_payments


def pad(planted: PlantedRun, ctx: RunContext, per_employee: int) -> RunContext:
    """Adds per-shift OB lines (pay type 32, distinct days: no duplicates) until each employee has `per_employee` lines.

    Employees within 20 % of the gross ceiling are left alone, so the planted near miss stays a near miss.
    """
    counts = Counter(line.employee_id for line in ctx.lines)
    gross: Counter[str] = Counter()
    for line in ctx.lines:
        if line.category == "gross":
            gross[line.employee_id] += line.amount_ore
    first = planted.header.pay_date.replace(day=1) - timedelta(days=1)
    days = [first - timedelta(days=i) for i in range(60) if is_working_day(first - timedelta(days=i))]
    lines = list(ctx.lines)
    previous = dict(ctx.previous)
    number = len(lines)
    for employee, count in counts.items():
        added = 0
        if gross[employee] > 12_000_000:
            continue
        for day in days[: max(0, per_employee - count)]:
            number += 1
            amount = 5_500 * (1 + number % 7)
            lines.append(Line(f"{planted.header.run_id}:{number}", number, employee, "32", "gross", amount,
                              Decimal(1 + number % 7), 5_500, day))
            added += amount
        if employee in previous and added:
            prev = previous[employee]
            previous[employee] = type(prev)(prev.run_id, prev.gross_ore + added, prev.net_ore)
    return RunContext(ctx.run, lines, ctx.people, previous, ctx.salt)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=60_000)
    parser.add_argument("--lines-per-employee", type=int, default=20)
    parser.add_argument("--no-store", action="store_true", help="only the in-memory rules figure")
    args = parser.parse_args()

    t0 = time.perf_counter()
    planted = planted_main_run(seed=1, employees=args.employees)
    ctx = pad(planted, context_for(planted), args.lines_per_employee)
    print(f"generated {len(ctx.lines):,} lines for {args.employees:,} employees in {time.perf_counter() - t0:.1f}s")

    t0 = time.perf_counter()
    findings = evaluate_run(ctx) + urgent_payments(urgent_summaries(planted))
    seconds = time.perf_counter() - t0
    result = score(planted, findings)
    print(f"rules : {len(ctx.lines):,} lines in {seconds:.2f}s = {len(ctx.lines) / seconds:,.0f} lines/s; "
          f"{len(findings)} findings, precision {result.precision:.0%}, recall {result.recall:.0%}")
    if not args.no_store:
        store_figure(planted, ctx)


def store_figure(planted: PlantedRun, ctx: RunContext) -> None:
    from servicepulse.config import DEMO_PSEUDONYM_KEY, load_settings
    from servicepulse.connectors.clickhouse import connect, migrate
    from servicepulse.connectors.ingest.paxml import PersonRecord
    from servicepulse.devstack.stack import embedded_stack
    from servicepulse.streams.readback.payroll_checks import check_run
    from servicepulse.streams.readback.payroll_people import save_people
    from servicepulse.streams.sink import TABLES

    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        if not os.environ.get("CLICKHOUSE_URL"):
            local = stack.enter_context(embedded_stack(Path(tmp) / "stack"))
            os.environ["CLICKHOUSE_URL"] = local.clickhouse_url
            os.environ.setdefault("KAFKA_BOOTSTRAP", local.bootstrap)
        os.environ["CLICKHOUSE__DATABASE"] = "benchpay" + uuid.uuid4().hex[:8]
        settings = load_settings()
        migrate(settings.clickhouse)
        client = connect(settings.clickhouse)
        header = planted.header
        people = [PersonRecord(p.employee_id, p.personnummer, False, p.first_name, p.last_name, p.birth_date,
                               p.bank_clearing, p.bank_account, p.employed_from, p.employed_to, p.protected)
                  for p in planted.people.values()]
        save_people(client, people, header.pay_date, salt=DEMO_PSEUDONYM_KEY)
        columns = TABLES["payroll_lines"].columns
        now = datetime.now(UTC)
        t0 = time.perf_counter()
        planted.previous = {k: (v.run_id, v.gross_ore, v.net_ore) for k, v in ctx.previous.items()}
        prev = previous_run_lines(planted)
        prev_rows = [[x.event_id, x.run_id, x.line_no, x.employee_id, x.customer, x.pay_type, None, x.category.value,
                      None, None, x.amount_ore, None, None, None, None, now, "bench", "bench", 0, i]
                     for i, x in enumerate(prev)]
        rows = [[x.event_id, header.run_id, x.line_no, x.employee_id, header.customer, x.pay_type, None, x.category,
                 x.quantity, x.unit_price_ore, x.amount_ore, x.work_date, x.period_from, x.period_to, None, now,
                 "bench", "bench", 1, i] for i, x in enumerate(ctx.lines)]
        for batch in range(0, len(prev_rows), 200_000):
            client.insert("payroll_lines", prev_rows[batch:batch + 200_000], column_names=list(columns))
        for batch in range(0, len(rows), 200_000):
            client.insert("payroll_lines", rows[batch:batch + 200_000], column_names=list(columns))
        prev_header = header.model_copy(update={"run_id": prev[0].run_id, "event_id": f"{prev[0].run_id}:closed",
                                                "pay_date": header.pay_date - timedelta(days=31),
                                                "line_count": len(prev)})
        header = header.model_copy(update={"line_count": len(rows)})
        run_columns = TABLES["payroll_runs"].columns
        client.insert("payroll_runs", [[*(v.value if hasattr(v, "value") else v for v in h.__dict__.values()),
                                        "bench", 0, n] for n, h in enumerate((prev_header, header))],
                      column_names=list(run_columns))
        print(f"stored {len(rows) + len(prev_rows):,} lines (current + previous run) in "
              f"{time.perf_counter() - t0:.1f}s (not part of the figure)")
        t0 = time.perf_counter()
        check = check_run(client, header, wait_s=5, salt=DEMO_PSEUDONYM_KEY)
        seconds = time.perf_counter() - t0
        print(f"store : {check.lines_seen:,} lines loaded, checked by every rule and sampled in {seconds:.2f}s = "
              f"{check.lines_seen / seconds:,.0f} lines/s; {len(check.findings)} findings, "
              f"{len(check.samples)} samples stored")


if __name__ == "__main__":
    main()
