"""The cluster form of the migrations: every file, every statement ON CLUSTER, every table Replicated."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from servicepulse.cli.main import app
from servicepulse.connectors.clickhouse import Migration, load_migrations
from servicepulse.connectors.cluster_migrations import (
    REPLICA_PATH,
    cluster_migrations,
    cluster_preamble,
    cluster_statement,
)

MIGRATIONS = load_migrations()
TABLE = re.compile(r"^\s*CREATE\s+TABLE\b", re.I)
VIEW = re.compile(r"^\s*CREATE\s+(MATERIALIZED\s+)?VIEW\b", re.I)
ALTER = re.compile(r"^\s*ALTER\s+TABLE\b", re.I)  # e.g. ADD COLUMN (0420): ON CLUSTER, no engine
REPLICATED = re.compile(
    r"ENGINE = Replicated(Replacing|Aggregating)?MergeTree\('" + re.escape(REPLICA_PATH) + r"', '\{replica\}'"
)


@pytest.mark.parametrize("migration", MIGRATIONS, ids=[m.name for m in MIGRATIONS])
def test_every_statement_of_every_file_gets_its_cluster_form(migration: Migration) -> None:
    (clustered,) = cluster_migrations("prod", [migration])
    assert len(clustered.statements) == len(migration.statements)
    assert clustered.version == migration.version and clustered.name == migration.name
    for before, after in zip(migration.statements, clustered.statements, strict=True):
        head = after.split("\n", 1)[0]
        assert " ON CLUSTER 'prod'" in head, head
        assert "non_replicated_deduplication_window" not in after
        if TABLE.match(before):
            assert len(REPLICATED.findall(after)) == 1, after
            if "non_replicated_deduplication_window" in before:
                window = re.search(r"non_replicated_deduplication_window = (\d+)", before)
                assert window is not None
                assert f"replicated_deduplication_window = {window.group(1)}" in after
        else:
            assert VIEW.match(before) or ALTER.match(before), before
            assert "Replicated" not in after
        # Apart from the cluster clause, the engine and the window setting, nothing changes.
        core = re.sub(r" ON CLUSTER 'prod'", "", after)
        core = re.sub(r"Replicated(\w*MergeTree)\('[^']*', '\{replica\}'(?:, )?", r"\1(", core)
        core = core.replace("MergeTree()", "MergeTree")
        core = core.replace("replicated_deduplication", "non_replicated_deduplication")
        assert core == before


def test_every_table_of_the_migrations_is_covered() -> None:
    tables = [s for m in MIGRATIONS for s in m.statements if TABLE.match(s)]
    views = [s for m in MIGRATIONS for s in m.statements if VIEW.match(s)]
    alters = [s for m in MIGRATIONS for s in m.statements if ALTER.match(s)]
    assert len(tables) >= 20 and len(views) >= 10
    assert len(tables) + len(views) + len(alters) == sum(len(m.statements) for m in MIGRATIONS)


def test_engine_arguments_follow_the_keeper_path_and_replica() -> None:
    out = cluster_statement("CREATE TABLE t (a Int32, v DateTime) ENGINE = ReplacingMergeTree(v) ORDER BY a", "c")
    assert out == (
        "CREATE TABLE t ON CLUSTER 'c' (a Int32, v DateTime) ENGINE = "
        "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', v) ORDER BY a"
    )
    assert "ReplicatedMergeTree('" in cluster_statement("CREATE TABLE t (a Int8) ENGINE = MergeTree() ORDER BY a")


def test_the_default_cluster_is_the_server_macro() -> None:
    assert cluster_statement("CREATE VIEW IF NOT EXISTS v AS SELECT 1").startswith(
        "CREATE VIEW IF NOT EXISTS v ON CLUSTER '{cluster}' AS"
    )


def test_a_materialized_view_with_an_inner_table_gets_a_replicated_engine() -> None:
    out = cluster_statement("CREATE MATERIALIZED VIEW m ENGINE = SummingMergeTree ORDER BY k AS SELECT 1 AS k", "c")
    assert out.startswith("CREATE MATERIALIZED VIEW m ON CLUSTER 'c' ENGINE = ReplicatedSummingMergeTree('")


def test_alter_and_drop_get_on_cluster() -> None:
    assert cluster_statement("ALTER TABLE db.t ADD COLUMN x Int8", "c") == \
        "ALTER TABLE db.t ON CLUSTER 'c' ADD COLUMN x Int8"
    assert cluster_statement("DROP TABLE IF EXISTS t", "c") == "DROP TABLE IF EXISTS t ON CLUSTER 'c'"


@pytest.mark.parametrize("statement", [
    "INSERT INTO t VALUES (1)",
    "CREATE TABLE t (a Int8) ENGINE = Memory",
    "CREATE TABLE t ON CLUSTER x (a Int8) ENGINE = MergeTree ORDER BY a",
    "OPTIMIZE TABLE t FINAL",
])
def test_statements_without_a_safe_cluster_form_are_refused(statement: str) -> None:
    with pytest.raises(ValueError):
        cluster_statement(statement, "c")


def test_a_quote_in_the_cluster_name_cannot_end_the_literal() -> None:
    assert "ON CLUSTER 'a\\'b'" in cluster_statement("CREATE VIEW v AS SELECT 1", "a'b")


def test_the_preamble_creates_the_database_and_a_replicated_ledger() -> None:
    database, ledger = cluster_preamble("sp", "c")
    assert database == "CREATE DATABASE IF NOT EXISTS `sp` ON CLUSTER 'c'"
    assert "`sp`.schema_migrations ON CLUSTER 'c'" in ledger and "ReplicatedReplacingMergeTree(" in ledger


def test_migrate_cluster_print_writes_every_statement_and_touches_nothing() -> None:
    result = CliRunner().invoke(app, ["migrate", "--cluster", "prod", "--print"])
    assert result.exit_code == 0, result.output
    count = sum(len(m.statements) for m in MIGRATIONS) + 2
    assert result.stdout.count(" ON CLUSTER 'prod'") == count
    for migration in MIGRATIONS:
        assert f"-- {migration.name}" in result.stdout


def test_print_without_a_cluster_is_an_error() -> None:
    result = CliRunner().invoke(app, ["migrate", "--print"])
    assert result.exit_code == 1
