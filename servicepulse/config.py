"""Settings for every part of servicepulse, read once from environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from servicepulse.domain.parameters import Parameters, load_parameters

__all__ = [
    "DEMO_PSEUDONYM_KEY",
    "AlertChannel",
    "AlertSettings",
    "ClickHouseSettings",
    "DevstackSettings",
    "FinanceSettings",
    "KafkaSettings",
    "LogSettings",
    "MissingSecret",
    "PayrollSettings",
    "ReadbackSettings",
    "RegistrySettings",
    "ReportSettings",
    "RuleSettings",
    "Settings",
    "SinkSettings",
    "Topics",
    "WorkerSettings",
    "load_settings",
]


# The one literal pseudonym key: used only in demo mode (`SERVICEPULSE_DEMO=1`, set by `servicepulse up --demo`
# and the test fixtures), so demo data hashes the same from run to run.
DEMO_PSEUDONYM_KEY = "servicepulse-development-key"


class MissingSecret(RuntimeError):
    """A secret the command needs is not configured."""


class _Group(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Topics(_Group):
    """Topic names; one per event family plus the derived outputs."""

    call_events: str = Field("call-events", description="Contacts: phone, e-mail and chat events")
    invoice_postings: str = Field("invoice-postings", description="Ledger postings, invoices, payments")
    payroll_runs: str = Field("payroll-runs", description="Payroll run headers (opened / closed)")
    payroll_lines: str = Field("payroll-lines", description="One pay line per employee and pay type")
    complaints: str = Field("complaints", description="Complaint / opinion / praise registrations")
    findings: str = Field("findings", description="Control flags raised by rules")
    alerts: str = Field("alerts", description="Raised and resolved alerts for team chat")
    dead_letters: str = Field("dead-letters", description="Input that could not be decoded or validated")
    cases: str = Field("cases", description="Payroll & pension cases opened and closed (lead times)")
    finding_reviews: str = Field("finding-reviews", description="Auditors' reviews of findings (append-only)")
    sample_reviews: str = Field("sample-reviews", description="Auditors' results for sampled pay documents")


class KafkaSettings(_Group):
    bootstrap: str | None = Field(
        None,
        description="Kafka bootstrap servers; unset means `servicepulse up` starts the embedded Tansu broker",
    )
    embedded_port: int = Field(19092, description="Port of the embedded broker on 127.0.0.1")
    partitions: int = Field(4, ge=1, description="Partitions per topic when servicepulse creates topics")
    replication_factor: int = Field(1, ge=1, description="Replication factor for created topics")
    min_insync_replicas: int = Field(
        1, ge=1, description="min.insync.replicas set on created topics (production: 2 with replication factor 3); "
        "the producers use acks=all, so a write needs this many replicas",
    )
    retention_ms: int = Field(7 * 24 * 3600 * 1000, description="retention.ms set on created topics")
    session_timeout_s: float = Field(
        6.0, description="Consumer session timeout; Tansu waits half of it before a group join completes"
    )
    heartbeat_interval_s: float = Field(1.0, description="Consumer heartbeat interval")
    consumer_group: str = Field("servicepulse", description="Faust application id / consumer group")
    security_protocol: str = Field("PLAINTEXT", description="PLAINTEXT, SSL, SASL_SSL ...")
    sasl_mechanism: str | None = Field(None, description="SASL mechanism when SASL is used")
    sasl_username: str | None = Field(None, description="SASL user")
    sasl_password: SecretStr | None = Field(None, description="SASL password")
    ssl_ca_file: Path | None = Field(
        None, description="CA certificate file (PEM) to verify the brokers with SSL or SASL_SSL; unset uses the "
        "system's trust store"
    )
    topics: Topics = Field(default_factory=Topics)

    @model_validator(mode="after")
    def _insync_within_replicas(self) -> KafkaSettings:
        if self.min_insync_replicas > self.replication_factor:
            raise ValueError(f"min_insync_replicas ({self.min_insync_replicas}) exceeds replication_factor "
                             f"({self.replication_factor}): no write could ever succeed")
        return self

    def bootstrap_or_embedded(self) -> str:
        return self.bootstrap or f"127.0.0.1:{self.embedded_port}"


class DevstackSettings(_Group):
    """The local broker `servicepulse up` and `servicepulse broker` start when `KAFKA_BOOTSTRAP` is unset."""

    broker: Literal["tansu", "apache-kafka"] = Field(
        "tansu",
        description="tansu (pip only, memory storage: topics and offsets vanish on stop) or apache-kafka (a one-node "
        "KRaft Apache Kafka 4.4.0 with its log on disk; needs Java 17+ and Maven)",
    )
    kafka_cache_dir: Path = Field(
        Path("~/.cache/servicepulse/kafka-4.4.0"),
        description="Where Maven copies the Apache Kafka jars once; reused when present",
    )
    kafka_log_dir: Path | None = Field(
        None, description="Apache Kafka's data (topics, offsets, KRaft metadata); unset means kafka/ under `up`'s "
        "--run-dir (var/kafka)",
    )
    kafka_heap_mb: int = Field(512, ge=128, description="Apache Kafka JVM heap (-Xmx), MiB")
    start_timeout_s: float = Field(120.0, gt=0, description="Longest wait for the local broker to take requests")


class ClickHouseSettings(_Group):
    url: str | None = Field(
        None,
        description="ClickHouse HTTP URL (http://user:pass@host:8123); unset means the embedded chdb store",
    )
    database: str = Field("servicepulse", description="Database holding every servicepulse table")
    embedded_port: int = Field(18123, description="Port of the embedded store on 127.0.0.1")
    embedded_host: str = Field(
        "127.0.0.1", description="Address the embedded store binds: loopback unless told otherwise (0.0.0.0 or :: "
        "expose it to the network; set a password then)")
    data_dir: Path = Field(Path("var/chdb"), description="Data directory of the embedded store")
    password: SecretStr | None = Field(
        None, description="Password when not given in the URL; the embedded store then requires it of its "
        "`default` user")
    reader_user: str = Field("grafana", description="Name of the embedded store's read-only dashboard user")
    reader_password: SecretStr | None = Field(
        None, description="Password of the embedded store's read-only dashboard user (refused writes and the "
        "restricted tables); unset means there is no such user")
    auditor_user: str = Field("auditor", description="Name of the embedded store's read-only auditor user (audit_* and "
                              "v_* views; refused writes, payroll_people_restricted, payroll_lines and dead_letters)")
    auditor_password: SecretStr | None = Field(
        None, description="Password of the embedded store's auditor user, and the one `servicepulse sql --user "
        "auditor` sends; unset means `auditor` on a development store (bound to loopback, `default` without a "
        "password) and no auditor user anywhere else")
    embedded_max_body_mib: int = Field(256, ge=1, description="Embedded store: largest request body accepted, MiB "
                                       "(larger is refused with 413)")
    embedded_max_decompressed_mib: int = Field(
        1024, ge=1, description="Embedded store: largest request body after decompression, MiB (a compression bomb "
        "is refused with 413 once it expands past this)")
    embedded_max_threads: int = Field(32, ge=1, description="Embedded store: requests handled at once; further "
                                      "connections wait in the listen queue")
    connect_timeout_s: float = Field(
        5.0, gt=0, description="Longest wait to open a connection to the store (a store that is down fails fast)"
    )
    send_receive_timeout_s: float = Field(
        30.0, gt=0,
        description="Longest wait for the store to answer one request; finite so a frozen store cannot hang a thread",
    )

    def url_or_embedded(self) -> str:
        return self.url or f"http://127.0.0.1:{self.embedded_port}"


class RegistrySettings(_Group):
    url: str | None = Field(None, description="Confluent Schema Registry URL; unset uses the file registry")
    file: Path | None = Field(None, description="File registry path; default is schemas/registry.json")


class SinkSettings(_Group):
    batch_max: int = Field(10_000, ge=1, description="Rows per ClickHouse insert when the stream is busy")
    batch_within_s: float = Field(1.0, gt=0, description="Longest wait before a partial batch is written")
    linger_s: float = Field(
        0.0, ge=0, description="How long a sink process's batch keeps collecting after its first message before it is "
        "written (0: as soon as the queue runs dry, the lowest produce-to-queryable latency). A trade-off: raise it "
        "(e.g. 0.2) for fewer, larger inserts when many sink processes write to one ClickHouse server; each batch "
        "then waits up to this long")
    insert_retries: int = Field(
        5, ge=0, description="Retries of one insert inside `insert_rows` (CLI, tests); the sink retries without limit"
    )
    backoff_min_s: float = Field(0.5, gt=0, description="First wait before retrying a write while the store is down")
    backoff_max_s: float = Field(
        15.0, gt=0, description="Longest wait between retries while the store is down (the sink never gives up)"
    )
    commit_interval_s: float = Field(
        0.0, ge=0, description="Sink processes commit consumed offsets after the insert, at most this often (0: "
        "after every batch); what a kill leaves uncommitted is re-read and skipped by the replay guard")
    processes: int = Field(
        0, ge=0, description="Sink processes `up` starts beside the workers (`servicepulse sink --index i`); 0 means "
        "one per core")
    in_worker: bool = Field(
        False, description="Run the sink inside the Faust workers as before (one agent per topic) instead of the "
        "`servicepulse sink` processes; kept for one release as a fallback")


class WorkerSettings(_Group):
    web_port: int = Field(16066, description="First web port; worker i uses web_port + i")
    web_enabled: bool = Field(False, description="Serve Faust's web UI on 127.0.0.1")
    max_poll_records: int = Field(2_000, description="Records per poll; bounded so processing fits the poll interval")
    data_dir: Path = Field(Path("var/faust"), description="Faust table state directory")
    commit_interval_s: float = Field(1.0, gt=0, description="How often consumed offsets are committed")
    commit_every: int = Field(10_000, ge=1, description="Also commit after this many processed messages")
    health_dir: Path = Field(
        Path("var/health"),
        description="Worker i writes worker-i.json here: last successful insert, current store outage, partitions",
    )
    health_interval_s: float = Field(2.0, gt=0, description="How often the health file is rewritten")


# The alert severities from least to most severe (the Severity enum of schemas/events.py, in order).
SEVERITY_ORDER = ("info", "low", "medium", "high", "critical")


class AlertChannel(_Group):
    """One team-chat channel: where its digests go and in which payload shape. The URL holds the webhook's token:
    give it through the environment (a secret store), never in a file of the repository."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$",
                      description="Channel name, the key of its delivery state in `alert_deliveries`")
    kind: Literal["slack", "teams", "mattermost", "generic"] = Field(
        "slack", description="Payload shape: Slack mrkdwn, a Teams Adaptive Card (Workflows webhook), Mattermost "
        "Markdown, or generic JSON (items as fields)")
    url: SecretStr = Field(description="Incoming-webhook URL (a secret)")
    rate_per_minute: int | None = Field(None, ge=1, description="Overrides ALERTS__RATE_PER_MINUTE for this channel")
    rate_per_hour: int | None = Field(None, ge=1, description="Overrides ALERTS__RATE_PER_HOUR for this channel")
    language: Literal["sv", "en"] | None = Field(None, description="Overrides ALERTS__LANGUAGE for this channel")
    rules: list[Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)*\.?$")]] = Field(
        default_factory=list, description='Rules this channel gets: rule ids, or prefixes ending in "." (["payroll.", '
        '"bank.likely_unidentified"]); a worker refuses to start on one that matches no rule. Empty: every rule')
    min_severity: Literal["low", "medium", "high", "critical"] | None = Field(
        None, description="Raises below this severity stay off this channel; a resolve comes when its raise did. "
        "Unset: every severity")

    def severities(self) -> list[str]:
        """The raise severities this channel gets (empty: all)."""
        if self.min_severity is None:
            return []
        return list(SEVERITY_ORDER[SEVERITY_ORDER.index(self.min_severity):])


