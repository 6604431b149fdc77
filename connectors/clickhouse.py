"""ClickHouse access: one client factory for the embedded store and a real server, migrations, inserts."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any
from urllib.parse import unquote, urlparse

import clickhouse_connect
import structlog
from clickhouse_connect.driver.client import Client

from servicepulse.config import ClickHouseSettings
from servicepulse.domain.calendar import non_working_days
from servicepulse.domain.parameters import Parameters, default_parameters
from servicepulse.domain.zone import STOCKHOLM

__all__ = [
    "Migration",
    "ThreadClients",
    "connect",
    "dedup_token",
    "insert_rows",
    "load_migrations",
    "migrate",
    "read_watermarks",
    "wait_for_clickhouse",
    "write_reference_tables",
]

# The calendar table covers 2000 (older data is not expected) up to this many years after the current one;
# every migrate recomputes the range, so it never runs out.
CALENDAR_FIRST_YEAR = 2000
CALENDAR_YEARS_AHEAD = 5

log = structlog.get_logger(__name__)


def connect(settings: ClickHouseSettings, database: str | None = None, **kwargs: Any) -> Client:
    """A clickhouse-connect HTTP client; the embedded store and a server differ only by URL."""
    url = urlparse(settings.url_or_embedded())
    secure = url.scheme == "https"
    password = unquote(url.password) if url.password else None
    if password is None and settings.password is not None:
        password = settings.password.get_secret_value()
    host = url.hostname or "127.0.0.1"
    return clickhouse_connect.get_client(
        host=host,
        port=url.port or (8443 if secure else 8123),
        username=unquote(url.username) if url.username else "default",
        password=password or "",
        secure=secure,
        database=database if database is not None else settings.database,
        # Compression costs CPU for nothing on loopback; a remote server gets lz4.
        compress=not host.startswith("127.") and host != "localhost",
        # Sessions serialise queries server-side; the sink and CLI never need session state.
        autogenerate_session_id=False,
        **kwargs,
    )


class ThreadClients:
    """One client per thread, opened on first use: agents run ClickHouse calls in executor threads, and a
    client is opened lazily there, never at import time."""

    def __init__(self, settings: ClickHouseSettings) -> None:
        self._settings = settings
        self._local = threading.local()

    def get(self) -> Client:
        client: Client | None = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = connect(self._settings)
        return client


def wait_for_clickhouse(settings: ClickHouseSettings, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            connect(settings, database="default").command("SELECT 1")
            return
        except Exception as exc:
            if time.monotonic() > deadline:
                raise TimeoutError(f"ClickHouse at {settings.url_or_embedded()} not reachable: {exc}") from exc
            time.sleep(0.2)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]
    checksum: str


def _split(sql: str) -> list[str]:
    lines = [line for line in sql.splitlines() if not line.lstrip().startswith("--")]
    return [stmt.strip() for stmt in "\n".join(lines).split(";") if stmt.strip()]


def load_migrations() -> list[Migration]:
    folder = resources.files("servicepulse.connectors").joinpath("migrations")
    found = []
    for entry in folder.iterdir():
        if not entry.name.endswith(".sql"):
            continue
        text = entry.read_text(encoding="utf-8")
        version = int(entry.name.split("_", 1)[0])
        checksum = hashlib.sha256(text.encode()).hexdigest()[:16]
        found.append(Migration(version, entry.name, tuple(_split(text)), checksum))
    return sorted(found, key=lambda m: m.version)


def migrate(settings: ClickHouseSettings, database: str | None = None,
            parameters: Parameters | None = None) -> list[str]:
    """Apply the numbered SQL files not yet applied, then write the reference tables (calendar, targets) from the
    domain calendar and `parameters` (default: the parameters file); returns the names of the files applied now."""
    db = database or settings.database
    connect(settings, database="default").command(f"CREATE DATABASE IF NOT EXISTS `{db}`")
    client = connect(settings, database=db)
    client.command(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version Int32, name String, checksum String,"
        " applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) ENGINE = MergeTree ORDER BY version"
    )
    rows = client.query("SELECT version, checksum FROM schema_migrations").result_rows
    applied = {int(version): checksum for version, checksum in rows}
    done = []
    for migration in load_migrations():
        if migration.version in applied:
            if applied[migration.version] != migration.checksum:
                log.warning("migration changed after it was applied", migration=migration.name)
            continue
        for statement in migration.statements:
            client.command(statement)
        client.insert(
            "schema_migrations",
            [[migration.version, migration.name, migration.checksum]],
            column_names=["version", "name", "checksum"],
        )
        done.append(migration.name)
        log.info("migration applied", migration=migration.name, database=db)
    write_reference_tables(client, parameters or default_parameters())
    return done


def _replace_rows(client: Client, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> bool:
    """Make `table` hold exactly `rows` (compared on `columns`); rewritten only when it differs, so a repeated
    migrate changes nothing. Returns whether it was rewritten."""
    current = sorted(tuple(r) for r in client.query(f"SELECT {', '.join(columns)} FROM {table} FINAL").result_rows)
    if current == sorted(rows):
        return False
    client.command(f"TRUNCATE TABLE {table}")
    if rows:
        client.insert(table, rows, column_names=list(columns))
    log.info("reference table written", table=table, rows=len(rows))
    return True


def write_reference_tables(client: Client, parameters: Parameters, today: datetime | None = None) -> None:
    """The tables the views and dashboards read instead of typing values into SQL: Swedish non-working days
    from the domain calendar, and SLA targets, office hours, the acknowledgement limit and case lead times from
    the parameters file(s)."""
    year = (today or datetime.now(STOCKHOLM)).year
    _replace_rows(client, "non_working_days", ("day", "name"),
                  [(day, name) for day, name in non_working_days(CALENDAR_FIRST_YEAR, year + CALENDAR_YEARS_AHEAD)])
    targets = [("*", parameters.sla_default), *sorted(parameters.sla_queues.items())]
    _replace_rows(client, "sla_queue_targets",
                  ("queue", "threshold_s", "service_level_target", "fcr_target", "short_abandon_s"),
                  [(q, t.threshold_s, t.service_level, t.fcr, t.short_abandon_s) for q, t in targets])
    opens, closes = parameters.office_opens, parameters.office_closes
    _replace_rows(client, "sla_settings", ("opens_minute", "closes_minute", "ack_office_hours"),
                  [(opens.hour * 60 + opens.minute, closes.hour * 60 + closes.minute, parameters.ack_office_hours)])
    _replace_rows(client, "case_lead_time_limits", ("case_type", "limit_days"),
                  sorted((case_type, int(days)) for case_type, days in parameters.case_limits.items()))


def dedup_token(table: str, ranges: Sequence[tuple[str, int, int, int]]) -> str:
    """Same table and same (topic, partition, first, last) ranges give the same token, so a retry is a no-op."""
    text = table + "|" + "|".join(f"{t}:{p}:{a}-{b}" for t, p, a, b in sorted(ranges))
    return hashlib.sha256(text.encode()).hexdigest()


def insert_rows(
    client: Client,
    table: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    token: str,
    retries: int = 5,
) -> None:
    """One insert with bounded retries; the token makes a retry of an applied insert harmless."""
    attempt = 0
    while True:
        try:
            client.insert(table, rows, column_names=list(columns), settings={"insert_deduplication_token": token})
            return
        except Exception as exc:
            attempt += 1
            if attempt > retries:
                raise
            delay = min(0.2 * 2**attempt, 5.0)
            log.warning("insert failed, retrying", table=table, attempt=attempt, delay_s=delay, error=str(exc))
            time.sleep(delay)


def read_watermarks(client: Client, table: str) -> dict[tuple[str, int], int]:
    """Highest stored offset per (topic, partition) for one raw table."""
    result = client.query(
        "SELECT topic, partition, max(max_offset) FROM sink_watermarks WHERE table_name = {t:String}"
        " GROUP BY topic, partition",
        parameters={"t": table},
    )
    return {(str(t), int(p)): int(o) for t, p, o in result.result_rows}
