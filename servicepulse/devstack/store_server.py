"""ClickHouse HTTP interface over one embedded chdb engine, so many processes can share its data dir."""

from __future__ import annotations

import argparse
import base64
import contextlib
import hmac
import io
import ipaddress
import json
import re
import signal
import socket
import sys
import threading
import time
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any, BinaryIO
from urllib.parse import parse_qsl, urlsplit

import chdb
import lz4.frame
import structlog
import zstandard

from servicepulse.config import ClickHouseSettings

__all__ = [
    "AUDITOR_DENIED_TABLES",
    "DEV_AUDITOR_PASSWORD",
    "RESTRICTED_TABLES",
    "StoreLimits",
    "StoreServer",
    "StoreUser",
    "auditor_password",
    "main",
    "users_from_settings",
]

log = structlog.get_logger(__name__)

_DEFAULT_PORT = 18123
_MIB = 1024 * 1024
# Defaults of the limits (the settings in `ClickHouseSettings` pass their own).
_DEFAULT_MAX_BODY_BYTES = 256 * _MIB
_DEFAULT_MAX_DECOMPRESSED_BYTES = 1024 * _MIB
_DEFAULT_MAX_THREADS = 32
# Tables only the writing user may read: personal data of protected persons (see docs/auditors.md).
RESTRICTED_TABLES = frozenset({"payroll_people_restricted"})
# Tables the auditor may not read besides those: anstid of protected persons (pay lines; findings reference them by
# keyed hash instead) and raw payloads and keys as a source sent them (dead letters; `audit_dead_letters` has the
# rest). The auditor reads the audit_* and v_* views instead, as the server role of deploy/clickhouse/auditor.sql.
AUDITOR_DENIED_TABLES = RESTRICTED_TABLES | frozenset({"payroll_lines", "dead_letters"})
# The auditor's password on a development store only: one bound to loopback whose `default` user has no password
# either (anyone on the machine can already read everything there). Anywhere else CLICKHOUSE__AUDITOR_PASSWORD.
DEV_AUDITOR_PASSWORD = "auditor"
# Seconds stop() waits for in-flight queries before closing the engine under them.
_DRAIN_TIMEOUT_S = 30.0
_DEFAULT_SESSION_TIMEOUT_S = 60.0
_MAX_SESSION_TIMEOUT_S = 3600.0
_IDLE_CONNECTION_TIMEOUT_S = 600.0

# URL parameters consumed by the HTTP layer (as in ClickHouse's HTTPHandler); every other
# non-param_ parameter is a query setting. readonly and default_format are settings in
# ClickHouse but are enforced here: SET readonly on a session handle can never be undone.
_TRANSPORT_PARAMS = frozenset(
    {
        "query",
        "database",
        "default_format",
        "readonly",
        "session_id",
        "session_timeout",
        "session_check",
        "query_id",
        "compress",
        "decompress",
        "user",
        "password",
        "quota_key",
        "role",
        "stacktrace",
        "buffer_size",
        "wait_end_of_query",
        "client_protocol_version",
    }
)
_SETTING_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ERROR_CODE_RE = re.compile(r"Code: (\d+)\.")
# chdb's Python wrapper turns these "formats" into pandas/pyarrow objects instead of bytes.
_PYTHON_FORMATS = frozenset({"dataframe", "arrowtable", "datastore"})
_RESULT_KINDS = frozenset({"SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXISTS", "EXPLAIN", "CHECK"})
_READONLY_KINDS = frozenset({"SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXISTS", "EXPLAIN", "USE"})

_TOKEN_RE = re.compile(
    rb"(?P<space>\s+)"
    rb"|(?P<comment>--[^\n]*|#[!\s][^\n]*|/\*.*?(?:\*/|\Z))"
    rb"|(?P<quoted>'(?:[^'\\]|\\.|'')*'|\"(?:[^\"\\]|\\.|\"\")*\"|`(?:[^`\\]|\\.|``)*`)"
    rb"|(?P<heredoc>\$(?P<tag>[A-Za-z0-9_]*)\$.*?\$(?P=tag)\$)"
    rb"|(?P<word>[A-Za-z_][A-Za-z0-9_]*)"
    rb"|(?P<number>[0-9][0-9A-Za-z_.]*)"
    rb"|(?P<other>.)",
    re.DOTALL,
)

_HTTP_STATUS_BY_CODE: dict[int, int] = {
    **dict.fromkeys((192, 516, 497), 403),  # UNKNOWN_USER, AUTHENTICATION_FAILED, ACCESS_DENIED
    **dict.fromkeys(
        # BAD_ARGUMENTS, the CANNOT_PARSE_* family, DUPLICATE/ILLEGAL/THERE_IS_NO_COLUMN, SYNTAX_ERROR,
        # INCORRECT_DATA, TYPE_MISMATCH, VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
        (36, 6, 25, 26, 27, 38, 41, 72, 15, 44, 8, 62, 117, 53, 321),
        400,
    ),
    **dict.fromkeys(
        # UNKNOWN_TABLE/FUNCTION/IDENTIFIER/TYPE/STORAGE/DATABASE/SETTING/AGGREGATE_FUNCTION/FORMAT/...
        (60, 46, 47, 50, 56, 81, 115, 63, 73, 336, 78, 372),
        404,
    ),
    48: 501,  # NOT_IMPLEMENTED
    159: 408,  # TIMEOUT_EXCEEDED
    202: 413,  # QUERY_IS_TOO_LARGE
}


