"""The Faust application: settings tuned for the embedded broker and for a real Kafka alike."""

from __future__ import annotations

import ssl

import faust

from servicepulse.config import Settings

from .fence import Fence, FencedApp, fence_of

__all__ = ["build_app"]


def build_app(settings: Settings, worker_index: int = 0) -> faust.App:
    kafka = settings.kafka
    datadir = settings.worker.data_dir / f"worker-{worker_index}"
    datadir.mkdir(parents=True, exist_ok=True)
    broker = ";".join(f"kafka://{b}" for b in kafka.bootstrap_or_embedded().split(","))
    app = FencedApp(
        kafka.consumer_group,
        broker=broker,
        broker_credentials=_credentials(settings),
        # Tansu completes a group join only after session_timeout/2: a short session means a fast start,
        # and a dead worker's partitions move in ~12 s instead of ~90 s (measured).
        broker_session_timeout=kafka.session_timeout_s,
        broker_heartbeat_interval=kafka.heartbeat_interval_s,
        broker_rebalance_timeout=20.0,
        broker_max_poll_interval=60.0,
        broker_request_timeout=max(30.0, kafka.session_timeout_s * 5),
        broker_commit_interval=settings.worker.commit_interval_s,
        broker_commit_every=settings.worker.commit_every,
        # Without a bound one poll can return ~100k buffered records; processing them outlasts the poll
        # interval and the consumer silently leaves the group (measured).
        broker_max_poll_records=settings.worker.max_poll_records,
        consumer_auto_offset_reset="earliest",
        producer_linger=0.02,
        topic_partitions=kafka.partitions,
        topic_replication_factor=kafka.replication_factor,
        topic_allow_declare=False,
        value_serializer="raw",
        key_serializer="raw",
        web_enabled=settings.worker.web_enabled,
        web_bind="127.0.0.1",
        web_port=settings.worker.web_port + worker_index,
        datadir=str(datadir),
        store="memory://",
        autodiscover=False,
    )
    # Every writer checks the fence before it inserts: a worker that lost its partitions adds no rows.
    app.fence = Fence(stall_limit_s=kafka.session_timeout_s)
    fence_of(app)
    from servicepulse.connectors.serde import WireCodec, build_registry

    from . import readback, sink_agents
    from .complaints import agents as complaints_agents
    from .contact import agents as contact_agents
    from .finance import agents as finance_agents
    from .ops import agents as ops_agents
    from .payroll import agents as payroll_agents

    codec = WireCodec(build_registry(settings.registry.url, settings.registry.file))
    # The sink writes every topic into ClickHouse; the areas' agents apply per-event rules; the read-back
    # loop reads the stored facts back for the rules that need more than one event.
    sink_agents.register(app, settings, codec, worker_index)
    for area in (contact_agents, complaints_agents, finance_agents, payroll_agents, ops_agents):
        area.register(app, settings, codec)
    readback.register(app, settings, codec)
    return app


def _credentials(settings: Settings) -> object | None:
    """What Faust needs to reach the brokers as the confluent-kafka clients do: TLS with SSL and SASL_SSL (the CA
    file, or the system's trust store), SASL credentials when a mechanism is set."""
    kafka = settings.kafka
    tls = kafka.security_protocol.upper() in ("SSL", "SASL_SSL")
    context = None
    if tls:
        cafile = str(kafka.ssl_ca_file) if kafka.ssl_ca_file is not None else None
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cafile)
    if kafka.sasl_mechanism:
        password = kafka.sasl_password.get_secret_value() if kafka.sasl_password else ""
        return faust.SASLCredentials(username=kafka.sasl_username or "", password=password,
                                     mechanism=kafka.sasl_mechanism, ssl_context=context)
    return faust.SSLCredentials(context) if context is not None else None
