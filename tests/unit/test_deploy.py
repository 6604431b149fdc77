"""The deploy files: compose parses, every Kubernetes manifest passes its schema, and both run the broker version
and settings the tests run, create every topic explicitly, run the sink as processes of its own and probe the workers
and the sink with `servicepulse health`."""

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
    assert {"kafka", "clickhouse", "init", "worker", "sink", "grafana"} <= set(services)
    assert services["sink"]["command"] == ["sink"] and services["sink"]["image"] == services["worker"]["image"]
    assert services["sink"]["environment"] == services["worker"]["environment"]
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


def _probes(component: str = "worker") -> dict[str, list[str]]:
    (container,) = _one("Deployment", f"servicepulse-{component}")["spec"]["template"]["spec"]["containers"]
    probes = {kind: container[kind]["exec"]["command"] for kind in ("startupProbe", "livenessProbe", "readinessProbe")}
    probes["compose"] = _compose()["services"][component]["healthcheck"]["test"][1:]
    return probes


@pytest.mark.parametrize("component", ["worker", "sink"])
def test_the_probes_are_servicepulse_health(component: str) -> None:
    probes = _probes(component)
    for command in probes.values():
        assert command[:2] == ["servicepulse", "health"]
        # The sink's probes read its own file (sink-N.json), the workers' theirs.
        assert ("--process" in command and command[command.index("--process") + 1] == "sink") == (component == "sink")
    # Liveness never fails on a store outage (a restart would not fix it); readiness does.
    assert "--max-outage" not in probes["livenessProbe"] and "--max-outage" in probes["readinessProbe"]


def _health_record(component: str) -> dict[str, object]:
    record: dict[str, object] = {
        "worker": 0, "pid": None, "updated_at": time.time(), "status": "ok", "last_insert_at": None,
        "outage_since": None, "outage_s": 0, "outage_error": None, "outage_attempts": 0, "partitions": [],
        "rebalance_epoch": 0,
    }
    return record | ({"role": "sink", "partitions": 0} if component == "sink" else {})


@pytest.mark.parametrize("component", ["worker", "sink"])
@pytest.mark.parametrize("kind", ["startupProbe", "livenessProbe", "readinessProbe", "compose"])
def test_each_probe_command_tells_a_stuck_process(
    kind: str, component: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WORKER__HEALTH_DIR", str(tmp_path))
    args = _probes(component)[kind][1:]
    record = _health_record(component)
    path = tmp_path / f"{component}-0.json"
    path.write_text(json.dumps(record))
    assert CliRunner().invoke(app, args).exit_code == 0
    path.write_text(json.dumps(record | {"updated_at": time.time() - 600}))
    assert CliRunner().invoke(app, args).exit_code == 1
    # Only its own file answers: a fresh file of the other kind does not make a stuck process look alive.
    other = "worker" if component == "sink" else "sink"
    (tmp_path / f"{other}-0.json").write_text(json.dumps(_health_record(other)))
    assert CliRunner().invoke(app, args).exit_code == 1


def _pod(component: str) -> dict[str, Any]:
    spec: dict[str, Any] = _one("Deployment", f"servicepulse-{component}")["spec"]["template"]["spec"]
    return spec


def test_the_sink_runs_in_pods_of_its_own_like_the_workers() -> None:
    worker, sink = _pod("worker"), _pod("sink")
    (w,), (s,) = worker["containers"], sink["containers"]
    assert s["args"] == ["sink"] and w["args"] == ["worker"]
    # Same image, configuration, secrets and hardening as the workers.
    for key in ("image", "envFrom", "securityContext", "volumeMounts"):
        assert s[key] == w[key], key
    assert sink["securityContext"] == worker["securityContext"]
    assert [c["args"] for c in sink["initContainers"]] == [["topics"]]
    assert s["resources"]["requests"]["cpu"] and s["resources"]["limits"]["memory"]
    deployment = _one("Deployment", "servicepulse-sink")
    partitions = int(_one("ConfigMap", "servicepulse-config")["data"]["KAFKA__PARTITIONS"])
    assert 1 <= deployment["spec"]["replicas"] <= partitions
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector["app.kubernetes.io/component"] == "sink"
    assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    assert _one("PodDisruptionBudget", "servicepulse-sink")["spec"]["selector"]["matchLabels"] == selector
    # The workers' selector must not pick up the sink pods (and the other way round).
    assert _one("Deployment", "servicepulse-worker")["spec"]["selector"]["matchLabels"] != selector


def test_production_sinks_in_the_sink_processes_not_the_workers() -> None:
    from servicepulse.config import SinkSettings

    assert SinkSettings.model_fields["in_worker"].default is False
    assert "SINK__IN_WORKER" not in _one("ConfigMap", "servicepulse-config")["data"]
    services = _compose()["services"]
    for name in ("worker", "sink"):
        assert "SINK__IN_WORKER" not in services[name]["environment"], name
    assert "SINK__IN_WORKER" not in _compose()["x-servicepulse-env"]
    assert services["sink"]["depends_on"]["init"]["condition"] == "service_completed_successfully"
    # Same image, build and environment as the workers (the YAML merge keys resolved), its own command.
    assert services["sink"]["command"] == ["sink"]
    for key in ("image", "build", "environment", "restart"):
        assert services["sink"][key] == services["worker"][key], key