class _ClickHouseError(Exception):
    """An error reported to the client as ClickHouse would: code header plus 'Code: n. DB::Exception'."""

    def __init__(self, code: int, text: str, *, status: int | None = None) -> None:
        super().__init__(text)
        self.code = code
        self.text = text
        self.status = status or _HTTP_STATUS_BY_CODE.get(code, 500)

    @classmethod
    def new(cls, code: int, name: str, message: str, *, status: int | None = None) -> _ClickHouseError:
        return cls(code, f"Code: {code}. DB::Exception: {message}. ({name})", status=status)

    @classmethod
    def from_engine(cls, exc: BaseException) -> _ClickHouseError:
        raw = str(exc)
        start = raw.find("Code: ")
        text = raw[start:].strip() if start >= 0 else raw.strip()
        match = _ERROR_CODE_RE.match(text)
        if match is None:
            return cls.new(1001, "STD_EXCEPTION", text or type(exc).__name__)
        return cls(int(match.group(1)), text)


@dataclass(frozen=True)
class StoreUser:
    """A user of the store: `readonly` users may only read, and never a table in `denied_tables`."""

    name: str
    password: str
    readonly: bool = False
    denied_tables: frozenset[str] = frozenset()
    # Denied by exact name (a word or quoted name of the query), so `dead_letters` can be denied while the view
    # `audit_dead_letters` stays readable; `denied_tables` matches anywhere in the text.
    denied_names: frozenset[str] = frozenset()


@dataclass(frozen=True)
class StoreLimits:
    """Request limits: body bytes as sent, body bytes after decompression, requests handled at once."""

    max_body_bytes: int = _DEFAULT_MAX_BODY_BYTES
    max_decompressed_bytes: int = _DEFAULT_MAX_DECOMPRESSED_BYTES
    max_threads: int = _DEFAULT_MAX_THREADS


def _too_large(what: str, limit: int) -> _ClickHouseError:
    return _ClickHouseError.new(202, "QUERY_IS_TOO_LARGE", f"{what} is larger than {limit} bytes", status=413)


@dataclass(frozen=True)
class _Statement:
    """What the server must know about one SQL statement before handing it to chdb."""

    kind: str = ""
    multi: bool = False
    writes_file: bool = False
    output_format: str | None = None
    # INSERT with inline data: the statement without its FORMAT/VALUES clause, and where data begins.
    insert_head_end: int = -1
    insert_format: str | None = None
    data_offset: int = -1
    assigned: frozenset[str] = frozenset()


def _scan(sql: bytes) -> _Statement:
    """Tokenise just enough of the statement; stops where INSERT data starts, so bodies are never lexed."""
    kind = ""
    depth = 0
    ended = multi = writes_file = insert_no_data = False
    format_start = -1
    # Trailing FORMAT clause of a non-INSERT: "live" right after its name, "settings" once SETTINGS follows.
    format_name: str | None = None
    format_state = ""
    prev_word = ""
    assigned: set[str] = set()
    for match in _TOKEN_RE.finditer(sql):
        group = match.lastgroup
        if group in ("space", "comment"):
            continue
        token = match.group()
        if ended:
            if token != b";":
                multi = True
                break
            continue
        word = token.decode("ascii").upper() if group == "word" else ""
        if format_start >= 0:
            start, format_start = format_start, -1
            if word and kind == "INSERT" and not insert_no_data:
                offset = match.end()
                while offset < len(sql) and sql[offset] in b" \t\f":
                    offset += 1
                # ClickHouse: data starts after the first newline if there is one, else after the blanks.
                if sql[offset : offset + 1] == b"\r":
                    offset += 1
                if sql[offset : offset + 1] == b"\n":
                    offset += 1
                return _Statement(kind, insert_head_end=start, insert_format=token.decode(), data_offset=offset)
            if word:
                format_name, format_state, prev_word = token.decode(), "live", word
                continue
        if format_state == "live" and token != b";":
            format_state = "settings" if word == "SETTINGS" else ""
        if word and not kind:
            kind = word
        if group == "other":
            if token in b"([{":
                depth += 1
            elif token in b")]}":
                depth -= 1
            elif token == b";" and depth <= 0:
                ended = True
            elif token == b"=" and kind == "SET" and depth == 0 and prev_word:
                assigned.add(prev_word.lower())
        if word and depth == 0:
            if word == "FORMAT":
                format_start = match.start()
            elif kind == "INSERT" and not insert_no_data:
                if word == "VALUES":
                    return _Statement(
                        kind, insert_head_end=match.start(), insert_format="Values", data_offset=match.end()
                    )
                if word in ("SELECT", "WITH", "INFILE"):
                    insert_no_data = True
            elif word == "OUTFILE" and prev_word == "INTO":
                writes_file = True
        prev_word = word
    return _Statement(
        kind,
        multi=multi,
        writes_file=writes_file,
        output_format=format_name if format_state else None,
        assigned=frozenset(assigned),
    )


