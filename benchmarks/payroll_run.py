"""A Stockholm-size main run (60,000 employees, ~1.2 M pay lines) checked by every payroll rule: lines/s, seconds.

    python benchmarks/payroll_run.py [--employees 60000] [--lines-per-employee 20] [--no-store]
    python benchmarks/payroll_run.py --end-to-end [--employees 60000] [--broker tansu|apache-kafka]

Two figures (three with --end-to-end, which replaces the second):

1. rules: every per-run rule over the run already in memory (the pure functions of streams/payroll);
2. store: what the worker does when the run's closed header arrives (`check_run`): wait for the lines,
   load the run, its people and the previous main run from ClickHouse, run every rule, draw and store the
   samples. The lines are inserted first (not timed: that is the sink's job, see end_to_end.py). Uses
   CLICKHOUSE_URL when set, else starts the embedded store, in a fresh database.

3. end to end (`--end-to-end`): the run written as a PAXml file (the simulator's writer) -> `servicepulse ingest
   paxml` -> Kafka -> the sink into ClickHouse -> the run check when the closed header arrives -> findings
   stored in `findings`; the pipeline is `servicepulse up` against an embedded broker and store, fresh topics,
   group and database. People (`controls people`) and the previous main run (`ingest --wait`) are loaded first
   (their functions, in this process), not timed. Seconds per stage (each stage ends when the driver, polling
   ClickHouse every 0.25 s, sees it done) and every process's peak RSS (VmHWM from /proc); the issue's goals
   are printed beside, never asserted.

The run is the simulator's planted run (all deviations planted) padded with per-shift unsocial-hours lines
to the given lines per employee. Figures are printed, never asserted: this machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from servicepulse.devstack.stack import environ
from servicepulse.domain.calendar import is_working_day
from servicepulse.domain.zone import STOCKHOLM
from servicepulse.schemas.events import PayCategory, PayLine
from servicepulse.simulator.paxml_writer import paxml_people, paxml_run
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
    parser.add_argument("--end-to-end", action="store_true", help="PAXml file -> ingest -> Kafka -> ClickHouse -> "
                        "rules -> findings, seconds per stage and peak RSS per process")
    parser.add_argument("--broker", default="tansu", choices=("tansu", "apache-kafka"), help="with --end-to-end")
    parser.add_argument("--timeout", type=float, default=1800, help="with --end-to-end: give up after this long")
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
    if args.end_to_end:
        print_end_to_end(end_to_end(planted, ctx, broker=args.broker, timeout=args.timeout))
    elif not args.no_store:
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


# --------------------------------------------------------------------------- end to end

GOAL_S, MOONSHOT_S, GOAL_RSS_MIB = 90.0, 60.0, 1024.0


@dataclass
class EndToEnd:
    """What one end-to-end run measured: stage name -> seconds since the ingest started; process -> peak MiB."""

    employees: int
    lines: int
    file_mib: float
    stages: list[tuple[str, float]]
    rss_mib: dict[str, float]
    findings: int
    findings_in_memory: int
    check_seconds: float


def padded_lines(planted: PlantedRun, ctx: RunContext) -> list[PayLine]:
    """The planted run's pay lines plus `pad`'s extra OB lines as PayLine events (for the PAXml writer)."""
    header = planted.header
    extra = ctx.lines[len(planted.lines):]
    occurred = datetime.combine(header.pay_date - timedelta(days=10), datetime.min.time(), STOCKHOLM)
    return [*planted.lines, *(PayLine(event_id=x.event_id, run_id=header.run_id, line_no=x.line_no,
                                      employee_id=x.employee_id, customer=header.customer, pay_type=x.pay_type,
                                      pay_type_name="OB-tillägg", category=PayCategory(x.category),
                                      quantity=x.quantity, unit_price_ore=x.unit_price_ore, amount_ore=x.amount_ore,
                                      work_date=x.work_date, occurred_at=occurred, source="benchmark")
                              for x in extra)]


def write_files(planted: PlantedRun, ctx: RunContext, out: Path) -> list[tuple[Path, date]]:
    """The PAXml files `controls plant` writes (people with their bank-account history, the previous and the
    current main run), the current run padded; returns the people files with the day each counts from."""
    header = planted.header
    company, pay_date = header.customer, header.pay_date
    people = list(planted.people.values())
    early = [p for p in people if p.bank_changed_on and (pay_date - p.bank_changed_on).days > 100]
    steps = [(out / "people-0.paxml", paxml_people(people, company, previous_accounts=True),
              pay_date - timedelta(days=400)),
             (out / "people-1.paxml", paxml_people(early, company),
              (early[0].bank_changed_on or pay_date) if early else pay_date),
             (out / "people-2.paxml", paxml_people(people, company), pay_date - timedelta(days=12))]
    for path, data, _ in steps:
        path.write_bytes(data)
    (out / "protected.csv").write_text("anstid\n" + "".join(f"{a}\n" for a in planted.protected_ids))
    planted.previous = {k: (v.run_id, v.gross_ore, v.net_ore) for k, v in ctx.previous.items()}
    prev_period = (pay_date.replace(day=1) - timedelta(days=1)).strftime("%Y%m")
    (out / "previous.paxml").write_bytes(paxml_run(previous_run_lines(planted), company, prev_period,
                                                   pay_date - timedelta(days=31)))
    (out / "current.paxml").write_bytes(paxml_run(padded_lines(planted, ctx), company,
                                                  header.period.replace("-", ""), pay_date))
    return [(path, day) for path, _, day in steps]


def _cli(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    from servicepulse.devstack.stack import module_command

    with log.open("ab") as out:
        return subprocess.Popen(module_command("servicepulse.cli.main", *args), env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)


def _label(pid: int) -> str:
    """`worker 0`, `sink 0`, `up`...: the servicepulse command a process runs (whatever `up` starts)."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return str(pid)
    if "servicepulse.cli.main" not in argv[:-1]:
        return " ".join(Path(a).name for a in argv[:3] if a)[:40]
    command = argv[argv.index("servicepulse.cli.main") + 1]
    index = argv[argv.index("--index") + 1] if "--index" in argv[:-1] else ""
    return f"{command} {index}".strip() + (" (supervisor)" if command == "up" else "")


