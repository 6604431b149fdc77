"""A one-node KRaft Apache Kafka 4.4.0 on loopback: jars resolved once by Maven, topics and offsets kept on disk."""

from __future__ import annotations

import base64
import fcntl
import re
import shutil
import subprocess
import time
import uuid
from importlib import resources
from pathlib import Path

import structlog

from servicepulse.config import DevstackSettings

from .broker import EmbeddedBroker, free_port, wait_for_port

__all__ = [
    "KAFKA_VERSION",
    "ApacheKafkaBroker",
    "BrokerToolsMissing",
    "LocalBroker",
    "cluster_id",
    "java_version",
    "local_broker",
    "missing_tools",
    "resolve_jars",
]

log = structlog.get_logger(__name__)

KAFKA_VERSION = "4.4.0"
MIN_JAVA = 17
INSTALL_HINT = "install them with `sudo apt-get install openjdk-17-jre-headless maven` (Debian/Ubuntu)"
# The jar whose presence (with the marker) says the cache is complete.
_MAIN_JAR = f"kafka_2.13-{KAFKA_VERSION}.jar"
_COMPLETE = ".complete"


class BrokerToolsMissing(RuntimeError):
    """Java 17+ or Maven is missing: the message says which and how to get it."""


def java_version(java: str) -> int:
    """The feature version of `java` (8 for "1.8.0_392", 17 for "17.0.15"); `java -version` writes to stderr."""
    done = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60)
    match = re.search(r'version "(\d+)(?:\.(\d+))?', done.stderr + done.stdout)
    if match is None:
        raise BrokerToolsMissing(f"cannot read the version of {java}: {done.stderr.strip()[:200]}")
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def _java() -> str:
    java = shutil.which("java")
    if java is None:
        raise BrokerToolsMissing(f"Apache Kafka needs Java {MIN_JAVA}+ and `java` is not on PATH: {INSTALL_HINT}")
    version = java_version(java)
    if version < MIN_JAVA:
        raise BrokerToolsMissing(f"Apache Kafka {KAFKA_VERSION} needs Java {MIN_JAVA}+, {java} is Java {version}: "
                                 f"{INSTALL_HINT}")
    return java


def missing_tools(cache_dir: Path) -> str | None:
    """Why Apache Kafka cannot run here (no Java 17+; no Maven while the jars are not cached), or None."""
    try:
        _java()
        if not ((cache_dir.expanduser() / "jars" / _COMPLETE).exists() or shutil.which("mvn")):
            raise BrokerToolsMissing(f"Maven (`mvn`) is missing to fetch the Apache Kafka jars: {INSTALL_HINT}")
    except BrokerToolsMissing as exc:
        return str(exc)
    return None


