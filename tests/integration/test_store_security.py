"""The embedded store's users and limits, against the real store server process: a read-only dashboard user
refused writes and the restricted table, oversized and compression-bomb bodies refused."""

from __future__ import annotations

import gzip
import signal
import socket
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from servicepulse.devstack.broker import free_port
from servicepulse.devstack.stack import start_store


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    run_dir = tmp_path_factory.mktemp("store-security")
    port = free_port()
    with pytest.MonkeyPatch.context() as mp:
        for name, value in {"CLICKHOUSE__PASSWORD": "writer-secret", "CLICKHOUSE__READER_PASSWORD": "reader-secret",
                            "CLICKHOUSE__EMBEDDED_MAX_BODY_MIB": "1",
                            "CLICKHOUSE__EMBEDDED_MAX_DECOMPRESSED_MIB": "4"}.items():
            mp.setenv(name, value)
        proc = start_store(run_dir / "chdb", port, run_dir / "store.log")
    url = f"http://127.0.0.1:{port}/"
    try:
        for sql in ("CREATE TABLE payroll_people_restricted (personnummer String) ENGINE = MergeTree ORDER BY tuple()",
                    "CREATE TABLE findings (id String) ENGINE = MergeTree ORDER BY tuple()",
                    "INSERT INTO findings VALUES ('f1')"):
            status, body = _post(url, sql.encode(), "default", "writer-secret")
            assert status == 200, body
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        print(Path(run_dir / "store.log").read_text()[-500:])


def _post(url: str, body: bytes, user: str | None, password: str | None,
          headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, method="POST", headers=headers or {})
    if user is not None:
        request.add_header("X-ClickHouse-User", user)
        request.add_header("X-ClickHouse-Key", password or "")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_users_are_required_and_checked(store: str) -> None:
    assert _post(store, b"SELECT 1", None, None)[0] == 403  # the default user needs its password now
    assert _post(store, b"SELECT 1", "default", "wrong")[0] == 403
    assert _post(store, b"SELECT 1", "nobody", "reader-secret")[0] == 403
    assert _post(store, b"SELECT 1", "default", "writer-secret") == (200, "1\n")


def test_reader_reads_but_never_writes_nor_the_restricted_table(store: str) -> None:
    reader = ("grafana", "reader-secret")
    assert _post(store, b"SELECT id FROM findings", *reader) == (200, "f1\n")
    refused = {
        "insert": b"INSERT INTO findings VALUES ('f2')",
        "drop": b"DROP TABLE findings",
        "select restricted": b"SELECT * FROM payroll_people_restricted",
        "quoted": b"SELECT * FROM `PAYROLL_people_restricted`",
        "merge()": b"SELECT * FROM merge(currentDatabase(), '^payroll_people_r')",
        "file()": b"SELECT * FROM file('/etc/passwd', 'LineAsString')",
        "insert restricted": b"INSERT INTO payroll_people_restricted VALUES ('x')",
    }
    for what, sql in refused.items():
        status, body = _post(store, sql, *reader)
        assert status in (403, 500) and ("ACCESS_DENIED" in body or "READONLY" in body), (what, status, body)
    # the readonly=0 URL parameter does not lift it
    status, body = _post(store + "?readonly=0", b"INSERT INTO findings VALUES ('f3')", *reader)
    assert "READONLY" in body, body
    assert _post(store, b"SELECT count() FROM findings", "default", "writer-secret") == (200, "1\n")
    assert _post(store, b"SELECT count() FROM payroll_people_restricted", "default", "writer-secret")[0] == 200
    print(f"\nstore security: {len(refused) + 1} reader queries refused, 1 allowed")


def test_oversized_body_is_refused(store: str) -> None:
    # The server answers on the declared length, before reading the body: send only the headers, so the
    # answer cannot race with a client still writing 2 MiB into a socket the server already closed.
    url = urllib.parse.urlsplit(store)
    with socket.create_connection((url.hostname or "127.0.0.1", url.port or 80), timeout=10) as conn:
        conn.sendall(f"POST / HTTP/1.1\r\nHost: {url.hostname}\r\n"
                     "X-ClickHouse-User: default\r\nX-ClickHouse-Key: writer-secret\r\n"
                     f"Content-Length: {2 * 1024 * 1024}\r\n\r\n".encode())
        status_line = conn.makefile("rb").readline().decode()
    assert status_line.split()[1] == "413", status_line


def test_gzip_bomb_is_refused(store: str) -> None:
    bomb = gzip.compress(b"INSERT INTO findings FORMAT TabSeparated\n" + b"0" * (64 * 1024 * 1024))
    assert len(bomb) < 1024 * 1024  # small on the wire, 64 MiB once expanded (the limit here is 4)
    status, body = _post(store, bomb, "default", "writer-secret", {"Content-Encoding": "gzip"})
    assert status == 413 and "QUERY_IS_TOO_LARGE" in body, body
    small = gzip.compress(b"SELECT count() FROM findings")
    assert _post(store, small, "default", "writer-secret", {"Content-Encoding": "gzip"}) == (200, "1\n")
