"""The store server against the real clickhouse-connect HTTP client, real chdb and real sockets."""

from __future__ import annotations

import datetime as dt
import queue
import signal
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import chdb
import clickhouse_connect
import pytest
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import DatabaseError

from servicepulse.connectors.clickhouse import scalar_int
from servicepulse.devstack.store_server import StoreServer
from servicepulse.domain.zone import STOCKHOLM

pytestmark = [pytest.mark.integration, pytest.mark.broker_independent]

ROW_COLUMNS = ["id", "name", "created", "note", "kind", "active", "day", "amount"]
ROW_TABLE = """
    CREATE TABLE rows (
        id Int64,
        name String,
        created DateTime64(3, 'Europe/Stockholm'),
        note Nullable(String),
        kind LowCardinality(String),
        active Bool,
        day Date,
        amount Decimal(18, 2)
    ) ENGINE = MergeTree ORDER BY id
"""

_INSERTER = textwrap.dedent(
    """
    import sys
    import clickhouse_connect

    port, worker, batches = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    client = clickhouse_connect.get_client(host="127.0.0.1", port=port)
    for batch in range(batches):
        rows = [(worker, batch * 500 + i, f"w{worker}-{i}") for i in range(500)]
        client.insert("events", rows, column_names=["worker", "seq", "payload"])
    """
)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[StoreServer]:
    store = StoreServer(tmp_path / "store")
    store.start()
    yield store
    store.stop()


def _client(store: StoreServer, database: str | None = None, compress: str | bool = True,
            autogenerate_session_id: bool | None = None) -> Client:
    # The defaults are clickhouse-connect's own.
    return clickhouse_connect.get_client(host="127.0.0.1", port=store.port, database=database, compress=compress,
                                         autogenerate_session_id=autogenerate_session_id)


def _http(url: str, data: bytes | None = None) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _sample_rows(count: int) -> list[tuple[object, ...]]:
    # Starts before the spring-forward night so wall-clock offsets change inside the data.
    base = dt.datetime(2024, 3, 30, 20, 0, tzinfo=dt.UTC)
    return [
        (
            i - count // 2,
            f"namn-{i}-åäö",
            (base + dt.timedelta(seconds=7 * i, milliseconds=i % 1000)).astimezone(STOCKHOLM),
            None if i % 3 == 0 else f"note {i}",
            ("ärende", "faktura", "lön")[i % 3],
            i % 2 == 0,
            dt.date(2024, 1, 1) + dt.timedelta(days=i % 400),
            Decimal(i * 37 - 100_000) / 100,
        )
        for i in range(count)
    ]


