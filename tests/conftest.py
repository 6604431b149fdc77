"""Real broker and real ClickHouse for the integration and fault suites: each test its own topics, group, database.

Backend: the embedded stack (the chdb store and a local broker) unless Docker answers, in which case Apache Kafka
and ClickHouse server run in testcontainers. SERVICEPULSE_TEST_BACKEND=embedded|containers forces one.
The embedded stack runs every test on both local brokers, Tansu and a one-node Apache Kafka (auto-create off):
SERVICEPULSE_TEST_BROKER=tansu|apache-kafka|both (default both). Without Java 17+/Maven the Apache Kafka pass is
skipped, with the reason in the summary. Tests marked `broker_independent` (the broker only carries their data)
run once, on Apache Kafka when it can run, else on Tansu.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from servicepulse.config import DevstackSettings
from servicepulse.devstack.kafka import missing_tools
from servicepulse.devstack.stack import embedded_stack
from tests.factories.faults import FAULT_FIGURES
from tests.factories.pipeline import Backend, Pipeline, open_pipeline

pytestmark = pytest.mark.integration


def _docker_available() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0


BROKERS = ("tansu", "apache-kafka")


def brokers_under_test() -> list[str]:
    wanted = os.environ.get("SERVICEPULSE_TEST_BROKER", "both")
    if wanted == "both":
        return list(BROKERS)
    if wanted not in BROKERS:
        raise pytest.UsageError(f"SERVICEPULSE_TEST_BROKER={wanted!r}: tansu, apache-kafka or both")
    return [wanted]


def broker_for_independent_tests() -> str:
    """Where a `broker_independent` test runs its one pass: Apache Kafka, the production broker, when it can run
    here; else the first broker under test."""
    brokers = brokers_under_test()
    if "apache-kafka" in brokers and missing_tools(DevstackSettings().kafka_cache_dir) is None:
        return "apache-kafka"
    return brokers[0]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Tests whose subject is ClickHouse, a file format, the store or a webhook use the broker only to move data:
    # running them once per broker doubles the suite's time for nothing. Tests where the broker matters (group
    # protocol, leader election, kills and rebalances, offsets) keep their pass on every broker.
    once_on: str | None = None
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "backend" in callspec.params:
            # Under pytest-xdist (`-n 2 --dist loadgroup`) every test of one broker runs in one test process, so
            # each process starts at most one stack; tests without a broker spread over both.
            item.add_marker(pytest.mark.xdist_group(str(callspec.params["backend"])))
        if item.get_closest_marker("broker_independent") is None or callspec is None:
            continue
        if "backend" not in callspec.params:
            continue
        once_on = once_on or broker_for_independent_tests()
        if callspec.params["backend"] != once_on:
            item.add_marker(pytest.mark.skip(reason=f"broker-independent: runs once, on {once_on}"))


def pytest_sessionstart(session: pytest.Session) -> None:
    if not hasattr(session.config, "workerinput"):  # the controlling process, not an xdist test process
        FAULT_FIGURES.unlink(missing_ok=True)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FAULT_FIGURES.exists():
        terminalreporter.section("fault figures (events in, rows out, lost, duplicated)")
        for line in FAULT_FIGURES.read_text(encoding="utf-8").splitlines():
            terminalreporter.write_line(line)


@pytest.fixture(scope="session", params=brokers_under_test())
def backend(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Backend]:
    """One session-wide stack per broker; pytest runs every test needing it once per broker, grouped by broker."""
    broker: str = request.param
    wanted = os.environ.get("SERVICEPULSE_TEST_BACKEND", "auto")
    if wanted == "containers" or (wanted == "auto" and _docker_available()):
        if broker != "apache-kafka":
            pytest.skip("the containers backend runs Apache Kafka only")
        yield from _containers()
        return
    if broker == "apache-kafka":
        reason = missing_tools(DevstackSettings().kafka_cache_dir)
        if reason is not None:
            pytest.skip(f"Apache Kafka not tested, Tansu only: {reason}")
    with embedded_stack(tmp_path_factory.mktemp(f"stack-{broker}"), broker) as stack:
        yield Backend(stack.bootstrap, stack.clickhouse_url, broker, stack.store)


def _containers() -> Iterator[Backend]:
    from testcontainers.clickhouse import ClickHouseContainer
    from testcontainers.kafka import KafkaContainer

    with KafkaContainer() as kafka, ClickHouseContainer(port=8123) as clickhouse:
        url = (f"http://{clickhouse.username}:{clickhouse.password}@{clickhouse.get_container_host_ip()}:"
               f"{clickhouse.get_exposed_port(8123)}")
        yield Backend(kafka.get_bootstrap_server(), url, "containers")


@pytest.fixture
def pipeline(backend: Backend, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Pipeline]:
    pipe = open_pipeline(backend, tmp_path)
    try:
        yield pipe
    finally:
        pipe.close_producers()
        pipe.stop_workers()
        if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
            print(pipe.worker_logs()[-6000:])


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
