"""The deploy files: compose parses, every Kubernetes manifest passes its schema, and both run the broker version
and settings the tests run, create every topic explicitly and probe the workers with `servicepulse health`."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from typer.testing import CliRunner

from servicepulse.cli.main import app
from servicepulse.devstack.kafka import KAFKA_VERSION, ApacheKafkaBroker

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "docker-compose.yml"
MANIFESTS = sorted((DEPLOY / "k8s").rglob("*.yaml"))
# The schemas bundled with the pinned kubernetes-validate; a cluster older than this may lack newer fields.
KUBERNETES_VERSION = "1.33.0"


def _documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]


def _all_resources() -> list[dict[str, Any]]:
    return [doc for path in MANIFESTS for doc in _documents(path)]


def _one(kind: str, name: str) -> dict[str, Any]:
    (found,) = [d for d in _all_resources() if d["kind"] == kind and d["metadata"]["name"] == name]
    return found


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return data


def _compose_cli() -> str | None:
    """Why `docker compose` cannot run here, or None."""
    docker = shutil.which("docker")
    if docker is None:
        return "the docker client is not installed"
    done = subprocess.run([docker, "compose", "version"], capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        return f"the docker compose plugin is missing ({(done.stderr or done.stdout).strip().splitlines()[0]})"
    return None


@pytest.mark.parametrize("profile", [[], ["--profile", "demo"]], ids=["default", "demo"])
def test_docker_compose_config_accepts_the_file(profile: list[str]) -> None:
    # `docker compose config` resolves and validates the file in the client: no engine, no network.
    reason = _compose_cli()
    if reason is not None:
        pytest.skip(f"docker compose config not run: {reason}")
    done = subprocess.run(["docker", "compose", "-f", str(COMPOSE), *profile, "config", "--format", "json"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    services = json.loads(done.stdout)["services"]
    assert {"kafka", "clickhouse", "init", "worker", "grafana"} <= set(services)
    assert ("simulator" in services) == bool(profile)


@pytest.mark.parametrize("path", MANIFESTS, ids=[str(p.relative_to(DEPLOY)) for p in MANIFESTS])
def test_every_kubernetes_manifest_passes_the_schema(path: Path) -> None:
    documents = _documents(path)
    assert documents
    for document in documents:
        # strict: an unknown or misspelt field is an error, not silently dropped by the API server.
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_the_schema_check_does_catch_a_mistake() -> None:
    deployment = _one("Deployment", "servicepulse-worker")
    broken = json.loads(json.dumps(deployment))
    broken["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["exec"]["commnd"] = ["x"]
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def _kafka_env_k8s() -> dict[str, str]:
    (container,) = _one("StatefulSet", "kafka")["spec"]["template"]["spec"]["containers"]
    return {e["name"]: str(e["value"]) for e in container["env"]}


def _kafka_env_compose() -> dict[str, str]:
    return {k: str(v) for k, v in _compose()["services"]["kafka"]["environment"].items()}


def _property_env(name: str) -> str:
    """The apache/kafka image's spelling of a broker property as a variable."""
    return "KAFKA_" + name.upper().replace(".", "_")


def test_compose_kubernetes_and_the_tests_run_one_kafka_version() -> None:
    image = f"apache/kafka:{KAFKA_VERSION}"
    assert _compose()["services"]["kafka"]["image"] == image
    (container,) = _one("StatefulSet", "kafka")["spec"]["template"]["spec"]["containers"]
    assert container["image"] == image
    pom = (ROOT / "servicepulse" / "devstack" / "kafka.pom.xml").read_text(encoding="utf-8")
    assert f"<version>{KAFKA_VERSION}</version>" in pom


