"""Seconds per `migrate` into a fresh database, against copying one migrated template database.

    python benchmarks/migrate.py [--rounds 8]

Every integration test migrates a database of its own. This measures whether migrating one template per test
session and copying it per test would be faster: the copy recreates every object of the template (tables,
views, materialized views, whatever migrate generated) from `system.tables.create_table_query` with the database
name swapped, and copies the rows of the tables that have any (seed parameters, `schema_migrations`). Uses
CLICKHOUSE_URL when set, else starts the embedded store. Figures are printed, never asserted: this machine is
shared and noisy.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import structlog

from servicepulse.config import load_settings
from servicepulse.connectors.clickhouse import connect, migrate
from servicepulse.devstack.stack import embedded_stack


def copy_database(client: Any, template: str, target: str) -> int:
    """Recreate every object of `template` in `target` and copy the rows; returns the statements sent."""
    rows = client.query(
        "SELECT name, create_table_query, total_rows FROM system.tables WHERE database = {db:String}"
        " ORDER BY metadata_modification_time, name",
        parameters={"db": template},
    ).result_rows
    client.command(f"CREATE DATABASE `{target}`")
    statements = 1
    # Views may read views created later in the same second: retry what failed until a round makes no progress.
    pending = [(name, query.replace(f"{template}.", f"{target}."), count) for name, query, count in rows]
    while pending:
        left = []
        for name, query, count in pending:
            try:
                client.command(query)
            except Exception:
                left.append((name, query, count))
                continue
            statements += 1
            if count:
                client.command(f"INSERT INTO `{target}`.`{name}` SELECT * FROM `{template}`.`{name}`")
                statements += 1
        if len(left) == len(pending):
            raise RuntimeError(f"cannot recreate {[name for name, _, _ in left]} from {template}")
        pending = left
    return statements


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        if "CLICKHOUSE_URL" not in os.environ:
            os.environ["CLICKHOUSE_URL"] = stack.enter_context(embedded_stack(Path(tmp))).clickhouse_url
        settings = load_settings().clickhouse
        template = "bench_template_" + uuid.uuid4().hex[:8]
        migrate(settings, database=template)
        client = connect(settings, database="default")
        objects = client.command(f"SELECT count() FROM system.tables WHERE database = '{template}'")
        migrated, copied, created = [], [], []
        for _ in range(args.rounds):
            fresh, copy = "bench_m_" + uuid.uuid4().hex[:8], "bench_c_" + uuid.uuid4().hex[:8]
            start = time.perf_counter()
            migrate(settings, database=fresh)
            migrated.append(time.perf_counter() - start)
            start = time.perf_counter()
            statements = copy_database(client, template, copy)
            copied.append(time.perf_counter() - start)
            created += [fresh, copy]
        for database in [template, *created]:
            client.command(f"DROP DATABASE IF EXISTS `{database}`")
    print(f"{objects} tables and views; {args.rounds} rounds")
    for label, seconds in (("migrate", migrated), ("template copy", copied)):
        print(f"{label:>13}: median {statistics.median(seconds):.2f} s, min {min(seconds):.2f}, max {max(seconds):.2f}")
    print(f"the copy sends {statements} statements")


if __name__ == "__main__":
    main()