def _start_main(data_dir: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-P", "-m", "servicepulse.devstack.store_server", "--data-dir", str(data_dir), "--port", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    stderr = proc.stderr
    assert stderr is not None

    def pump() -> None:
        for line in stderr:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    seen = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            if proc.poll() is not None:
                break
            continue
        seen.append(line)
        if line.startswith("store listening on "):
            return proc, line.removeprefix("store listening on ").strip()
    proc.kill()
    proc.wait()
    raise AssertionError(f"store server never reported its address: {''.join(seen)!r}")


def _stop_main(proc: subprocess.Popen[str]) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_connect_reports_engine_version_and_timezone(server: StoreServer) -> None:
    client = _client(server)

    assert server.url == f"http://127.0.0.1:{server.port}"
    assert client.server_version == chdb.engine_version
    assert client.command("SELECT version()") == chdb.engine_version
    assert client.command("SELECT 1") == 1
    assert client.ping()


def test_ddl_via_command(server: StoreServer) -> None:
    client = _client(server)

    client.command("CREATE DATABASE IF NOT EXISTS ops")
    client.command("CREATE TABLE ops.cases (id UInt32, title String) ENGINE = MergeTree ORDER BY id")

    assert client.command("EXISTS TABLE ops.cases") == 1
    assert client.command("SELECT count() FROM system.tables WHERE database = 'ops'") == 1
    create = client.command("SHOW CREATE TABLE ops.cases")
    assert isinstance(create, str) and "title" in create
    assert client.command("SELECT 1 WHERE 0") == ""


def test_insert_and_read_back_many_types(server: StoreServer) -> None:
    client = _client(server)
    client.command(ROW_TABLE)
    rows = _sample_rows(10_000)

    summary = client.insert("rows", rows, column_names=ROW_COLUMNS)

    assert summary.written_rows == 10_000
    result = client.query("SELECT * FROM rows ORDER BY id")
    assert result.column_names == tuple(ROW_COLUMNS)
    assert result.result_rows == sorted(rows)
    assert result.result_rows[0][2].tzinfo == STOCKHOLM
    assert client.command("SELECT countIf(note IS NULL) FROM rows") == 3334
    frame = client.query_df("SELECT id, amount FROM rows WHERE active ORDER BY id LIMIT 5")
    assert len(frame) == 5


@pytest.mark.parametrize("compress", ["lz4", "zstd", "gzip", False])
def test_insert_bodies_in_every_client_compression(server: StoreServer, compress: str | bool) -> None:
    client = _client(server, compress=compress, autogenerate_session_id=False)
    client.command("CREATE TABLE blobs (id UInt32, body String) ENGINE = MergeTree ORDER BY id")

    client.insert("blobs", [(i, "x" * (i % 300)) for i in range(3000)], column_names=["id", "body"])

    assert client.query("SELECT count(), sum(length(body)) FROM blobs").result_rows == [
        (3000, sum(i % 300 for i in range(3000)))
    ]


def test_server_side_parameters(server: StoreServer) -> None:
    client = _client(server)
    odd = "it's a\ttab \\ and 'quotes'"
    moment = dt.datetime(2024, 6, 1, 12, 30, 15, 250_000, tzinfo=STOCKHOLM)

    result = client.query(
        "SELECT {text:String}, {n:Int64}, {ids:Array(UInt32)}, {at:DateTime64(3, 'Europe/Stockholm')}",
        parameters={"text": odd, "n": -42, "ids": [3, 1, 2], "at": moment},
    )

    assert result.result_rows == [(odd, -42, [3, 1, 2], moment)]
    # Past 4 KiB of binds clickhouse-connect switches to a multipart form body.
    in_list = "SELECT count() FROM numbers(5000) WHERE number IN {ids:Array(UInt64)}"
    assert client.command(in_list, {"ids": list(range(3000))}) == 3000


def test_errors_become_database_errors_with_the_clickhouse_message(server: StoreServer) -> None:
    client = _client(server)

    with pytest.raises(DatabaseError) as unknown_table:
        client.query("SELECT * FROM no_such_table")
    assert unknown_table.value.code == 60
    assert "UNKNOWN_TABLE" in str(unknown_table.value)
    assert "no_such_table" in str(unknown_table.value)

    with pytest.raises(DatabaseError) as syntax:
        client.command("SELEKT 1")
    assert syntax.value.code == 62
    assert "Syntax error" in str(syntax.value)

    with pytest.raises(DatabaseError, match="Multi-statements are not allowed"):
        client.command("SELECT 1; SELECT 2")

    # The server keeps serving after errors.
    assert client.command("SELECT 2") == 2


def test_insert_deduplication_token(server: StoreServer) -> None:
    client = _client(server)
    client.command(
        "CREATE TABLE dedup (id UInt32, v String) ENGINE = MergeTree ORDER BY id"
        " SETTINGS non_replicated_deduplication_window = 1000"
    )
    batch = [(i, f"v{i}") for i in range(100)]

    for token in ("batch-1", "batch-1"):
        client.insert("dedup", batch, column_names=["id", "v"], settings={"insert_deduplication_token": token})
    assert client.command("SELECT count() FROM dedup") == 100

    client.insert("dedup", batch, column_names=["id", "v"], settings={"insert_deduplication_token": "batch-2"})
    assert client.command("SELECT count() FROM dedup") == 200

    # A token sent on one request must not stick to the session for the next insert.
    client.insert("dedup", batch[:10], column_names=["id", "v"], settings={"insert_deduplication_token": "one"})
    client.insert("dedup", batch[10:20], column_names=["id", "v"])
    assert client.command("SELECT count() FROM dedup") == 220


@pytest.mark.parametrize("sessions", [True, False], ids=["session", "sessionless"])
def test_readonly_request_rejects_writes_and_leaves_store_writable(server: StoreServer, sessions: bool) -> None:
    client = _client(server, autogenerate_session_id=sessions)
    client.command("CREATE TABLE notes (id UInt32) ENGINE = MergeTree ORDER BY id")
    readonly = {"readonly": 1}

    with pytest.raises(DatabaseError) as insert:
        client.command("INSERT INTO notes VALUES (1)", settings=readonly)
    assert insert.value.code == 164
    assert "readonly" in str(insert.value)
    with pytest.raises(DatabaseError, match="READONLY"):
        client.command("CREATE TABLE other (id UInt32) ENGINE = Memory", settings=readonly)
    with pytest.raises(DatabaseError, match="READONLY"):
        client.insert("notes", [(1,)], column_names=["id"], settings=readonly)
    assert client.query("SELECT count() FROM notes", settings=readonly).result_rows == [(0,)]

    client.command("INSERT INTO notes VALUES (2)")
    client.insert("notes", [(3,)], column_names=["id"])
    assert client.command("SELECT getSetting('readonly')") == 0
    assert client.command("SELECT groupArray(id) FROM (SELECT id FROM notes ORDER BY id)") == "[2,3]"


def test_session_keeps_its_own_state_but_not_request_settings(server: StoreServer) -> None:
    client = _client(server)
    client.command("CREATE DATABASE side")

    client.command("SET log_comment = 'mine'")
    client.command("CREATE TEMPORARY TABLE scratch (x Int32)")
    client.insert("scratch", [(1,), (2,)], column_names=["x"])
    assert client.command("SELECT getSetting('log_comment')", settings={"log_comment": "url"}) == "url"
    assert client.command("SELECT getSetting('log_comment')") == "mine"
    assert client.command("SELECT getSetting('max_result_rows')", settings={"max_result_rows": 5}) == 5
    assert client.command("SELECT getSetting('max_result_rows')") == 0
    assert client.command("SELECT sum(x) FROM scratch") == 3
    assert client.command("SELECT currentDatabase()", settings={"database": "side"}) == "side"
    assert client.command("SELECT currentDatabase()") == "default"

    other = _client(server)
    with pytest.raises(DatabaseError):
        other.command("SELECT sum(x) FROM scratch")
    assert other.command("SELECT getSetting('log_comment')") == ""


def test_database_and_settings_as_url_parameters(server: StoreServer) -> None:
    admin = _client(server, autogenerate_session_id=False)
    admin.command("CREATE DATABASE servicepulse")
    client = _client(server, database="servicepulse", autogenerate_session_id=False)

    client.command("CREATE TABLE t (id UInt32) ENGINE = MergeTree ORDER BY id")
    client.insert("t", [(i,) for i in range(10)], column_names=["id"])

    assert admin.command("SELECT count() FROM servicepulse.t") == 10
    assert client.command("SELECT getSetting('max_execution_time')", settings={"max_execution_time": 7}) == 7
    with pytest.raises(DatabaseError, match="TIMEOUT_EXCEEDED"):
        client.command(
            "SELECT sum(sleepEachRow(0.05)) FROM numbers(100)",
            settings={"max_execution_time": 1, "max_block_size": 1, "timeout_before_checking_execution_speed": 0},
        )


def test_two_processes_insert_while_the_test_queries(server: StoreServer) -> None:
    client = _client(server)
    client.command(
        "CREATE TABLE events (worker UInt8, seq UInt32, payload String) ENGINE = MergeTree ORDER BY (worker, seq)"
    )
    batches = 20
    procs = [
        subprocess.Popen([sys.executable, "-c", _INSERTER, str(server.port), str(worker), str(batches)])
        for worker in (1, 2)
    ]
    seen = []
    try:
        while any(proc.poll() is None for proc in procs):
            seen.append(scalar_int(client, "SELECT count() FROM events"))
            time.sleep(0.02)
        assert [proc.wait(timeout=60) for proc in procs] == [0, 0]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()

    assert len(seen) > 1
    assert seen == sorted(seen)
    per_worker = client.query("SELECT worker, count(), uniqExact(seq) FROM events GROUP BY worker ORDER BY worker")
    assert per_worker.result_rows == [(1, batches * 500, batches * 500), (2, batches * 500, batches * 500)]


def test_ping_and_plain_http_get(server: StoreServer) -> None:
    assert _http(f"{server.url}/ping") == (200, "Ok.\n")
    assert _http(f"{server.url}/") == (200, "Ok.\n")
    assert _http(f"{server.url}/?query=" + urllib.parse.quote("SELECT 1, 'a'")) == (200, "1\ta\n")

    status, body = _http(f"{server.url}/?query=" + urllib.parse.quote("CREATE TABLE t (a Int8) ENGINE = Memory"))
    assert status == 500
    assert body.startswith("Code: 164. DB::Exception: Cannot execute query in readonly mode")

    assert _http(f"{server.url}/", b"CREATE TABLE t (a Int8) ENGINE = Memory") == (200, "")
    insert = f"{server.url}/?query=" + urllib.parse.quote("INSERT INTO t FORMAT TSV")
    assert _http(insert, b"1\n2\n") == (200, "")
    assert _http(f"{server.url}/?default_format=JSONEachRow", b"SELECT sum(a) AS s FROM t") == (200, '{"s":3}\n')
    assert _http(f"{server.url}/nowhere")[0] == 404


def test_main_entry_point_serves_until_sigterm_and_data_persists(tmp_path: Path) -> None:
    data_dir = tmp_path / "main-store"
    proc, url = _start_main(data_dir)
    try:
        port = urllib.parse.urlsplit(url).port
        assert url == f"http://127.0.0.1:{port}"
        client = clickhouse_connect.get_client(host="127.0.0.1", port=port)
        client.command("CREATE TABLE kept (id UInt32) ENGINE = MergeTree ORDER BY id")
        client.insert("kept", [(i,) for i in range(25)], column_names=["id"])
    finally:
        assert _stop_main(proc) == 0

    proc, url = _start_main(data_dir)
    try:
        client = clickhouse_connect.get_client(host="127.0.0.1", port=urllib.parse.urlsplit(url).port)
        assert client.command("SELECT count() FROM kept") == 25
    finally:
        assert _stop_main(proc) == 0


def test_data_persists_across_stop_and_start_in_process(tmp_path: Path) -> None:
    data_dir = tmp_path / "fresh" / "store"
    store = StoreServer(data_dir)
    store.start()
    try:
        client = _client(store)
        client.command("CREATE TABLE kept (id UInt32, name String) ENGINE = MergeTree ORDER BY id")
        client.insert("kept", [(1, "a"), (2, "b")], column_names=["id", "name"])
    finally:
        store.stop()

    store = StoreServer(str(data_dir))
    store.start()
    try:
        assert _client(store).query("SELECT * FROM kept ORDER BY id").result_rows == [(1, "a"), (2, "b")]
    finally:
        store.stop()


def test_second_process_cannot_open_the_served_data_dir(server: StoreServer, tmp_path: Path) -> None:
    # The reason this server exists: chdb locks its data directory for one process.
    probe = subprocess.run(
        [sys.executable, "-c", f"import chdb; chdb.connect({str(tmp_path / 'store')!r}).query('SELECT 1')"],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert probe.returncode != 0
    assert _client(server).command("SELECT 1") == 1