def test_the_deployed_brokers_have_the_test_brokers_settings(tmp_path: Path) -> None:
    broker = ApacheKafkaBroker(port=1, data_dir=tmp_path, cache_dir=tmp_path)
    config = broker._write_config()
    props = dict(line.split("=", 1) for line in config.read_text().splitlines() if line)
    compose, k8s = _kafka_env_compose(), _kafka_env_k8s()
    for name in ("auto.create.topics.enable", "group.initial.rebalance.delay.ms", "message.max.bytes",
                 "num.partitions", "process.roles"):
        assert compose[_property_env(name)] == props[name], name
        assert k8s[_property_env(name)] == props[name], name
    # One node in compose, as in the tests; three in Kubernetes, with the internal topics replicated to match.
    for name in ("offsets.topic.replication.factor", "transaction.state.log.replication.factor",
                 "transaction.state.log.min.isr", "share.coordinator.state.topic.replication.factor",
                 "share.coordinator.state.topic.min.isr"):
        assert compose[_property_env(name)] == props[name], name
    assert _one("StatefulSet", "kafka")["spec"]["replicas"] == 3
    assert k8s["KAFKA_DEFAULT_REPLICATION_FACTOR"] == "3" and k8s["KAFKA_MIN_INSYNC_REPLICAS"] == "2"
    assert k8s["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "3"
    assert k8s["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"] == "2"


def test_the_apps_topic_settings_match_the_brokers() -> None:
    compose_env = _compose()["x-servicepulse-env"]
    assert compose_env["KAFKA__REPLICATION_FACTOR"] == "1" and compose_env["KAFKA__MIN_INSYNC_REPLICAS"] == "1"
    data = _one("ConfigMap", "servicepulse-config")["data"]
    assert data["KAFKA__REPLICATION_FACTOR"] == "3" and data["KAFKA__MIN_INSYNC_REPLICAS"] == "2"
    assert int(data["KAFKA__PARTITIONS"]) >= _one("Deployment", "servicepulse-worker")["spec"]["replicas"]
    assert data["KAFKA_BOOTSTRAP"].startswith("kafka.servicepulse.svc")


def test_topics_are_created_explicitly_before_any_worker_starts() -> None:
    services = _compose()["services"]
    assert "servicepulse topics" in services["init"]["command"][0]
    assert services["worker"]["depends_on"]["init"]["condition"] == "service_completed_successfully"
    spec = _one("Deployment", "servicepulse-worker")["spec"]["template"]["spec"]
    (init,) = spec["initContainers"]
    assert init["args"] == ["topics"]
    job = _one("Job", "servicepulse-migrate")["spec"]["template"]["spec"]["containers"][0]
    assert "servicepulse topics" in job["args"][0]


def _probes() -> dict[str, list[str]]:
    (worker,) = _one("Deployment", "servicepulse-worker")["spec"]["template"]["spec"]["containers"]
    probes = {kind: worker[kind]["exec"]["command"] for kind in ("startupProbe", "livenessProbe", "readinessProbe")}
    probes["compose"] = _compose()["services"]["worker"]["healthcheck"]["test"][1:]
    return probes


def test_the_worker_probes_are_servicepulse_health() -> None:
    probes = _probes()
    for command in probes.values():
        assert command[:2] == ["servicepulse", "health"]
    # Liveness never fails on a store outage (a restart would not fix it); readiness does.
    assert "--max-outage" not in probes["livenessProbe"] and "--max-outage" in probes["readinessProbe"]


@pytest.mark.parametrize("kind", ["startupProbe", "livenessProbe", "readinessProbe", "compose"])
def test_each_probe_command_tells_a_stuck_worker(kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKER__HEALTH_DIR", str(tmp_path))
    args = _probes()[kind][1:]
    record: dict[str, object] = {
        "worker": 0, "pid": None, "updated_at": time.time(), "status": "ok", "last_insert_at": None,
        "outage_since": None, "outage_s": 0, "outage_error": None, "outage_attempts": 0, "partitions": [],
        "rebalance_epoch": 0,
    }
    path = tmp_path / "worker-0.json"
    path.write_text(json.dumps(record))
    assert CliRunner().invoke(app, args).exit_code == 0
    path.write_text(json.dumps(record | {"updated_at": time.time() - 600}))
    assert CliRunner().invoke(app, args).exit_code == 1