def end_to_end(planted: PlantedRun, ctx: RunContext, *, broker: str = "tansu", timeout: float = 1800.0,
               bootstrap: str | None = None, clickhouse_url: str | None = None,
               work_dir: Path | None = None) -> EndToEnd:
    """The main run from file to findings through the real processes. With `bootstrap` and `clickhouse_url`
    it uses that broker and store (the smoke test's); otherwise it starts the embedded ones."""
    from peers import PeakRss, children  # type: ignore[import-not-found]  # benchmarks/ is on sys.path when run

    from servicepulse.config import Topics
    from servicepulse.devstack.stack import embedded_stack
    from servicepulse.streams.readback.payroll_checks import check_status

    findings_in_memory = len(evaluate_run(ctx))
    with ExitStack() as stack:
        work = work_dir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="payroll-e2e-")))
        t0 = time.perf_counter()
        people_files = write_files(planted, ctx, work)
        current = work / "current.paxml"
        print(f"wrote the PAXml files ({current.stat().st_size / 2**20:.0f} MiB main run) in "
              f"{time.perf_counter() - t0:.1f}s (not part of the figure)")
        store_pid, others = None, []
        if bootstrap is None or clickhouse_url is None:
            local = stack.enter_context(embedded_stack(work / "stack", broker))
            bootstrap, clickhouse_url = local.bootstrap, local.clickhouse_url
            store_pid = local.store.pid if local.store else None
            # The broker is this process's other child (EmbeddedBroker does not expose its pid).
            others = [pid for pid in children().get(os.getpid(), []) if pid != store_pid]
        name = "benchpay" + uuid.uuid4().hex[:8]
        env = dict(os.environ) | {
            "KAFKA_BOOTSTRAP": bootstrap, "CLICKHOUSE_URL": clickhouse_url, "CLICKHOUSE__DATABASE": name,
            "KAFKA__CONSUMER_GROUP": name, "LOG__FORMAT": "json", "PAYROLL__PSEUDONYM_KEY": "bench-" + name,
        } | {f"KAFKA__TOPICS__{f.upper()}": f"{name}-{f}" for f in Topics.model_fields}
        log = work / "pipeline.log"
        up = _cli(["up", "--run-dir", str(work / "up")], env, log)
        stack.callback(_stop, up)
        rss = {"pipeline": PeakRss(up.pid)}
        if store_pid:
            rss["store"] = PeakRss(store_pid)
        if others:
            rss["broker"] = PeakRss(*others)
        client = _wait_until_migrated(clickhouse_url, name, up)
        # In this process (the smoke test's time is mostly Python start-ups): the same functions the CLI runs.
        with environ(env):
            from servicepulse.cli.controls import people
            from servicepulse.cli.ingest import ingest as ingest_files

            for path, day in people_files:
                people(files=[path], protected=work / "protected.csv", changed_on=day.isoformat())
            t0 = time.perf_counter()
            ingest_files(fmt="paxml", files=[work / "previous.paxml"], wait=True, timeout=timeout, protected=None)
        print(f"people loaded; the previous run stored in {time.perf_counter() - t0:.1f}s (not part of the figure)")

        run_id = f"{planted.header.customer}-{planted.header.period}-main"
        stages: list[tuple[str, float]] = []
        start = time.perf_counter()
        ingest = _cli(["ingest", "paxml", str(current)], env, log)
        rss["ingest"] = PeakRss(ingest.pid)
        deadline = start + timeout
        lines = -1
        checked: tuple[int, float] | None = None
        # The stages overlap: the sink stores lines while the ingest is still publishing, and the
        # ingest process's own exit (interpreter teardown) can come after its last line is stored.
        # Each milestone is therefore watched on its own and reported in the order it happened.
        ingested = queryable = False
        while time.perf_counter() < deadline:
            now = time.perf_counter() - start
            if not ingested and ingest.poll() is not None:
                if ingest.returncode != 0:
                    raise RuntimeError(f"ingest failed (exit {ingest.returncode}); see {log}")
                ingested = True
                stages.append(("ingest: parsed and published", now))
            if up.poll() is not None:
                raise RuntimeError(f"the pipeline stopped (exit {up.returncode}); see {log}")
            if lines < 0:
                got = client.query("SELECT line_count FROM payroll_runs FINAL WHERE run_id = {r:String}"
                                   " AND status = 'closed'", parameters={"r": run_id}).result_rows
                if got and client.query("SELECT count() FROM payroll_lines WHERE run_id = {r:String}",
                                        parameters={"r": run_id}).result_rows[0][0] >= got[0][0]:
                    lines = int(got[0][0])
                    stages.append(("stored in ClickHouse (every line)", now))
            elif checked is None:
                got = client.query("SELECT findings, seconds FROM payroll_run_checks FINAL WHERE run_id = {r:String}",
                                   parameters={"r": run_id}).result_rows
                if got:
                    checked = (int(got[0][0]), float(got[0][1]))
                    stages.append(("checked by every rule", now))
            elif not queryable:
                queryable = check_status(client, run_id)[2] >= checked[0]  # the run's findings stored
                if queryable:
                    stages.append(("findings queryable", now))
            if ingested and queryable:
                break
            time.sleep(0.25)
        else:
            raise TimeoutError(f"the main run was not through after {timeout:.0f}s: {stages}; see {log}")
        stages.sort(key=lambda stage: stage[1])
        peaks: dict[str, float] = {}
        for group, sampler in rss.items():
            sampler.stop()
            for pid, kib in sampler.peaks.items():
                label = group if group in ("store", "broker", "ingest") else _label(pid)
                peaks[label] = max(peaks.get(label, 0.0), kib / 1024)
        assert checked is not None
        return EndToEnd(len(planted.people), lines, current.stat().st_size / 2**20, stages, peaks, checked[0],
                        findings_in_memory, checked[1])