def _quote_literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _quote_identifier(name: str) -> str:
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def _content_type(fmt: str) -> str:
    lowered = fmt.lower()
    if lowered.startswith(("tabseparated", "tsv")):
        return "text/tab-separated-values; charset=UTF-8"
    if lowered.startswith("csv"):
        return "text/csv; charset=UTF-8; header=absent"
    if lowered.startswith("json"):
        return "application/json; charset=UTF-8"
    if lowered.startswith(("pretty", "vertical", "markdown", "values", "raw", "template")):
        return "text/plain; charset=UTF-8"
    if lowered == "xml":
        return "application/xml; charset=UTF-8"
    return "application/octet-stream"


def _bounded(chunks: Iterator[bytes], limit: int) -> bytes:
    out = bytearray()
    for chunk in chunks:
        out += chunk
        if len(out) > limit:
            raise _too_large("Decompressed request body", limit)
    return bytes(out)


def _zlib_chunks(body: bytes, wbits: int, limit: int) -> Iterator[bytes]:
    # max_length caps every step, so a small bomb never expands beyond the limit in memory.
    inflater = zlib.decompressobj(wbits)
    data = body
    while True:
        chunk = inflater.decompress(data, limit + 1)
        yield chunk
        data = inflater.unconsumed_tail
        if inflater.eof:
            if inflater.unused_data and wbits & 16:  # gzip allows concatenated members
                inflater, data = zlib.decompressobj(wbits), inflater.unused_data
                continue
            return
        if not data and not chunk:
            raise zlib.error("truncated compressed data")


def _decode_body(encoding: str | None, body: bytes, limit: int = _DEFAULT_MAX_DECOMPRESSED_BYTES) -> bytes:
    encoding = (encoding or "").strip().lower()
    if not encoding or encoding == "identity" or not body:
        return body
    try:
        if encoding == "lz4":
            def lz4_chunks(data: bytes) -> Iterator[bytes]:
                while data:
                    decompressor = lz4.frame.LZ4FrameDecompressor()
                    while not decompressor.eof:
                        chunk = decompressor.decompress(data, max_length=limit + 1)
                        data = b""
                        yield chunk
                        if not chunk and decompressor.needs_input:
                            break
                    data = decompressor.unused_data or b""
            return _bounded(lz4_chunks(body), limit)
        if encoding == "zstd":
            with zstandard.ZstdDecompressor().stream_reader(io.BytesIO(body), read_across_frames=True) as reader:
                return _bounded(iter(lambda: reader.read(1 << 20), b""), limit)
        if encoding in ("gzip", "x-gzip"):
            return _bounded(_zlib_chunks(body, 16 + zlib.MAX_WBITS, limit), limit)
        if encoding == "deflate":
            try:
                return _bounded(_zlib_chunks(body, zlib.MAX_WBITS, limit), limit)
            except zlib.error:
                return _bounded(_zlib_chunks(body, -zlib.MAX_WBITS, limit), limit)
        if encoding == "br":
            import brotli  # type: ignore[import-not-found]

            inflater = brotli.Decompressor()
            return _bounded(iter([bytes(inflater.process(body))]), limit)
    except ImportError as exc:
        raise _ClickHouseError.new(48, "NOT_IMPLEMENTED", f"Content-Encoding {encoding} is not available") from exc
    except _ClickHouseError:
        raise
    except Exception as exc:
        raise _ClickHouseError.new(
            354, "CANNOT_DECOMPRESS", f"Cannot decompress {encoding} request body: {exc}", status=400
        ) from exc
    raise _ClickHouseError.new(48, "NOT_IMPLEMENTED", f"Unknown HTTP Content-Encoding {encoding}")


