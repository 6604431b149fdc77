"""The Apache Kafka dev broker's pure parts: Java version check, broker-reset detection, cache and errors."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from servicepulse.config import DevstackSettings, KafkaSettings
from servicepulse.connectors.kafka import reset_partitions
from servicepulse.devstack import kafka
from servicepulse.devstack.broker import EmbeddedBroker


@pytest.mark.parametrize(("banner", "version"), [
    ('openjdk version "17.0.15" 2025-04-15', 17),
    ('openjdk version "25" 2025-09-16', 25),
    ('java version "1.8.0_392"', 8),
])
def test_java_version_reads_the_banner(monkeypatch: pytest.MonkeyPatch, banner: str, version: int) -> None:
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(a, 0, "", banner + "\n"))
    assert kafka.java_version("java") == version


def test_old_or_missing_java_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    reason = kafka.missing_tools(tmp_path)
    assert reason is not None and "apt-get install openjdk-17-jre-headless maven" in reason
    monkeypatch.setattr(shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(kafka, "java_version", lambda _java: 11)
    with pytest.raises(kafka.BrokerToolsMissing, match="needs Java 17"):
        kafka.ApacheKafkaBroker(1, tmp_path / "k", tmp_path / "cache").start()


def test_missing_maven_matters_only_while_the_jars_are_not_cached(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None if name == "mvn" else f"/usr/bin/{name}")
    monkeypatch.setattr(kafka, "java_version", lambda _java: 17)
    assert "Maven" in (kafka.missing_tools(tmp_path) or "")
    with pytest.raises(kafka.BrokerToolsMissing, match="mvn"):
        kafka.resolve_jars(tmp_path)
    (tmp_path / "jars").mkdir()
    (tmp_path / "jars" / ".complete").write_text("4.4.0\n")
    assert kafka.missing_tools(tmp_path) is None
    assert kafka.resolve_jars(tmp_path) == tmp_path / "jars"


def test_the_pom_ships_with_the_package_and_names_the_version() -> None:
    from importlib import resources

    pom = resources.files("servicepulse.devstack").joinpath("kafka.pom.xml").read_text()
    assert f"<artifactId>kafka_2.13</artifactId>\n      <version>{kafka.KAFKA_VERSION}</version>" in pom


def test_local_broker_picks_the_kind_and_keeps_the_log_under_the_run_dir(tmp_path: Path) -> None:
    settings = DevstackSettings()
    assert isinstance(kafka.local_broker("tansu", 1, settings, tmp_path), EmbeddedBroker)
    broker = kafka.local_broker("apache-kafka", 1, settings, tmp_path)
    assert isinstance(broker, kafka.ApacheKafkaBroker) and broker.data_dir == (tmp_path / "kafka").resolve()
    with pytest.raises(ValueError, match="unknown broker kind"):
        kafka.local_broker("redpanda", 1, settings, tmp_path)


def test_only_partitions_the_broker_started_again_lose_their_watermarks() -> None:
    stored = {("calls", 0): 41, ("calls", 1): 9, ("gone", 0): 3}
    # A broker that kept its log: end offsets past every stored offset; nothing is reset.
    assert reset_partitions(stored, {("calls", 0): (0, 42), ("calls", 1): (0, 60), ("gone", 0): (0, 4)}) == []
    # Partition 1 starts from 0 again (its end is below the stored offset); the topic "gone" no longer exists.
    assert reset_partitions(stored, {("calls", 0): (0, 42), ("calls", 1): (0, 9)}) == [("calls", 1), ("gone", 0)]
    # An empty broker resets all.
    assert reset_partitions(stored, {k: (0, 0) for k in stored}) == sorted(stored)


def test_min_insync_replicas_cannot_exceed_the_replication_factor() -> None:
    assert KafkaSettings(replication_factor=3, min_insync_replicas=2).min_insync_replicas == 2
    with pytest.raises(ValueError, match="exceeds replication_factor"):
        KafkaSettings(replication_factor=1, min_insync_replicas=2)


def test_cluster_ids_never_read_as_an_option() -> None:
    """A CI run failed once: `StorageTool format -t -Xy...` exits 1. One random id in 64 starts with "-"."""
    ids = [kafka.cluster_id() for _ in range(3000)]
    assert not [i for i in ids if i.startswith("-")]
    assert all(len(i) == 22 for i in ids) and len(set(ids)) == len(ids)


def test_a_failed_format_says_why(tmp_path: Path) -> None:
    """StorageTool's own message is in the error, not only its exit code."""
    if kafka.missing_tools(DevstackSettings().kafka_cache_dir) is not None:
        pytest.skip("no Java 17+ / Kafka jars here to run StorageTool")
    broker = kafka.ApacheKafkaBroker(1, tmp_path / "k", DevstackSettings().kafka_cache_dir)
    broker.sasl_users = {"admin": "x"}
    broker.sasl_port = broker.port  # two listeners on one port: Kafka refuses the config
    with pytest.raises(RuntimeError, match=r"(?s)formatting the Kafka log .* failed .*two listeners on the same port"):
        broker.start()