Route = Literal["now", "batch", "daily"]
_DEFAULT_ROUTES: dict[str, Route] = {
    "critical": "now", "high": "now", "medium": "batch", "low": "daily", "info": "batch",
}


class AlertSettings(_Group):
    """Alert digests to team chat: routed by severity, rate-limited per channel, from an outbox on the leader.

    One message per rule, company/organisation and day lists its items; the outbox is `alert_deliveries`."""

    channels: list[AlertChannel] = Field(
        default_factory=list,
        description='Team-chat channels, JSON: [{"name": "ekonomi", "kind": "mattermost", "url": "https://..."}, '
        "...] (kind slack|teams|mattermost|generic; optional rate_per_minute, rate_per_hour, language, and a filter: "
        'rules, e.g. ["payroll."], and min_severity); a channel without a filter gets every digest. Holds the '
        "webhook URLs: a secret, give it from a secret store, never commit it. Empty: only ALERTS__WEBHOOK_URL, if "
        "set",
    )
    webhook_url: SecretStr | None = Field(
        None, description="One team-chat incoming webhook, the channel `webhook:<format>` beside ALERTS__CHANNELS; "
        "unset = none"
    )
    webhook_format: str = Field("slack", pattern="^(slack|teams|mattermost|generic)$",
                                description="Payload shape of ALERTS__WEBHOOK_URL")
    language: Literal["sv", "en"] = Field("sv", description="Language of the chat text: Swedish or English")
    routes: dict[str, Route] = Field(
        default_factory=lambda: dict(_DEFAULT_ROUTES),
        description='Severity -> when its digest goes out, JSON: "now" (the next tick; several in one tick share a '
        'digest), "batch" (every ALERTS__BATCH_MINUTES) or "daily" (at ALERTS__DAILY_AT); severities not given keep '
        'their default (critical, high: now; medium: batch; low: daily; info, i.e. resolves: batch). A group with '
        "one item due takes its other waiting items along",
    )
    batch_minutes: float = Field(
        10.0, gt=0, le=1440, description="Batched items go out on the Stockholm clock's multiples of this many minutes "
        "(from midnight) after they were stored"
    )
    daily_at: str = Field(
        "07:30", pattern=r"^([01]\d|2[0-3]):[0-5]\d$",
        description="Stockholm time (HH:MM) of the daily digest of the items routed `daily`",
    )
    rate_per_minute: int = Field(
        2, ge=1, description="Token bucket per channel: at most this many messages in a burst and per minute. When "
        "more groups are due than messages allowed, the last allowed message takes the remaining groups; with none "
        "allowed, the items are held and go out in a later digest, never dropped"
    )
    rate_per_hour: int = Field(
        8, ge=1, description="Token bucket per channel: at most this many messages in a burst and per hour (8: at "
        "most 9 in any 10 minutes)"
    )
    digest_max_items: int = Field(
        60, ge=1, description="Items listed in one message at most; a group with more waiting is sent in parts"
    )
    webhook_timeout_s: float = Field(5.0, gt=0, description="Timeout of one POST")
    webhook_batch: int = Field(
        100, ge=1, description="Alerts (oldest first) the delivery timer reads from the outbox per tick and channel to "
        "make digests of; more wait for the next tick"
    )
    delivery_tick_s: float = Field(
        1.0, gt=0, description="How often the leader's delivery timer looks for stored alerts not yet delivered"
    )
    webhook_backoff_s: float = Field(
        1.0, gt=0, description="Wait after a failed POST (endpoint down, 5xx, timeout) before the next try; "
        "doubles with each failure in a row"
    )
    webhook_backoff_max_s: float = Field(
        30.0, gt=0, description="Cap of that wait: an endpoint back after an outage gets its digests within this"
    )
    delivery_lookback_h: int = Field(
        48, ge=25, description="Alerts stored longer ago than this (wall clock) are no longer delivered (more than a "
        "day: the daily digest); also keeps a new outbox from posting the history of alerts stored before it existed"
    )

    def all_channels(self) -> list[AlertChannel]:
        """ALERTS__CHANNELS, plus ALERTS__WEBHOOK_URL as the channel `webhook:<format>` (the name its delivery
        state had before channels, so an upgrade posts nothing twice)."""
        out = list(self.channels)
        if self.webhook_url is not None:
            out.append(AlertChannel(name=f"webhook:{self.webhook_format}", kind=self.webhook_format,
                                    url=self.webhook_url))
        return out

    @field_validator("routes", mode="after")
    @classmethod
    def _default_routes(cls, routes: dict[str, Route]) -> dict[str, Route]:
        unknown = set(routes) - set(_DEFAULT_ROUTES)
        if unknown:
            raise ValueError(f"unknown severities {sorted(unknown)}; one of {list(_DEFAULT_ROUTES)}")
        return _DEFAULT_ROUTES | routes

    @model_validator(mode="after")
    def _distinct_channels(self) -> AlertSettings:
        names = [c.name for c in self.all_channels()]
        if len(names) != len(set(names)):
            raise ValueError(f"alert channel names must be distinct: {names}")
        return self