def _merge_form(content_type: str, body: bytes, params: dict[str, str]) -> bytes:
    """multipart/form-data carries query and param_ fields (clickhouse-connect does this for long binds)."""
    message = BytesParser(policy=policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        if part.get_filename() is not None:
            raise _ClickHouseError.new(48, "NOT_IMPLEMENTED", "External data tables are not supported")
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            params[name] = payload.decode("utf-8")
    return b""


def _read_chunked(rfile: BinaryIO | io.BufferedIOBase, limit: int = _DEFAULT_MAX_BODY_BYTES) -> bytes:
    parts: list[bytes] = []
    total = 0
    while True:
        size = int(rfile.readline(65537).split(b";", 1)[0].strip() or b"0", 16)
        total += size
        if total > limit:
            raise _too_large("Request body", limit)
        if size == 0:
            while rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                pass
            return b"".join(parts)
        parts.append(rfile.read(size))
        rfile.readline(65537)


@dataclass
class _Result:
    body: bytes
    output_format: str | None
    summary: dict[str, str]


@dataclass
class _Session:
    """A session_id's own chdb handle, plus what is known about the state its own statements set."""

    conn: Any
    timeout_s: float
    lock: threading.Lock = field(default_factory=threading.Lock)
    last_used: float = field(default_factory=time.monotonic)
    database: str = "default"
    # Settings the session changed with SET; any other setting is known to be at its default.
    assigned: set[str] = field(default_factory=set)


class _Engine:
    """The chdb engine on one data dir: requests get their own handle so SET/USE never leak between them."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._anchor: Any = None
        self._sessions: dict[str, _Session] = {}
        self._sessions_lock = threading.Lock()
        self._last_sweep = time.monotonic()
        self._active = 0
        self._closing = False
        self._idle = threading.Condition()
        self.version = ""
        self.timezone = "UTC"

    def open(self) -> None:
        # The anchor handle keeps the engine (and its data dir lock) alive between requests.
        try:
            self._anchor = chdb.connect(self._path)
        except Exception as exc:
            raise RuntimeError(
                f"cannot open the chdb store at {self._path} (is another process serving it?): {exc}"
            ) from exc
        try:
            row = self._anchor.query("SELECT version(), timezone()", "TabSeparated").bytes().decode()
        except BaseException:
            self._anchor.close()
            self._anchor = None
            raise
        self.version, self.timezone = row.rstrip("\n").split("\t")

    def close(self, drain_timeout_s: float = _DRAIN_TIMEOUT_S) -> None:
        with self._idle:
            self._closing = True
            if not self._idle.wait_for(lambda: self._active == 0, timeout=drain_timeout_s):
                log.warning("store_close_with_running_queries", running=self._active)
        with self._sessions_lock:
            sessions = list(self._sessions.values())
            self._sessions.clear()
        for session in sessions:
            with contextlib.suppress(Exception):
                session.conn.close()
        if self._anchor is not None:
            self._anchor.close()
            self._anchor = None

    @property
    def closing(self) -> bool:
        return self._closing

    def execute(self, method: str, params: dict[str, str], body: bytes) -> _Result:
        query_param = params.get("query", "")
        sql = query_param.encode() + b"\n" + body if query_param else body
        if not sql.strip():
            raise _ClickHouseError.new(62, "SYNTAX_ERROR", "Empty query")
        stmt = _scan(sql)
        if stmt.multi:
            raise _ClickHouseError.new(62, "SYNTAX_ERROR", "Multi-statements are not allowed")
        self._check_readonly(method, params, stmt)
        if params.get("decompress", "0") not in ("", "0", "false"):
            raise _ClickHouseError.new(48, "NOT_IMPLEMENTED", "ClickHouse-compressed request bodies (decompress=1)")
        settings = {k: v for k, v in params.items() if k not in _TRANSPORT_PARAMS and not k.startswith("param_")}
        for name in settings:
            if not _SETTING_NAME_RE.match(name):
                raise _ClickHouseError.new(115, "UNKNOWN_SETTING", f"Unknown setting '{name}'")
        query_params = {k[6:]: v for k, v in params.items() if k.startswith("param_")}
        with self._handle(params) as (conn, session):
            restore = self._prepare(conn, session, stmt, settings, params.get("database") or None)
            try:
                if stmt.insert_format is not None:
                    return self._insert(conn, stmt, sql)
                return self._query(conn, stmt, sql, params.get("default_format") or "TabSeparated", query_params)
            finally:
                if session is not None:
                    self._finish_session_request(conn, session, stmt, restore)

    @staticmethod
    def _check_readonly(method: str, params: dict[str, str], stmt: _Statement) -> None:
        try:
            level = int(params.get("readonly") or 0)
        except ValueError as exc:
            raise _ClickHouseError.new(36, "BAD_ARGUMENTS", "readonly must be 0, 1 or 2") from exc
        if method == "GET" and level == 0:
            level = 2
        if level == 0:
            return
        allowed = stmt.kind in _READONLY_KINDS or (stmt.kind == "SET" and level == 2)
        if allowed and not stmt.writes_file:
            return
        message = "Cannot execute query in readonly mode"
        if method == "GET":
            message += (
                ". For queries over HTTP, method GET implies readonly. You should use method POST for modifying queries"
            )
        raise _ClickHouseError.new(164, "READONLY", message)

    @contextlib.contextmanager
    def _handle(self, params: dict[str, str]) -> Iterator[tuple[Any, _Session | None]]:
        with self._idle:
            if self._closing:
                raise _ClickHouseError.new(210, "NETWORK_ERROR", "Store server is shutting down", status=503)
            self._active += 1
        try:
            session_id = params.get("session_id")
            with self._sessions_lock:
                self._sweep_sessions()
            if not session_id:
                conn = self._connect()
                try:
                    yield conn, None
                finally:
                    conn.close()
                return
            session = self._acquire_session(session_id, params)
            try:
                yield session.conn, session
            finally:
                # Released before the response is written, so a client's next request never sees it busy.
                session.last_used = time.monotonic()
                session.lock.release()
        finally:
            with self._idle:
                self._active -= 1
                self._idle.notify_all()

    def _connect(self) -> Any:
        try:
            return chdb.connect(self._path)
        except Exception as exc:
            raise _ClickHouseError.from_engine(exc) from exc

    def _acquire_session(self, session_id: str, params: dict[str, str]) -> _Session:
        try:
            timeout_s = float(params.get("session_timeout") or _DEFAULT_SESSION_TIMEOUT_S)
        except ValueError as exc:
            raise _ClickHouseError.new(36, "BAD_ARGUMENTS", "Invalid session timeout") from exc
        timeout_s = min(max(timeout_s, 0.0), _MAX_SESSION_TIMEOUT_S)
        with self._sessions_lock:
            session = self._sessions.get(session_id)
            if session is None:
                if params.get("session_check") in ("1", "true"):
                    raise _ClickHouseError.new(372, "SESSION_NOT_FOUND", f"Session {session_id} not found")
                session = _Session(self._connect(), timeout_s)
                self._sessions[session_id] = session
            if not session.lock.acquire(blocking=False):
                raise _ClickHouseError.new(
                    373, "SESSION_IS_LOCKED", f"Session {session_id} is locked by a concurrent client"
                )
            session.timeout_s = timeout_s
            return session

    def _sweep_sessions(self) -> None:
        now = time.monotonic()
        if now - self._last_sweep < 1.0:
            return
        self._last_sweep = now
        for session_id, session in list(self._sessions.items()):
            if now - session.last_used > session.timeout_s and session.lock.acquire(blocking=False):
                del self._sessions[session_id]
                with contextlib.suppress(Exception):
                    session.conn.close()

    @staticmethod
    def _run(conn: Any, sql: str, fmt: str = "TabSeparated", params: dict[str, str] | None = None) -> Any:
        try:
            return conn.query(sql, fmt, params=params or {})
        except Exception as exc:
            raise _ClickHouseError.from_engine(exc) from exc

    def _prepare(
        self, conn: Any, session: _Session | None, stmt: _Statement, settings: dict[str, str], database: str | None
    ) -> dict[str, tuple[str, bool]]:
        """Apply per-request database/settings; for a session, return the state that restores its own."""
        restore: dict[str, tuple[str, bool]] = {}
        if session is not None:
            # In ClickHouse URL settings and database apply to one query; only a session's own SET/USE persist.
            names = [name for name in settings if name not in stmt.assigned]
            restore = {name: ("", False) for name in names}
            known = [name for name in names if name in session.assigned]
            if known:
                rows = self._run(
                    conn,
                    "SELECT name, value, changed FROM system.settings WHERE name IN ("
                    + ", ".join(_quote_literal(name) for name in known)
                    + ")",
                    "JSONCompactEachRow",
                )
                for line in rows.bytes().splitlines():
                    name, value, changed = json.loads(line)
                    restore[name] = (value, bool(changed))
            if database == session.database:
                database = None
            elif database and stmt.kind != "USE":
                restore[""] = (session.database, True)
        try:
            if database:
                self._run(conn, f"USE {_quote_identifier(database)}")
            if settings:
                self._run(conn, "SET " + ", ".join(f"{k} = {_quote_literal(v)}" for k, v in settings.items()))
        except BaseException:
            if restore:
                self._restore(conn, restore)
            raise
        return restore

    def _finish_session_request(
        self, conn: Any, session: _Session, stmt: _Statement, restore: dict[str, tuple[str, bool]]
    ) -> None:
        if restore:
            self._restore(conn, restore)
        session.assigned |= stmt.assigned
        if stmt.kind == "USE":
            with contextlib.suppress(_ClickHouseError):
                session.database = self._run(conn, "SELECT currentDatabase()").bytes().decode().strip()

    def _restore(self, conn: Any, snapshot: dict[str, tuple[str, bool]]) -> None:
        assignments = []
        for name, (value, changed) in snapshot.items():
            if not name:
                continue
            if not changed:
                assignments.append(f"{name} = DEFAULT")
            elif len(value) >= 2 and value[0] == value[-1] == "'":
                assignments.append(f"{name} = {value}")
            else:
                assignments.append(f"{name} = {_quote_literal(value)}")
        try:
            if "" in snapshot:
                self._run(conn, f"USE {_quote_identifier(snapshot[''][0])}")
            if assignments:
                self._run(conn, "SET " + ", ".join(assignments))
        except _ClickHouseError as exc:
            log.warning("store_session_restore_failed", error=exc.text)

    @staticmethod
    def _insert(conn: Any, stmt: _Statement, sql: bytes) -> _Result:
        # chdb cannot read an HTTP body; its streaming inserter takes the data without a temp file.
        head = sql[: stmt.insert_head_end].decode("utf-8")
        try:
            inserter = conn.send_insert(head, stmt.insert_format)
        except Exception as exc:
            raise _ClickHouseError.from_engine(exc) from exc
        try:
            if stmt.data_offset < len(sql):
                inserter.append(sql[stmt.data_offset :])
            result = inserter.finish()
        except Exception as exc:
            with contextlib.suppress(Exception):
                inserter.cancel()
            raise _ClickHouseError.from_engine(exc) from exc
        summary = {
            "read_rows": str(result.rows_written),
            "read_bytes": str(result.bytes_written),
            "written_rows": str(result.rows_written),
            "written_bytes": str(result.bytes_written),
            "total_rows_to_read": "0",
            "result_rows": str(result.rows_written),
            "result_bytes": str(result.bytes_written),
            "elapsed_ns": str(int(result.elapsed * 1e9)),
        }
        return _Result(b"", None, summary)

    def _query(
        self, conn: Any, stmt: _Statement, sql: bytes, default_format: str, query_params: dict[str, str]
    ) -> _Result:
        try:
            text = sql.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _ClickHouseError.new(36, "BAD_ARGUMENTS", f"Query is not valid UTF-8: {exc}") from exc
        fmt = stmt.output_format or default_format
        if fmt.lower() in _PYTHON_FORMATS:
            raise _ClickHouseError.new(73, "UNKNOWN_FORMAT", f"Unknown format {fmt}")
        result = self._run(conn, text, fmt, query_params)
        body = result.bytes() or b""
        # chdb's rows_read() counts result rows; storage_rows_read() is what ClickHouse calls read_rows.
        summary = {
            "read_rows": str(result.storage_rows_read()),
            "read_bytes": str(result.storage_bytes_read()),
            "written_rows": str(result.rows_written()),
            "written_bytes": str(result.bytes_written()),
            "total_rows_to_read": str(result.storage_rows_read()),
            "result_rows": str(result.rows_read()),
            "result_bytes": str(len(body)),
            "elapsed_ns": str(int(result.elapsed() * 1e9)),
        }
        produces_result = stmt.kind in _RESULT_KINDS or bool(body)
        return _Result(body, fmt if produces_result else None, summary)


# Table functions that read outside the tables (files, URLs, other servers) or pick tables by pattern
# (merge): refused for read-only users, since the table deny-list cannot see through them.
_READER_REFUSED_FUNCTIONS = re.compile(
    rb"(?i)\b(?:merge|file|url|urlcluster|s3|s3cluster|gcs|hdfs|hdfscluster|azureblobstorage|remote|remotesecure|"
    rb"cluster|clusterallreplicas|mysql|postgresql|mongodb|redis|sqlite|jdbc|odbc|executable|input|loop|"
    rb"dictionary|iceberg|deltalake|hudi|format|view|viewifpermitted|mergetreeindex)\s*\("
)


def _check_user_query(user: StoreUser, sql: bytes) -> None:
    """Conservative, on the query text: a denied table named anywhere (quoted, in a string, in a comment) is
    refused, as are table functions that could reach it indirectly and escapes inside quoted names."""
    lowered = sql.lower()
    for table in user.denied_tables:
        if table.lower().encode() in lowered:
            raise _ClickHouseError.new(497, "ACCESS_DENIED", f"{user.name}: Not enough privileges to read {table}")
    if user.denied_names:
        for match in _TOKEN_RE.finditer(sql):
            if match.lastgroup not in ("word", "quoted"):
                continue
            name = match.group().decode("utf-8", "replace")
            if match.lastgroup == "quoted":
                name = name[1:-1]
            if name.lower() in user.denied_names:
                raise _ClickHouseError.new(497, "ACCESS_DENIED", f"{user.name}: Not enough privileges to read {name}")
    if not user.readonly:
        return
    if _READER_REFUSED_FUNCTIONS.search(sql):
        raise _ClickHouseError.new(497, "ACCESS_DENIED", f"{user.name}: table functions are not allowed")
    for match in _TOKEN_RE.finditer(sql):
        token = match.group()
        if match.lastgroup == "quoted" and token[:1] in (b"`", b'"') and b"\\" in token:
            raise _ClickHouseError.new(497, "ACCESS_DENIED", f"{user.name}: escapes in quoted names are not allowed")


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], engine: _Engine, users: dict[str, StoreUser] | None = None,
                 limits: StoreLimits | None = None) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.engine = engine
        self.users = users or {}
        self.limits = limits or StoreLimits()
        # At most max_threads requests in flight: the accept loop waits for a slot (the kernel queues the rest).
        self._slots = threading.BoundedSemaphore(self.limits.max_threads)
        self.display_name = socket.gethostname()
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        self._slots.acquire()
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def authenticate(self, headers: Any, params: dict[str, str]) -> StoreUser | None:
        """The request's user, None when the store has no users (open, as before); refuses wrong credentials."""
        if not self.users:
            return None
        name = headers.get("X-ClickHouse-User") or params.get("user")
        password = headers.get("X-ClickHouse-Key") or params.get("password")
        auth = headers.get("Authorization", "")
        if auth.lower().startswith("basic "):
            try:
                name, _, password = base64.b64decode(auth[6:].strip()).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                name = password = None
        user = self.users.get(name or "default")
        if user is None or not hmac.compare_digest((password or "").encode(), user.password.encode()):
            raise _ClickHouseError.new(516, "AUTHENTICATION_FAILED",
                                       f"{name or 'default'}: Authentication failed: password is incorrect, or "
                                       "there is no user with such name")
        return user

    def track(self, conn: socket.socket, *, add: bool) -> None:
        with self._connections_lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def close_idle_connections(self) -> None:
        """Unblock keep-alive threads waiting for a next request; in-flight responses still go out."""
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RD)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "servicepulse-store"
    timeout = _IDLE_CONNECTION_TIMEOUT_S
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        # Headers and body go out as separate writes; with Nagle on, delayed ACKs add ~40 ms per request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, add=False)

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _read_body(self) -> bytes:
        limit = self.server.limits.max_body_bytes
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return _read_chunked(self.rfile, limit)
        length = int(self.headers.get("Content-Length") or 0)
        if length > limit:
            raise _too_large("Request body", limit)
        return self.rfile.read(length) if length > 0 else b""

    def _dispatch(self, method: str) -> None:
        try:
            body = self._read_body()
        except _ClickHouseError as exc:
            self.close_connection = True  # the rest of the body is not read
            self._send_error(exc, {})
            return
        except (ValueError, OSError):
            self.close_connection = True
            self._send(400, b"Malformed request body\n", {"Content-Type": "text/plain; charset=UTF-8"})
            return
        url = urlsplit(self.path)
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        for header, param in (("X-ClickHouse-Database", "database"), ("X-ClickHouse-Format", "default_format")):
            if header in self.headers and param not in params:
                params[param] = self.headers[header]
        if url.path in ("/ping", "/replicas_status") or (
            url.path == "/" and method == "GET" and "query" not in params and not body
        ):
            self._send(200, b"Ok.\n", {"Content-Type": "text/html; charset=UTF-8"})
            return
        if url.path != "/":
            self._send(404, f"There is no handle {url.path}\n".encode(), {"Content-Type": "text/plain"})
            return
        engine = self.server.engine
        query_id = params.get("query_id") or str(uuid.uuid4())
        headers = {
            "X-ClickHouse-Server-Display-Name": self.server.display_name,
            "X-ClickHouse-Query-Id": query_id,
            "X-ClickHouse-Timezone": engine.timezone,
        }
        try:
            user = self.server.authenticate(self.headers, params)
            body = _decode_body(self.headers.get("Content-Encoding"), body, self.server.limits.max_decompressed_bytes)
            content_type = self.headers.get("Content-Type", "")
            if content_type.startswith("multipart/form-data"):
                body = _merge_form(content_type, body, params)
            if user is not None:
                query = params.get("query", "")
                _check_user_query(user, (query.encode() + b"\n" + body) if query else body)
                if user.readonly and params.get("readonly") in (None, "", "0"):
                    params["readonly"] = "2"  # writes refused; query settings (as Grafana sends) allowed
            result = engine.execute(method, params, body)
        except _ClickHouseError as exc:
            self._send_error(exc, headers)
            return
        except Exception as exc:
            log.warning("store_request_failed", error=repr(exc), exc_info=True)
            self._send_error(_ClickHouseError.new(1001, "STD_EXCEPTION", repr(exc)), headers)
            return
        if result.output_format is not None:
            headers["X-ClickHouse-Format"] = result.output_format
            headers["Content-Type"] = _content_type(result.output_format)
        else:
            headers["Content-Type"] = "text/plain; charset=UTF-8"
        headers["X-ClickHouse-Summary"] = json.dumps(result.summary, separators=(",", ":"))
        self._send(200, result.body, headers)

    def _send_error(self, exc: _ClickHouseError, headers: dict[str, str]) -> None:
        text = exc.text if "(version " in exc.text else f"{exc.text} (version {self.server.engine.version})"
        headers["X-ClickHouse-Exception-Code"] = str(exc.code)
        headers["Content-Type"] = "text/plain; charset=UTF-8"
        self._send(exc.status, (text + "\n").encode("utf-8", "replace"), headers)

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        if self.server.engine.closing:
            self.close_connection = True
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)