def resolve_jars(cache_dir: Path, timeout_s: float = 600.0) -> Path:
    """The directory of Kafka's jars: copied from Maven Central by `mvn` on first use, reused afterwards.

    A file lock serialises concurrent first uses (a test run and `up`); a marker written last tells a complete copy
    from one interrupted half-way, which is thrown away and done again.
    """
    cache_dir = cache_dir.expanduser()
    jars = cache_dir / "jars"
    if (jars / _COMPLETE).exists():
        return jars
    cache_dir.mkdir(parents=True, exist_ok=True)
    with open(cache_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (jars / _COMPLETE).exists():
            return jars
        mvn = shutil.which("mvn")
        if mvn is None:
            raise BrokerToolsMissing(
                f"the Apache Kafka jars are not in {cache_dir} yet and Maven (`mvn`) is not on PATH to fetch them: "
                f"{INSTALL_HINT}"
            )
        pom = cache_dir / "pom.xml"
        pom.write_bytes(resources.files("servicepulse.devstack").joinpath("kafka.pom.xml").read_bytes())
        shutil.rmtree(jars, ignore_errors=True)
        started = time.monotonic()
        done = subprocess.run(
            [mvn, "-q", "-B", "-f", str(pom), "dependency:copy-dependencies", f"-DoutputDirectory={jars}"],
            cwd=cache_dir, capture_output=True, text=True, timeout=timeout_s,
        )
        if done.returncode != 0 or not (jars / _MAIN_JAR).exists():
            raise RuntimeError(f"mvn could not fetch Apache Kafka {KAFKA_VERSION} from Maven Central "
                               f"(exit {done.returncode}):\n{(done.stdout + done.stderr)[-3000:]}")
        (jars / _COMPLETE).write_text(KAFKA_VERSION + "\n")
        log.info("apache kafka jars fetched", directory=str(jars), seconds=round(time.monotonic() - started, 1))
    return jars


def cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, URL-safe base64 without padding (what `kafka-storage random-uuid` does).

    One id in 64 starts with "-", which StorageTool's argument parser reads as an option (`format -t -xyz` exits 1);
    Kafka's own `Uuid.randomUuid()` draws again in that case, and so do we.
    """
    while True:
        candidate = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not candidate.startswith("-"):
            return candidate


_LOG4J = """\
status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRefs = out
rootLogger.appenderRef.out.ref = OUT
logger.server.name = kafka.server.KafkaRaftServer
logger.server.level = INFO
"""


class ApacheKafkaBroker:
    """One combined broker+controller node (KRaft). `data_dir` holds its config and log; a restart keeps both.

    The controller port is picked once and kept in the data directory: it is part of the quorum's voter record.
    """

    def __init__(
        self, port: int, data_dir: Path, cache_dir: Path, heap_mb: int = 512, log_file: Path | None = None,
        sasl_users: dict[str, str] | None = None,
    ) -> None:
        self.port = port
        # Optional second listener, SASL_PLAINTEXT with PLAIN users, to test the secured-cluster settings path.
        self.sasl_users = sasl_users
        self.sasl_port = free_port() if sasl_users else None
        self.data_dir = data_dir.resolve()
        self.cache_dir = cache_dir
        self.heap_mb = heap_mb
        self._log_file = log_file
        self._proc: subprocess.Popen[bytes] | None = None
        self.formatted = False  # True when this start formatted a new, empty log

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    def _controller_port(self) -> int:
        path = self.data_dir / "controller-port"
        if path.exists():
            return int(path.read_text())
        port = free_port()
        path.write_text(f"{port}\n")
        return port

    def _write_config(self) -> Path:
        controller = self._controller_port()
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.bootstrap.servers": f"127.0.0.1:{controller}",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{controller}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.data_dir / "log"),
            # As production clusters do: every topic the app uses is created explicitly (ensure_topics).
            "auto.create.topics.enable": "false",
            "num.partitions": "1",
            # One node: the internal topics cannot have more replicas.
            "offsets.topic.replication.factor": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            # No new group member is coming: a first join completes at once instead of after 3 s.
            "group.initial.rebalance.delay.ms": "0",
            "message.max.bytes": str(8 * 1024 * 1024),
        }
        if self.sasl_users:
            users = " ".join(f'user_{u}="{p}"' for u, p in self.sasl_users.items())
            props["listeners"] += f",SASL_PLAINTEXT://127.0.0.1:{self.sasl_port}"
            props["advertised.listeners"] += f",SASL_PLAINTEXT://127.0.0.1:{self.sasl_port}"
            props["listener.security.protocol.map"] += ",SASL_PLAINTEXT:SASL_PLAINTEXT"
            props["sasl.enabled.mechanisms"] = "PLAIN"
            props["listener.name.sasl_plaintext.plain.sasl.jaas.config"] = (
                f"org.apache.kafka.common.security.plain.PlainLoginModule required {users};"
            )
        path = self.data_dir / "server.properties"
        path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
        (self.data_dir / "log4j2.properties").write_text(_LOG4J)
        return path

    def _java_command(self, java: str, jars: Path, main: str, *args: str) -> list[str]:
        return [
            java, f"-Xmx{self.heap_mb}m", f"-Xms{min(self.heap_mb, 128)}m",
            # One small node on a shared machine: the serial collector needs the fewest threads and the least memory.
            "-XX:+UseSerialGC", "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.data_dir / 'log4j2.properties'}",
            "-cp", f"{jars}/*", main, *args,
        ]

    def start(self, timeout_s: float = 120.0) -> None:
        self.formatted = False
        java = _java()
        jars = resolve_jars(self.cache_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self._write_config()
        out = open(self._log_file, "ab") if self._log_file else subprocess.DEVNULL  # noqa: SIM115
        if not (self.data_dir / "log" / "meta.properties").exists():
            done = subprocess.run(
                self._java_command(java, jars, "kafka.tools.StorageTool", "format", "--standalone",
                                   "-t", cluster_id(), "-c", str(config)),
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120,
            )
            if not isinstance(out, int):
                out.write(done.stdout)
                out.flush()
            if done.returncode != 0:
                # StorageTool's own words say why (a bad config, an unparsable argument): keep them in the error.
                lines = done.stdout.decode(errors="replace").splitlines()
                said = "\n".join(line for line in lines if not line.lstrip().startswith(("at ", "..."))).strip()[-1500:]
                raise RuntimeError(f"formatting the Kafka log in {self.data_dir} failed (exit {done.returncode}): "
                                   f"{said}")
            self.formatted = True
        started = time.monotonic()
        self._proc = subprocess.Popen(
            self._java_command(java, jars, "kafka.Kafka", str(config)),
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            wait_for_port(self.port, timeout_s)
            self._wait_ready(time.monotonic() + timeout_s)
        except (TimeoutError, RuntimeError):
            self.stop()
            raise
        log.info("apache kafka started", bootstrap=self.bootstrap, pid=self._proc.pid, data_dir=str(self.data_dir),
                 formatted=self.formatted, seconds=round(time.monotonic() - started, 1))

    def _wait_ready(self, deadline: float) -> None:
        """The port opens before the broker is registered and unfenced; metadata naming a broker means it is."""
        from confluent_kafka import KafkaException
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        while True:
            if not self.alive():
                raise RuntimeError(f"Apache Kafka exited with {self._proc.returncode if self._proc else None}"
                                   + (f"; see {self._log_file}" if self._log_file else ""))
            try:
                if admin.list_topics(timeout=2).brokers:
                    return
            except KafkaException:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"Apache Kafka on {self.bootstrap} not ready")
            time.sleep(0.2)

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop(self, timeout_s: float = 30.0) -> None:
        """SIGTERM is Kafka's controlled shutdown (logs flushed, clean-shutdown marker written); kill if it hangs."""
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                log.warning("apache kafka did not stop in time; killed", pid=self._proc.pid)
                self._proc.kill()
                self._proc.wait()
        self._proc = None


LocalBroker = EmbeddedBroker | ApacheKafkaBroker


def local_broker(
    kind: str, port: int, settings: DevstackSettings, run_dir: Path, log_file: Path | None = None
) -> LocalBroker:
    """The broker `up`, `broker` and the tests start: Tansu in memory, or Apache Kafka with its log on disk."""
    if kind == "tansu":
        return EmbeddedBroker(port, log_file=log_file)
    if kind == "apache-kafka":
        data_dir = settings.kafka_log_dir or run_dir / "kafka"
        return ApacheKafkaBroker(port, data_dir, settings.kafka_cache_dir, settings.kafka_heap_mb, log_file)
    raise ValueError(f"unknown broker kind {kind!r} (tansu or apache-kafka)")