def _wait_until_migrated(url: str, database: str, up: subprocess.Popen[bytes]) -> Any:
    """A client on the benchmark's database once `up` has migrated it and its worker has joined."""
    from servicepulse.config import load_settings
    from servicepulse.connectors.clickhouse import connect

    with environ(dict(os.environ) | {"CLICKHOUSE_URL": url, "CLICKHOUSE__DATABASE": database}):
        settings = load_settings()
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if up.poll() is not None:
            raise RuntimeError(f"servicepulse up stopped (exit {up.returncode})")
        try:
            client = connect(settings.clickhouse)
            if client.query("SELECT count() FROM system.tables WHERE database = {d:String}"
                            " AND name = 'payroll_run_checks'", parameters={"d": database}).result_rows[0][0]:
                return client
        except Exception:
            pass  # not created yet
        time.sleep(0.5)
    raise TimeoutError("servicepulse up did not migrate the database in 300 s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def print_end_to_end(r: EndToEnd) -> None:
    print(f"\nend to end: {r.employees:,} employees, {r.lines:,} lines, PAXml {r.file_mib:.0f} MiB")
    print(f"{'stage (seconds since the ingest started)':<44} {'s':>7} {'stage s':>8}")
    before = 0.0
    for stage, at in r.stages:
        print(f"{stage:<44} {at:>7.1f} {at - before:>8.1f}")
        before = at
    total = r.stages[-1][1]
    print(f"total {total:.1f}s = {r.lines / total:,.0f} lines/s   goal <= {GOAL_S:.0f}s (moonshot {MOONSHOT_S:.0f}s): "
          f"{'met' if total <= GOAL_S else 'NOT met'}")
    print(f"run check inside the worker: {r.check_seconds:.1f}s; {r.findings} findings "
          f"({r.findings_in_memory} from the same rules over the run in memory)")
    print(f"{'process':<24} {'peak RSS MiB':>12}   goal < {GOAL_RSS_MIB:.0f} MiB each")
    for name, mib in sorted(r.rss_mib.items()):
        print(f"{name:<24} {mib:>12,.0f}   {'ok' if mib < GOAL_RSS_MIB else 'OVER'}")


if __name__ == "__main__":
    main()