class StoreServer:
    """Serves ClickHouse's HTTP interface for the chdb data dir on host:port from a daemon thread."""

    def __init__(self, data_dir: str | Path, host: str = "127.0.0.1", port: int = 0, *,
                 users: list[StoreUser] | None = None, limits: StoreLimits | None = None) -> None:
        self._data_dir = Path(data_dir).expanduser().absolute()
        self._host = host
        self._port = port
        self._users = {u.name: u for u in users or []}
        self._limits = limits or StoreLimits()
        self._engine: _Engine | None = None
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._httpd is not None:
            raise RuntimeError("store server already started")
        self._data_dir.mkdir(parents=True, exist_ok=True)
        engine = _Engine(str(self._data_dir))
        engine.open()
        try:
            httpd = _HTTPServer((self._host, self._port), engine, self._users, self._limits)
        except BaseException:
            engine.close(drain_timeout_s=0)
            raise
        self._engine, self._httpd = engine, httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.2}, name="store-server", daemon=True
        )
        self._thread.start()
        log.info("store_server_started", url=self.url, data_dir=str(self._data_dir), chdb=engine.version)

    @property
    def port(self) -> int:
        if self._httpd is None:
            return self._port
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        host = self._host if self._host not in ("", "0.0.0.0", "::") else "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    def stop(self) -> None:
        httpd, engine, thread = self._httpd, self._engine, self._thread
        if httpd is None or engine is None:
            return
        port = self.port
        httpd.shutdown()
        httpd.server_close()
        httpd.close_idle_connections()
        engine.close()
        if thread is not None:
            thread.join(timeout=5)
        self._httpd = self._engine = self._thread = None
        self._port = port
        log.info("store_server_stopped", data_dir=str(self._data_dir))


