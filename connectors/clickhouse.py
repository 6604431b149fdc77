"""ClickHouse access: one client factory for the embedded store and a real server, migrations, inserts."""

from __future__ import annotations

import hashlib
import json
import re
import struct
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from importlib import resources
from typing import Any
from urllib.parse import unquote, urlparse

import clickhouse_connect
import structlog
from clickhouse_connect.datatypes.base import ClickHouseType
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import DataError

from servicepulse.config import ClickHouseSettings
from servicepulse.domain.calendar import non_working_days
from servicepulse.domain.parameters import Parameters, default_parameters
from servicepulse.domain.zone import STOCKHOLM

__all__ = [
    "InsertFailure",
    "Migration",
    "ThreadClients",
    "classify_insert_error",
    "connect",
    "dedup_token",
    "insert_rows",
    "load_migrations",
    "migrate",
    "read_watermarks",
    "refusal_reason",
    "scalar_int",
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
        # Finite, so a frozen store fails a call (a transient error, retried) instead of holding a thread forever.
        connect_timeout=kwargs.pop("connect_timeout", settings.connect_timeout_s),
        send_receive_timeout=kwargs.pop("send_receive_timeout", settings.send_receive_timeout_s),
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
    _replace_rows(client, "business_targets", ("name", "value", "unit", "description", "source"),
                  sorted((t.name, float(t.value), t.unit, t.description, t.source)
                         for t in parameters.targets.values()))
    _replace_rows(client, "finance_suspense_accounts", ("account", "role", "note"),
                  sorted((account, role, note) for account, (role, note) in parameters.suspense_accounts.items()))
    _replace_rows(client, "review_causes", ("code", "version", "label_sv", "label_en"),
                  sorted((code, parameters.review_causes_version, sv, en)
                         for code, (sv, en) in parameters.review_causes.items()))
    _replace_rows(client, "rule_versions_in_force", ("rule_id", "version", "parameters_json"),
                  sorted((r.rule_id, r.version, json.dumps({p.name: p.plain() for p in r.parameters}, sort_keys=True,
                                                           ensure_ascii=False, default=str))
                         for r in parameters.rules.values()))


def dedup_token(table: str, ranges: Sequence[tuple[str, int, int, int]]) -> str:
    """Same table and same (topic, partition, first, last) ranges give the same token, so a retry is a no-op."""
    text = table + "|" + "|".join(f"{t}:{p}:{a}-{b}" for t, p, a, b in sorted(ranges))
    return hashlib.sha256(text.encode()).hexdigest()


class InsertFailure(StrEnum):
    """What a failed insert means for the rows in it."""

    transient = "transient"  # the store is unreachable, slow or busy: the same insert can succeed later
    refused = "refused"  # the store refuses these rows for their content: retrying never helps, splitting does
    setup = "setup"  # the store refuses every insert (missing table, no rights): no row is to blame


# Server error codes that depend on the values inserted (ClickHouse src/Common/ErrorCodes.cpp).
_REFUSED_CODES = frozenset({
    6,  # CANNOT_PARSE_TEXT
    26,  # CANNOT_PARSE_QUOTED_STRING
    27,  # CANNOT_PARSE_INPUT_ASSERTION_FAILED
    36,  # BAD_ARGUMENTS
    38,  # CANNOT_PARSE_DATE
    41,  # CANNOT_PARSE_DATETIME
    43,  # ILLEGAL_TYPE_OF_ARGUMENT
    53,  # TYPE_MISMATCH
    62,  # SYNTAX_ERROR
    69,  # ARGUMENT_OUT_OF_BOUND
    70,  # CANNOT_CONVERT_TYPE
    72,  # CANNOT_PARSE_NUMBER
    117,  # INCORRECT_DATA
    128,  # TOO_LARGE_ARRAY_SIZE
    131,  # TOO_LARGE_STRING_SIZE
    190,  # SIZES_OF_ARRAYS_DONT_MATCH
    321,  # VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
    407,  # DECIMAL_OVERFLOW
    469,  # VIOLATED_CONSTRAINT
})
# Codes that say the store or the schema is wrong for every row: splitting would dead-letter all of them.
_SETUP_CODES = frozenset({
    8,  # THERE_IS_NO_COLUMN
    10,  # NOT_FOUND_COLUMN_IN_BLOCK
    16,  # NO_SUCH_COLUMN_IN_TABLE
    20,  # NUMBER_OF_COLUMNS_DOESNT_MATCH
    47,  # UNKNOWN_IDENTIFIER
    60,  # UNKNOWN_TABLE
    81,  # UNKNOWN_DATABASE
    164,  # READONLY
    497,  # ACCESS_DENIED
    516,  # AUTHENTICATION_FAILED
})
# Everything else with a code (159 TIMEOUT_EXCEEDED, 202/203 too many queries/connections, 209/210 socket and
# network, 241 memory, 242 read-only replica, 252 too many parts, 319, 394, 999, 1000 ...) is transient: an
# unknown code is retried rather than turned into dead letters.

_CODE = re.compile(r"\bcode:?\s*(\d+)", re.IGNORECASE)


def _error_code(exc: BaseException) -> int | None:
    code = getattr(exc, "code", None)
    if isinstance(code, int):
        return code
    found = _CODE.search(str(exc))
    return int(found.group(1)) if found else None


def classify_insert_error(exc: BaseException) -> InsertFailure:
    """Transient, refused for the rows' content, or a setup error; pure, from the exception alone."""
    code = _error_code(exc)
    if code is not None:
        if code in _REFUSED_CODES:
            return InsertFailure.refused
        if code in _SETUP_CODES:
            return InsertFailure.setup
        return InsertFailure.transient
    # No server code: the client could not serialise a value (a date before 1970 into Date, an int beyond
    # Int64); clickhouse-connect raises DataError, or the bare conversion error escapes.
    if isinstance(exc, DataError | struct.error | OverflowError | TypeError | ValueError | UnicodeError):
        return InsertFailure.refused
    return InsertFailure.transient  # connection refused or reset, timeouts, HTTP errors


_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
_LONG_NUMBER = re.compile(r"\d[\d\- ]{5,}\d")
_TRAILERS = re.compile(r"\s*\((?:version [^)]*|for url [^)]*)\)|\s*Stack trace.*$", re.S)
_COLUMN_VALUES = re.compile(r"(Column values|Values|Row \d+):.*?(?=\.\s|$)", re.S)


def refusal_reason(exc: BaseException, limit: int = 500) -> str:
    """The store's message for a refused row, without the values: quoted literals and long numbers (which may
    be personnummer or names) are masked, server trailers dropped, the cause of a client-side error kept."""
    text = str(exc)
    cause = exc.__cause__
    if cause is not None and str(cause) and str(cause) not in text:
        text += f" ({type(cause).__name__}: {cause})"
    text = text.replace("Received ClickHouse exception, ", "").replace("server response: ", "")
    text = _TRAILERS.sub("", text)
    text = _COLUMN_VALUES.sub(r"\1: <values>", text)
    text = _QUOTED.sub("<value>", text)
    text = _LONG_NUMBER.sub("<number>", text)
    text = " ".join(text.split())
    return (text[: limit - 1] + "…") if len(text) > limit else text or type(exc).__name__


def backoff_s(attempt: int, base_s: float = 0.4, cap_s: float = 5.0) -> float:
    """Exponential delay before retry `attempt` (1, 2, ...), capped."""
    return min(base_s * 2.0 ** (attempt - 1), cap_s)


# Column types per client and (table, columns): without them clickhouse-connect asks the store `DESCRIBE TABLE`
# before every insert, a second round trip per batch (measured at 1,000/s on the loaded embedded store: p50 5 ms
# of a 33 ms write, p99 110 ms, max 207 ms). Dropped on any failed insert, so a schema changed under a running
# process costs one failed attempt, retried (or bisected) with the types read again, never a dead letter.
_TYPES: weakref.WeakKeyDictionary[Client, dict[tuple[str, tuple[str, ...]], Sequence[ClickHouseType]]] = (
    weakref.WeakKeyDictionary())
_TYPES_LOCK = threading.Lock()


def _column_types(client: Client, table: str, columns: tuple[str, ...]) -> Sequence[ClickHouseType]:
    with _TYPES_LOCK:
        known = _TYPES.get(client, {}).get((table, columns))
    if known is None:
        known = client.create_insert_context(table, column_names=list(columns)).column_types
        with _TYPES_LOCK:
            _TYPES.setdefault(client, {})[(table, columns)] = known
    return known


def _forget_types(client: Client, table: str, columns: tuple[str, ...]) -> None:
    with _TYPES_LOCK:
        _TYPES.get(client, {}).pop((table, columns), None)


def insert_rows(
    client: Client,
    table: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    token: str,
    retries: int = 5,
    sleep: Callable[[float], None] = time.sleep,
    column_oriented: bool = False,
) -> None:
    """One insert; only transient failures are retried (backing off, bounded), and the token makes a retry of
    an applied insert harmless. A refused or setup failure is raised at once: retrying cannot change it.
    With `column_oriented`, `rows` holds one sequence per column (the sink's form: no per-row transposing in the
    client). The columns' types are read from the store once per client and table, not before every insert."""
    names = tuple(columns)
    attempt = 0
    while True:
        try:
            client.insert(table, rows, column_names=list(names), column_types=_column_types(client, table, names),
                          column_oriented=column_oriented, settings={"insert_deduplication_token": token})
            return
        except Exception as exc:
            _forget_types(client, table, names)
            kind = classify_insert_error(exc)
            attempt += 1
            if kind is not InsertFailure.transient or attempt > retries:
                raise
            delay = backoff_s(attempt)
            log.warning("insert failed, retrying", table=table, attempt=attempt, delay_s=delay,
                        error=refusal_reason(exc))
            sleep(delay)


def read_watermarks(client: Client, table: str) -> dict[tuple[str, int], int]:
    """Highest stored offset per (topic, partition) for one raw table."""
    result = client.query(
        "SELECT topic, partition, max(max_offset) FROM sink_watermarks WHERE table_name = {t:String}"
        " GROUP BY topic, partition",
        parameters={"t": table},
    )
    return {(str(t), int(p)): int(o) for t, p, o in result.result_rows}


def scalar_int(client: Client, sql: str) -> int:
    """The one integer a query such as `SELECT count() ...` returns.

    clickhouse-connect types `command` as str | int | Sequence[str] | QuerySummary (it parses a single value and
    hands back the text otherwise), so the caller's "this is one number" is checked here instead of assumed.
    """
    value = client.command(sql)
    if isinstance(value, int | str):
        return int(value)
    raise TypeError(f"expected one value from {sql!r}, got {value!r}")