class FinanceSettings(_Group):
    """Process settings of the finance controls; their business thresholds are rule parameters
    (`servicepulse/domain/parameters.toml`, `servicepulse rules`)."""

    bank_companies: dict[str, str] = Field(
        default_factory=dict,
        description='Bankgiro/IBAN -> ledger company, JSON: {"0009912346": "1040"}; unmapped accounts stand '
        "for themselves",
    )


class ReadbackSettings(_Group):
    """The timers and checks that read ClickHouse back (`servicepulse.streams.readback`)."""

    sla_tick_s: float = Field(
        3.0, gt=0, description="How often the leader's SLA monitor reads ClickHouse; decisions run on event time, so "
        "this only sets how soon after the data arrives an alert goes out",
    )
    sla_lookback_days: int = Field(
        45, ge=1, description="E-mails and cases older than this (event time) are no longer re-read on each tick"
    )
    clock_idle_s: float = Field(
        10.0, gt=0, description="A partition with nothing stored for this long (wall clock) is caught up and no "
        "longer holds the SLA monitor's event-time clock back",
    )
    finance_interval_s: float = Field(60.0, gt=0, description="How often the leader's finance review reads the window")
    finance_lookback_days: int = Field(
        45, ge=1, description="Days of supplier invoices and payments each finance review reads (event time)"
    )
    payroll_wait_for_lines_s: float = Field(
        600.0, ge=0, description="How long a closed payroll run's check waits for all its lines to be stored"
    )
    payroll_poll_s: float = Field(
        0.5, gt=0, description="First interval of that wait's polls of the stored line count (it doubles up to "
        "READBACK__PAYROLL_POLL_MAX_S)"
    )
    payroll_poll_max_s: float = Field(
        5.0, gt=0, description="Longest interval between two polls of a waiting payroll run's stored line count"
    )
    lag_tick_s: float = Field(
        15.0, gt=0, description="How often the leader samples the consumer group's lag into `consumer_lag`"
    )
    dead_letter_tick_s: float = Field(
        5.0, gt=0, description="How often the leader reads stored dead letters back to raise `ops.dead_letters`"
    )
    dead_letter_lookback_h: int = Field(
        48, ge=1, description="Hours of dead letters (before the newest one) that step reads on each tick"
    )


