"""Pipeline health dashboard (pipeline-health.json): ingestion, consumer lag, dead letters, alerts, findings."""

from __future__ import annotations

from .panels import Column, Dashboard, Panel, Row

DASHBOARD = Dashboard(
    module="pipeline_health",
    file="pipeline-health.json",
    uid="servicepulse-pipeline-health",
    title="Pipeline health",
    description="Ingestion rate per table, dead letters, alerts and findings.",
    tags=("servicepulse", "operations", "pipeline"),
    refresh="30s",
    time_from="now-6h",
    variables=(),
    items=(
        Row("Ingestion"),
        Panel(
            "timeseries",
            "Rows ingested per minute",
            "rows_ingested_per_minute",
            "Rows written by the sink per table, as a per-minute rate (bucket count × 60 / bucket seconds), by the "
            "time the row was stored (_ingested_at, UTC). Physical rows — redeliveries that ReplacingMergeTree later "
            "collapses are counted here on purpose.",
            w=16,
            h=9,
            unit="short",
            label="table_name",
            legend=("mean", "max"),
            interval="1m",
        ),
        Panel(
            "table",
            "Stored rows and highest offset per topic",
            "stored_rows_and_highest_offset_per",
            "From sink_watermarks (kept by materialized views in the same insert as the rows): rows stored and the "
            "highest Kafka offset written per table and topic, over all time. Not limited by the time range.",
            w=8,
            h=9,
        ),
        Row("Consumer lag"),
        Panel(
            "timeseries",
            "Consumer lag per topic",
            "consumer_lag_per_topic",
            "Messages the consumer group has not yet committed, per topic (sum over partitions), sampled by the "
            "leader every READBACK__LAG_TICK_S from the broker's end offsets and the group's committed offsets. True "
            "lag on Apache Kafka; on the embedded Tansu broker the end offsets can be off, so there it is a hint. A "
            "partition never committed is left out, not counted as 0.",
            w=16,
            h=9,
            unit="short",
            label="topic",
            legend=("mean", "max"),
            interval="1m",
        ),
        Panel(
            "table",
            "Consumer lag now, per partition",
            "consumer_lag_now_per_partition",
            "The latest sample per partition: end offset on the broker, the group's committed offset and the lag.",
            w=8,
            h=9,
            filterable=False,
        ),
        Row("Dead letters"),
        Panel(
            "timeseries",
            "Dead letters per source topic and kind",
            "dead_letters_per_source_topic_and",
            "Input the pipeline could not decode or validate, per source topic and kind, per interval.",
            w=12,
            h=9,
            unit="short",
            label="source",
            bars=True,
            stacked=True,
            interval="1m",
        ),
        Panel(
            "table",
            "Dead letters — latest reasons",
            "dead_letters_latest_reasons",
            "Per source topic, kind and stage in the selected range: count, first and last failure and the latest "
            "reason. The rejected payloads themselves are in dead_letters.payload for authorised staff; they are "
            "never shown here.",
            w=12,
            h=9,
        ),
        Row("Alerts and findings"),
        Panel(
            "table",
            "Alerts",
            "alerts",
            "Raised and resolved alerts in the selected range (read with FINAL: alerts are collapsed on deterministic"
            " ids), newest first.",
            w=24,
            h=9,
            columns=(Column("state", color_text=True, value_colors=(("raised", "red"), ("resolved", "green"))),),
        ),
        Panel(
            "timeseries",
            "Findings per rule",
            "findings_per_rule",
            "Control findings per rule by detection time (findings read with FINAL).",
            w=16,
            h=8,
            unit="short",
            label="rule_id",
            bars=True,
            stacked=True,
            interval="1h",
        ),
        Panel(
            "table",
            "Findings per rule and severity",
            "findings_per_rule_and_severity",
            "Findings detected in the selected range per rule, version and severity.",
            w=8,
            h=8,
        ),
    ),
)
