"""`migrate`, `topics`, `schemas` and `store`: set-up commands."""

from __future__ import annotations

from pathlib import Path

import typer

from .common import console, fail, settings_and_logging

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    app.command(help="Apply the numbered SQL migrations to ClickHouse.")(migrate)
    app.command(help="Create the topics (partitions from KAFKA__PARTITIONS).")(topics)
    app.command(help="Load the staffing table (month,unit,role,fte) used for productivity per FTE.")(staffing)
    schemas = typer.Typer(help="Avro schemas generated from the pydantic models.", no_args_is_help=True)
    schemas.command("sync", help="Regenerate schemas/*.avsc and give changed schemas a new registry id.")(
        schemas_sync
    )
    schemas.command("check", help="Exit non-zero when the .avsc files or registry lag the models.")(
        schemas_check
    )
    app.add_typer(schemas, name="schemas")
    store = typer.Typer(help="The embedded ClickHouse (chdb) store.", no_args_is_help=True)
    store.command("serve", help="Serve a chdb data directory over ClickHouse's HTTP protocol.")(store_serve)
    app.add_typer(store, name="store")


def migrate(
    cluster: str | None = typer.Option(
        None, help="Cluster name (e.g. '{cluster}', the server macro): apply the cluster form of the migrations, "
        "ON CLUSTER with Replicated engines, instead of the single-server one"),
    print_only: bool = typer.Option(False, "--print", help="With --cluster: print the statements, apply nothing"),
) -> None:
    from servicepulse.connectors.clickhouse import migrate as run_migrations

    if print_only and cluster is None:
        fail("--print needs --cluster NAME")
    if cluster is not None:
        _migrate_cluster(cluster, print_only)
        return
    settings = settings_and_logging()
    try:
        applied = run_migrations(settings.clickhouse, parameters=settings.parameters())
    except Exception as exc:
        fail(f"migration failed: {exc}")
    console.print(f"applied: {', '.join(applied) if applied else 'nothing new'}")


def _migrate_cluster(cluster: str, print_only: bool) -> None:
    from servicepulse.connectors.cluster_migrations import (
        apply_cluster_migrations,
        cluster_migrations,
        cluster_preamble,
    )

    settings = settings_and_logging()
    if print_only:
        lines = [f"{s};" for s in cluster_preamble(settings.clickhouse.database, cluster)]
        for migration in cluster_migrations(cluster):
            lines.append(f"-- {migration.name}")
            lines.extend(f"{s};" for s in migration.statements)
        typer.echo("\n\n".join(lines))
        return
    try:
        applied = apply_cluster_migrations(settings.clickhouse, cluster, parameters=settings.parameters())
    except Exception as exc:
        fail(f"cluster migration failed: {exc}")
    console.print(f"applied on cluster {cluster}: {', '.join(applied) if applied else 'nothing new'}")


def topics() -> None:
    from servicepulse.connectors.kafka import ensure_topics

    settings = settings_and_logging()
    created = ensure_topics(settings.kafka)
    console.print(f"created: {', '.join(created) if created else 'nothing new'}")


def staffing(
    files: list[Path] = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="CSV files"),
) -> None:
    from servicepulse.connectors.clickhouse import connect
    from servicepulse.connectors.ingest import ParseError
    from servicepulse.connectors.ingest.staffing_csv import StaffingRow, load, parse

    settings = settings_and_logging()
    client = connect(settings.clickhouse)
    bad = 0
    for path in files:
        with path.open("rb") as handle:
            items = list(parse(handle))
        rows = [r for r in items if isinstance(r, StaffingRow)]
        for error in (e for e in items if isinstance(e, ParseError)):
            console.print(f"[red]{path.name}:{error.line}[/]: {error.reason}")
            bad += 1
        console.print(f"{path.name}: {load(client, rows, source=path.name)} rows loaded into staffing_fte")
    if bad:
        fail(f"{bad} bad line(s) not loaded", code=2)


def schemas_sync() -> None:
    from servicepulse.connectors.serde import sync_file_registry
    from servicepulse.schemas.avro import write_avsc_files

    written = write_avsc_files()
    added = sync_file_registry()
    console.print(f"wrote {len(written)} .avsc files; new registry ids for: {', '.join(added) or 'none'}")


def schemas_check() -> None:
    import json

    from servicepulse.connectors.serde import DEFAULT_REGISTRY_FILE, FileRegistry
    from servicepulse.schemas.avro import SCHEMA_DIR, avro_file_name, avro_schema
    from servicepulse.schemas.events import EVENT_MODELS

    registry = FileRegistry(DEFAULT_REGISTRY_FILE)
    stale = []
    for model in EVENT_MODELS:
        schema = avro_schema(model)
        on_disk = json.loads((SCHEMA_DIR / avro_file_name(model)).read_text(encoding="utf-8"))
        if on_disk != schema or registry.schema_for(registry.id_for(model)) != schema:
            stale.append(model.schema_name)
    if stale:
        fail(f"schemas out of date: {', '.join(stale)}; run `servicepulse schemas sync`")
    console.print("schemas match the models")


def store_serve(
    data_dir: Path | None = typer.Option(None, help="Data directory (default CLICKHOUSE__DATA_DIR)"),
    port: int | None = typer.Option(None, help="Port (default CLICKHOUSE__EMBEDDED_PORT)"),
) -> None:
    from servicepulse.devstack import store_server

    settings = settings_and_logging()
    store_server.main(
        [
            "--data-dir", str(data_dir or settings.clickhouse.data_dir),
            "--port", str(port if port is not None else settings.clickhouse.embedded_port),
        ]
    )