class PayrollSettings(_Group):
    pseudonym_key: SecretStr | None = Field(
        None,
        description="HMAC key for bank-account hashes and protected persons' pseudonyms: a secret, required "
        "(in demo mode, SERVICEPULSE_DEMO=1, a fixed demo key stands in, which anyone with the code can use to "
        "brute-force the hashes)",
    )

    def key(self) -> str:
        """The pseudonym key, or a clear error when none is configured."""
        if self.pseudonym_key is None or not self.pseudonym_key.get_secret_value():
            raise MissingSecret("no pseudonym key: set PAYROLL__PSEUDONYM_KEY to a secret (or SERVICEPULSE_DEMO=1 "
                                "for the demo key)")
        return self.pseudonym_key.get_secret_value()


class RuleSettings(_Group):
    parameters_file: Path | None = Field(
        None,
        description="Operator's override of rule parameters and business targets: a TOML file holding only what "
        "differs from servicepulse/domain/parameters.toml (see `servicepulse rules`)",
    )


class ReportSettings(_Group):
    """The tertial report (`servicepulse report`): how close to a target counts as yellow, and the browser."""

    ratio_margin: float = Field(
        0.02, ge=0, le=1, description="A share target (service level, first-contact resolution, in time) missed by "
        "at most this (0.02 = 2 percentage points) shows yellow, further off red",
    )
    per_fte_margin: float = Field(
        0.05, ge=0, le=1, description="A productivity target (per full-time employee and month) missed by at most "
        "this fraction of the target shows yellow, further off red",
    )
    change_margin: float = Field(
        0.03, ge=0, le=1, description="The 9894 goal (change against the same period last year) missed by at most "
        "this (0.03 = 3 percentage points) shows yellow, further off red",
    )
    chromium: str = Field(
        "chromium", description="Headless Chromium used by `report --pdf` to print the page (a name on PATH or a path)"
    )


