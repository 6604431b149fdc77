"""`controls`: payroll master data into the restricted table, and replays of a rule version over history."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import typer

from .common import console, fail, protected_ids, settings_and_logging

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    controls = typer.Typer(help="Payroll controls: master data, replays of a rule over history.",
                           no_args_is_help=True)
    controls.command("people", help="Load PAXml personal/person master data into the restricted table.")(people)
    controls.command("rerun", help="Re-run a rule version over history into findings_rerun and compare.")(rerun)
    controls.command("plant", help="Demo: a main run with every deviation planted, as PAXml, loaded and ingested.")(
        plant)
    controls.command("score", help="Precision and recall of the findings against a planted run's ground truth.")(
        score)
    app.add_typer(controls, name="controls")


def people(
    files: list[Path] = typer.Argument(..., exists=True, dir_okay=False, readable=True),
    protected: Path | None = typer.Option(None, "--protected", exists=True, dir_okay=False,
                                          help="CSV side feed with an 'anstid' column: protected identities"),
    changed_on: str | None = typer.Option(None, "--changed-on", help="Date a bank change counts from (YYYY-MM-DD);"
                                          " default today"),
) -> None:
    from servicepulse.connectors.clickhouse import connect
    from servicepulse.connectors.ingest.paxml import read_document
    from servicepulse.streams.readback.payroll_people import save_people

    settings = settings_and_logging()
    flagged = protected_ids(protected)
    day = _date(changed_on) if changed_on else datetime.now(UTC).date()
    client = connect(settings.clickhouse)
    total = errors = 0
    for path in files:
        with path.open("rb") as handle:
            doc = read_document(handle, flagged)
        for error in doc.errors:
            if error.raw.startswith(b"<person"):
                errors += 1
                console.print(f"[red]{path.name}:{error.line}[/]: {error.reason}")
        total += save_people(client, doc.people, day, salt=settings.payroll.key())
    # Counts only: names and personnummer are never printed.
    console.print(f"{total} people stored in payroll_people_restricted ({len(flagged)} protected in the side feed)")
    if errors:
        raise typer.Exit(2)


def rerun(
    rule: str = typer.Option(..., "--rule", help="Rule id, e.g. payroll.pay_change"),
    start: str = typer.Option(..., "--from", help="First pay date, YYYY-MM-DD"),
    end: str = typer.Option(..., "--to", help="Last pay date, YYYY-MM-DD"),
    param: list[str] = typer.Option([], "--param", help="Parameter override NAME=VALUE, e.g. max_change_pct=20"),
    version: int | None = typer.Option(None, "--version", help="Rule version to record (default: the rule's)"),
    fmt: str = typer.Option("table", "--format", help="table | json"),
) -> None:
    import orjson

    from servicepulse.connectors.clickhouse import connect
    from servicepulse.domain.rules import stable_id
    from servicepulse.schemas.events import PayrollRunKind
    from servicepulse.streams.payroll.rules import URGENT_PAYMENT, evaluate_run, rule_by_id, urgent_payments
    from servicepulse.streams.readback.payroll_checks import closed_runs, load_context, save_rerun, urgent_runs

    settings = settings_and_logging()
    key = settings.payroll.key()
    first, last = _date(start), _date(end)
    if last < first:
        fail("--to is before --from")
    overrides = dict(_param(p) for p in param)
    if version is not None:
        overrides["version"] = version
    try:
        chosen = rule_by_id(rule, **overrides)
    except KeyError as exc:
        fail(str(exc.args[0]))
    except TypeError as exc:
        fail(f"bad --param for {rule}: {exc}")
    params = chosen.params() | {"version": chosen.version}
    rerun_id = stable_id("rerun", rule, orjson.dumps(params, option=orjson.OPT_SORT_KEYS).decode(), first, last)
    client = connect(settings.clickhouse)
    runs = closed_runs(client, first, last)
    found = []
    if chosen.rule_id == URGENT_PAYMENT.rule_id:
        groups = {(r.customer, r.period): r for r in runs if r.kind is PayrollRunKind.urgent}
        summaries = [s for r in groups.values() for s in urgent_runs(client, r)]
        found = urgent_payments(summaries, chosen)
    else:
        for run in runs:
            if run.kind is PayrollRunKind.main or rule != "payroll.pay_change":
                found.extend(evaluate_run(load_context(client, run, key), [chosen]))
    save_rerun(client, rerun_id, orjson.dumps(params, option=orjson.OPT_SORT_KEYS).decode(), found)
    production = {str(r[0]) for r in client.query(
        "SELECT finding_id FROM findings FINAL WHERE rule_id = {r:String}"
        " AND toDate(occurred_at) BETWEEN {a:Date} AND {b:Date}",
        parameters={"r": rule, "a": first, "b": last}).result_rows}
    replayed = {f.finding_id for f in found}
    report = {"rerun_id": rerun_id, "rule_id": rule, "parameters": params, "from": first.isoformat(),
              "to": last.isoformat(), "runs": len(runs), "findings_rerun": len(replayed),
              "findings_production": len(production), "only_in_rerun": len(replayed - production),
              "only_in_production": len(production - replayed), "in_both": len(replayed & production)}
    if fmt == "json":
        typer.echo(orjson.dumps(report).decode())
        return
    for name, value in report.items():
        console.print(f"{name:>20}: {value}")
    console.print(f"rows: SELECT * FROM findings_rerun FINAL WHERE rerun_id = '{rerun_id}'")


def plant(
    out: Path = typer.Option(..., "--out", file_okay=False, help="Folder for the PAXml files and ground truth"),
    seed: int = typer.Option(1, "--seed"),
    employees: int = typer.Option(2_000, "--employees"),
    load: bool = typer.Option(True, "--load/--no-load", help="Load people and ingest the files (needs a worker)"),
    timeout: float = typer.Option(300.0, "--timeout", help="Seconds to wait for each ingest to be queryable"),
) -> None:
    """Writes people files (old accounts, a change 200 days back, today's), the previous and current main run,
    the urgent runs and ground-truth.json; with --load, loads and ingests them in that order."""
    import orjson

    from servicepulse.simulator.paxml_writer import paxml_people, paxml_run
    from servicepulse.simulator.payroll_planted import planted_main_run, previous_run_lines
    from servicepulse.streams.payroll.people import pseudonym

    from .ingest import ingest

    key = settings_and_logging().payroll.key()
    planted = planted_main_run(seed=seed, employees=employees)
    header = planted.header
    company, pay_date = header.customer, header.pay_date
    out.mkdir(parents=True, exist_ok=True)
    people_list = list(planted.people.values())
    early = [p for p in people_list if p.bank_changed_on and (pay_date - p.bank_changed_on).days > 100]
    steps = [("people-0.paxml", paxml_people(people_list, company, previous_accounts=True),
              pay_date - timedelta(days=400)),
             ("people-1.paxml", paxml_people(early, company),
              (early[0].bank_changed_on or pay_date) if early else pay_date),
             ("people-2.paxml", paxml_people(people_list, company), pay_date - timedelta(days=12))]
    for name, data, _ in steps:
        (out / name).write_bytes(data)
    (out / "protected.csv").write_text("anstid\n" + "".join(f"{a}\n" for a in planted.protected_ids))
    prev_period = (pay_date.replace(day=1) - timedelta(days=1)).strftime("%Y%m")
    (out / "previous.paxml").write_bytes(paxml_run(previous_run_lines(planted), company, prev_period,
                                                   pay_date - timedelta(days=31)))
    (out / "current.paxml").write_bytes(paxml_run(planted.lines, company, header.period.replace("-", ""), pay_date))
    urgent = []
    for i, (run, lines) in enumerate(planted.urgent_runs):
        path = out / f"urgent-{i}.paxml"
        path.write_bytes(paxml_run(lines, run.customer, f"{run.period.replace('-', '')}-A{i}", run.pay_date))
        urgent.append(path)
    truth = {
        "run_id": f"{company}-{header.period}-main", "seed": seed, "employees": employees,
        # Pseudonyms, never personal data: the ground truth is as shareable as the findings.
        "aliases": {pseudonym(a, key): a for a in planted.protected_ids},
        "planted": [{"rule_id": p.rule_id, "subjects": list(p.subjects), "note": p.note} for p in planted.planted],
    }
    (out / "ground-truth.json").write_bytes(orjson.dumps(truth, option=orjson.OPT_INDENT_2))
    console.print(f"{len(planted.lines)} lines, {len(planted.planted)} planted deviations written to {out}")
    if not load:
        return
    for name, _, day in steps:
        people(files=[out / name], protected=out / "protected.csv", changed_on=day.isoformat())
    for files in ([out / "previous.paxml"], urgent, [out / "current.paxml"]):
        ingest(fmt="paxml", files=files, wait=True, timeout=timeout, protected=out / "protected.csv")
    console.print(f"then: servicepulse controls score {out / 'ground-truth.json'}")


def score(
    truth_file: Path = typer.Argument(..., exists=True, dir_okay=False, help="ground-truth.json from `plant`"),
    fmt: str = typer.Option("table", "--format", help="table | json"),
    wait: float = typer.Option(0.0, "--wait", help="Seconds to wait for the run to be checked"),
) -> None:
    import time

    import orjson

    from servicepulse.connectors.clickhouse import connect
    from servicepulse.streams.readback.payroll_checks import check_status

    settings = settings_and_logging()
    truth = orjson.loads(truth_file.read_bytes())
    client = connect(settings.clickhouse)
    run_id = truth["run_id"]
    deadline = time.monotonic() + wait
    while True:
        # The check row comes before its findings are stored (worker -> Kafka -> sink): wait for both, or a
        # score read in between would count a partial set of findings.
        checked, announced, stored = check_status(client, run_id)
        if (checked and stored >= announced) or time.monotonic() >= deadline:
            break
        time.sleep(0.5)
    if not checked:
        fail(f"run {run_id} has not been checked yet (is a worker running?)")
    if stored < announced:
        console.print(f"[yellow]only {stored} of the {announced} findings of the run's check are stored yet: "
                      "the score may be partial (wait longer with --wait)[/]")
    rows = client.query("SELECT rule_id, subject_type, subject_id, evidence_json FROM findings FINAL"
                        " WHERE rule_id LIKE 'payroll.%'").result_rows
    aliases = truth["aliases"]
    found = set()
    for rule_id, subject_type, subject_id, doc in rows:
        evidence = orjson.loads(doc)
        if rule_id != "payroll.urgent_payment" and evidence.get("run_id") != run_id:
            continue
        if subject_type == "bank_account":
            subjects = tuple(sorted(aliases.get(s, s) for s in evidence["employees"]))
        else:
            subjects = (aliases.get(subject_id, subject_id),)
        found.add((rule_id, subjects))
    planted = {(p["rule_id"], tuple(p["subjects"])) for p in truth["planted"]}
    hits = len(found & planted)
    report = {"run_id": run_id, "planted": len(planted), "findings": len(found), "true_positives": hits,
              "precision": hits / max(1, len(found)), "recall": hits / max(1, len(planted)),
              "missed": sorted(planted - found), "unexpected": sorted(found - planted)}
    if fmt == "json":
        typer.echo(orjson.dumps(report).decode())
    else:
        console.print(f"run {run_id}: {len(planted)} planted, {len(found)} findings, precision "
                      f"{report['precision']:.0%}, recall {report['recall']:.0%}")
        for rule_id, subjects in report["missed"]:
            console.print(f"[red]missed[/] {rule_id} {', '.join(subjects)}")
        for rule_id, subjects in report["unexpected"]:
            console.print(f"[yellow]unexpected[/] {rule_id} {', '.join(subjects)}")
    if report["missed"] or report["unexpected"]:
        raise typer.Exit(1)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"{text!r} is not a date (YYYY-MM-DD)")


def _param(text: str) -> tuple[str, object]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        fail(f"--param {text!r} is not NAME=VALUE")
    try:
        return name.strip(), int(value)
    except ValueError:
        return name.strip(), frozenset(v.strip() for v in value.split(",")) if "," in value else value.strip()