def auditor_password(settings: ClickHouseSettings, host: str | None = None) -> str | None:
    """The auditor's password: CLICKHOUSE__AUDITOR_PASSWORD, else the development default on a store bound to
    loopback (`host`, default CLICKHOUSE__EMBEDDED_HOST) whose `default` user has no password; else None (no
    auditor user)."""
    if settings.auditor_password is not None:
        return settings.auditor_password.get_secret_value()
    bind = host if host is not None else settings.embedded_host
    if settings.password is None and _is_loopback(bind):
        return DEV_AUDITOR_PASSWORD
    return None


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def users_from_settings(settings: ClickHouseSettings, host: str | None = None) -> list[StoreUser]:
    """The store's users from the settings: `default` (without a password unless one is set), the read-only
    dashboard user only with its own password, and the read-only auditor (see `auditor_password`). A store with
    no password set anywhere and bound to another address than loopback has no users (open, as before)."""
    users = []
    auditor = auditor_password(settings, host)
    if settings.password is not None or settings.reader_password is not None or auditor is not None:
        default = settings.password.get_secret_value() if settings.password is not None else ""
        users.append(StoreUser("default", default))
    if settings.reader_password is not None:
        users.append(StoreUser(settings.reader_user, settings.reader_password.get_secret_value(), readonly=True,
                               denied_tables=RESTRICTED_TABLES))
    if auditor is not None:
        users.append(StoreUser(settings.auditor_user, auditor, readonly=True, denied_tables=RESTRICTED_TABLES,
                               denied_names=AUDITOR_DENIED_TABLES))
    return users


