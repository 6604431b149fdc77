"""The ClickHouse cluster variant of the migrations: the same files, each statement ON CLUSTER, engines Replicated.

The numbered files in `migrations/` stay the one source; `cluster_statement` turns one statement into its cluster
form, and `cluster_migrations` does it to every file, so a new migration needs no second copy. The layout it
targets is one shard with N replicas (docs/architecture.md, "ClickHouse replicas"): every replica holds every row,
so the views (FINAL, joins) read the same as on one server and no Distributed table is generated.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace

from clickhouse_connect.driver.client import Client

from servicepulse.config import ClickHouseSettings
from servicepulse.domain.parameters import Parameters, default_parameters

from .clickhouse import Migration, connect, load_migrations, write_reference_tables

__all__ = [
    "DEFAULT_CLUSTER",
    "REPLICA_PATH",
    "apply_cluster_migrations",
    "cluster_migrations",
    "cluster_preamble",
    "cluster_statement",
]

# `{cluster}`, `{shard}` and `{replica}` are server macros (config.d), expanded by each replica; `{database}` and
# `{table}` are filled in by the server at CREATE time, so one path template serves every table.
DEFAULT_CLUSTER = "{cluster}"
REPLICA_PATH = "/clickhouse/tables/{shard}/{database}/{table}"

_PART = r"(?:`[^`]+`|[A-Za-z_]\w*)"
_NAME = rf"{_PART}(?:\.{_PART})?"
_CREATE = re.compile(
    rf"^(?P<head>\s*CREATE\s+(?:TABLE|VIEW|MATERIALIZED\s+VIEW)\s+(?:IF\s+NOT\s+EXISTS\s+)?{_NAME})(?=[\s(]|$)",
    re.IGNORECASE,
)
_ALTER_DROP = re.compile(
    rf"^(?P<head>\s*(?:ALTER\s+TABLE|DROP\s+(?:TABLE|VIEW)(?:\s+IF\s+EXISTS)?)\s+{_NAME})(?=\s|$)", re.IGNORECASE
)
_IS_TABLE = re.compile(r"^\s*CREATE\s+TABLE\b", re.IGNORECASE)
# The MergeTree family with its optional argument list (no nested parentheses in these engines' arguments).
_ENGINE = re.compile(
    r"\bENGINE\s*=\s*(?P<family>(?:Replacing|Aggregating|Summing|Collapsing|VersionedCollapsing)?MergeTree)\b"
    r"(?:\s*\((?P<args>[^()]*)\))?",
)
_AS = re.compile(r"\bAS\b", re.IGNORECASE)
_ON_CLUSTER = re.compile(r"\bON\s+CLUSTER\b", re.IGNORECASE)
_NON_REPLICATED_WINDOW = re.compile(r"\bnon_replicated_deduplication_window\b")


def _literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _replicated_engine(match: re.Match[str]) -> str:
    args = [REPLICA_PATH, "{replica}"]
    quoted = [_literal(a) for a in args]
    own = (match.group("args") or "").strip()
    return f"ENGINE = Replicated{match.group('family')}({', '.join([*quoted, *([own] if own else [])])})"


def cluster_statement(statement: str, cluster: str = DEFAULT_CLUSTER) -> str:
    """`statement` in its cluster form: ON CLUSTER after the object's name; a MergeTree-family engine becomes its
    Replicated twin (keeper path and replica first, the engine's own arguments after); the non-replicated
    deduplication window becomes the replicated one, same size, so a retried insert is still a no-op.

    Raises ValueError for a statement it does not know how to distribute, or a table with an engine outside the
    MergeTree family: a new kind of migration must be looked at, not passed through unreplicated.
    """
    if _ON_CLUSTER.search(statement):
        raise ValueError(f"statement already names a cluster: {statement[:80]!r}")
    on = f" ON CLUSTER {_literal(cluster)}"
    create = _CREATE.match(statement)
    if create is not None:
        out = statement[: create.end()] + on + statement[create.end():]
        if _IS_TABLE.match(statement):
            out, engines = _ENGINE.subn(_replicated_engine, out)
            if engines != 1:
                raise ValueError(f"table without exactly one MergeTree-family engine: {statement[:80]!r}")
            out = _NON_REPLICATED_WINDOW.sub("replicated_deduplication_window", out)
        elif _ENGINE.search(_AS.split(statement, maxsplit=1)[0]):
            # A materialized view with an inner table: replicate that table too.
            out, _ = _ENGINE.subn(_replicated_engine, out, count=1)
        return out
    other = _ALTER_DROP.match(statement)
    if other is not None:
        return statement[: other.end()] + on + statement[other.end():]
    raise ValueError(f"no cluster form for this statement: {statement[:80]!r}")


def cluster_migrations(cluster: str = DEFAULT_CLUSTER, migrations: list[Migration] | None = None) -> list[Migration]:
    """Every migration (default: the shipped files) with each statement in its cluster form.

    The checksum is of the cluster form, so `schema_migrations` on a cluster tells a changed file as on one server.
    """
    out = []
    for migration in migrations if migrations is not None else load_migrations():
        statements = tuple(cluster_statement(s, cluster) for s in migration.statements)
        checksum = hashlib.sha256(";\n".join(statements).encode()).hexdigest()[:16]
        out.append(replace(migration, statements=statements, checksum=checksum))
    return out


def cluster_preamble(database: str, cluster: str = DEFAULT_CLUSTER) -> list[str]:
    """The database and the migrations ledger, created on every replica before the numbered files."""
    return [
        f"CREATE DATABASE IF NOT EXISTS `{database}` ON CLUSTER {_literal(cluster)}",
        cluster_statement(
            f"CREATE TABLE IF NOT EXISTS `{database}`.schema_migrations (version Int32, name String, checksum String,"
            " applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) ENGINE = ReplacingMergeTree ORDER BY version",
            cluster,
        ),
    ]


def apply_cluster_migrations(
    settings: ClickHouseSettings, cluster: str, parameters: Parameters | None = None, client: Client | None = None,
) -> list[str]:
    """Apply the cluster form of the migrations not yet applied, through one replica; ON CLUSTER carries the DDL to
    every replica (distributed DDL queue in Keeper) and replication carries the reference rows. Returns the names
    of the files applied now. Not run in the tests: Replicated engines need Keeper and a cluster definition."""
    db = settings.database
    admin = connect(settings, database="default")
    for statement in cluster_preamble(db, cluster):
        admin.command(statement)
    # The reference tables are rewritten on purpose (TRUNCATE, then the rows): a Replicated table deduplicates
    # every insert by default, and rows equal to an earlier version's would be dropped as a repeat.
    if client is None:
        client = connect(settings, database=db)
        client.set_client_setting("insert_deduplicate", "0")
    rows = client.query("SELECT version FROM schema_migrations FINAL").result_rows
    applied = {int(version) for (version,) in rows}
    done = []
    for migration in cluster_migrations(cluster):
        if migration.version in applied:
            continue
        for statement in migration.statements:
            client.command(statement)
        client.insert("schema_migrations", [[migration.version, migration.name, migration.checksum]],
                      column_names=["version", "name", "checksum"])
        done.append(migration.name)
    write_reference_tables(client, parameters or default_parameters())
    return done