class LogSettings(_Group):
    format: str = Field("auto", description="auto (json unless a terminal), json or console")
    level: str = Field("INFO", description="Log level")


class Settings(BaseSettings):
    """Root settings. Environment variables use `__` for nesting, e.g. `SINK__BATCH_MAX=5000`."""

    model_config = SettingsConfigDict(
        env_nested_delimiter="__", frozen=True, extra="ignore", populate_by_name=True
    )

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    clickhouse: ClickHouseSettings = Field(default_factory=ClickHouseSettings)
    devstack: DevstackSettings = Field(default_factory=DevstackSettings)
    registry: RegistrySettings = Field(default_factory=RegistrySettings)
    sink: SinkSettings = Field(default_factory=SinkSettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    log: LogSettings = Field(default_factory=LogSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    finance: FinanceSettings = Field(default_factory=FinanceSettings)
    payroll: PayrollSettings = Field(default_factory=PayrollSettings)
    readback: ReadbackSettings = Field(default_factory=ReadbackSettings)
    rules: RuleSettings = Field(default_factory=RuleSettings)
    report: ReportSettings = Field(default_factory=ReportSettings)
    demo: bool = Field(
        False,
        validation_alias=AliasChoices("SERVICEPULSE_DEMO"),
        description="Demo mode (set by `servicepulse up --demo`): the demo pseudonym key stands in when none is set",
    )

    # Short top-level names that operators expect; they override the nested values.
    kafka_bootstrap: str | None = Field(None, validation_alias=AliasChoices("KAFKA_BOOTSTRAP"))
    clickhouse_url: str | None = Field(None, validation_alias=AliasChoices("CLICKHOUSE_URL"))
    schema_registry_url: str | None = Field(None, validation_alias=AliasChoices("SCHEMA_REGISTRY_URL"))

    def model_post_init(self, __context: object) -> None:
        overrides = (
            ("kafka", "bootstrap", self.kafka_bootstrap),
            ("clickhouse", "url", self.clickhouse_url),
            ("registry", "url", self.schema_registry_url),
        )
        for group, field, value in overrides:
            if value:
                updated = getattr(self, group).model_copy(update={field: value})
                object.__setattr__(self, group, updated)
        if self.demo and self.payroll.pseudonym_key is None:
            object.__setattr__(self, "payroll",
                               self.payroll.model_copy(update={"pseudonym_key": SecretStr(DEMO_PSEUDONYM_KEY)}))

    def require_safe_pseudonym_key(self) -> None:
        """Refuse the demo pseudonym key (anyone with the code can brute-force its hashes) against a Kafka that is
        not on this machine: the embedded broker, or one on loopback, is the only place for demo data."""
        key = self.payroll.pseudonym_key
        if key is None or key.get_secret_value() != DEMO_PSEUDONYM_KEY or _loopback_only(self.kafka.bootstrap):
            return
        raise MissingSecret(f"the demo pseudonym key is not allowed with Kafka at {self.kafka.bootstrap}: set "
                            "PAYROLL__PSEUDONYM_KEY to a secret (and unset SERVICEPULSE_DEMO)")

    def parameters(self) -> Parameters:
        """Rule parameters and business targets: the parameters file with the operator's override file on top."""
        return load_parameters(self.rules.parameters_file)


def _loopback_only(bootstrap: str | None) -> bool:
    """Whether every bootstrap server is on this machine (unset: the embedded broker)."""
    if not bootstrap:
        return True
    for server in bootstrap.split(","):
        host = server.strip().rsplit(":", 1)[0].strip("[]").lower() if ":" in server else server.strip().lower()
        if not (host == "localhost" or host == "::1" or host.startswith("127.")):
            return False
    return True


def load_settings(**overrides: object) -> Settings:
    """Read the environment once; callers pass the result down instead of reading os.environ."""
    return Settings(**overrides)  # type: ignore[arg-type]