def main(argv: list[str] | None = None) -> None:
    from servicepulse.config import load_settings

    conf = load_settings().clickhouse
    parser = argparse.ArgumentParser(
        prog="python -m servicepulse.devstack.store_server",
        description="Serve ClickHouse's HTTP interface over an embedded chdb data directory. Users, limits and "
        "the bind address come from the CLICKHOUSE__* settings (docs/configuration.md).",
    )
    parser.add_argument("--data-dir", required=True, type=Path, help="chdb data directory (created if missing)")
    parser.add_argument("--host", default=conf.embedded_host,
                        help=f"address to bind (default CLICKHOUSE__EMBEDDED_HOST, {conf.embedded_host})")
    parser.add_argument(
        "--port", type=int, default=_DEFAULT_PORT, help=f"port to bind, 0 picks one (default {_DEFAULT_PORT})"
    )
    args = parser.parse_args(argv)
    limits = StoreLimits(conf.embedded_max_body_mib * _MIB, conf.embedded_max_decompressed_mib * _MIB,
                         conf.embedded_max_threads)
    users = users_from_settings(conf, args.host)

    stop_requested = threading.Event()

    def _request_stop(signum: int, frame: FrameType | None) -> None:
        stop_requested.set()

    previous = {sig: signal.signal(sig, _request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    server = StoreServer(args.data_dir, host=args.host, port=args.port, users=users, limits=limits)
    try:
        server.start()
        print(f"store listening on {server.url}", file=sys.stderr, flush=True)
        print(f"store users: {', '.join(u.name for u in users) if users else 'none (open)'}", file=sys.stderr,
              flush=True)
        # A timed wait keeps the main thread returning to the interpreter so signal handlers run.
        while not stop_requested.wait(0.5):
            pass
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


if __name__ == "__main__":
    main()
