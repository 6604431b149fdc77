"""Alert channels with a filter: each channel's outbox offers only its rules and severities, a resolve where its
raise went, read by the delivery's own SQL from the real store."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from servicepulse.config import AlertChannel
from servicepulse.connectors.clickhouse import ThreadClients, dedup_token, insert_rows
from servicepulse.schemas.events import Alert
from servicepulse.streams.readback.alert_delivery import Outbox
from servicepulse.streams.sink import TABLES, Message, decode_batch
from tests.factories.pipeline import Pipeline

pytestmark = [pytest.mark.integration, pytest.mark.broker_independent]

AT = datetime(2026, 3, 12, 9, 0, tzinfo=UTC)


def _alert(rule_id: str, key: str, severity: str, state: str = "raised") -> Alert:
    return Alert(alert_id=f"{key}-{state}", alert_key=f"{rule_id}:{key}", state=state,
                 severity=severity if state == "raised" else "info", rule_id=rule_id, rule_version=1,
                 title=f"{rule_id} {key}", occurred_at=AT, details_json=json.dumps({"n": 1}))


def _store(pipeline: Pipeline, alerts: list[Alert]) -> None:
    spec = TABLES["alerts"]
    codec = pipeline.codec
    result = decode_batch(spec, codec, [Message("t-alerts", 0, i, None, codec.encode(a))
                                        for i, a in enumerate(alerts)], {})
    insert_rows(pipeline.client(), spec.table, spec.columns, result.rows, token=dedup_token("alerts", result.ranges))


def test_each_channel_is_offered_only_its_rules_and_severities(pipeline: Pipeline) -> None:
    alerts = [
        _alert("payroll.negative_net", "p1", "high"),
        _alert("payroll.pay_change", "p2", "medium"),
        _alert("payroll.pay_change", "p2", "medium", "resolved"),  # its raise is below the payroll channel's bar
        _alert("payroll.negative_net", "p1", "high", "resolved"),
        _alert("gl.suspense_aged", "g1", "medium"),
        _alert("contact.service_level", "c1", "high"),
        _alert("contact.service_level", "c1", "high", "resolved"),
        _alert("complaints.backlog", "k1", "medium"),
    ]
    _store(pipeline, alerts)
    channels = {
        "all": AlertChannel(name="all", url="http://127.0.0.1:9/all"),
        "lon": AlertChannel(name="lon", url="http://127.0.0.1:9/lon", rules=["payroll."], min_severity="high"),
        "kc": AlertChannel(name="kc", url="http://127.0.0.1:9/kc", rules=["contact.", "complaints.backlog"]),
        "ekonomi": AlertChannel(name="ekonomi", url="http://127.0.0.1:9/ekonomi", rules=["gl.suspense_aged"]),
    }
    clients = ThreadClients(pipeline.settings.clickhouse)
    offered = {name: [item.alert.alert_id for item, _ in Outbox(clients, name, c.rules, c.severities()).due(100, 24)]
               for name, c in channels.items()}
    assert sorted(offered["all"]) == sorted(a.alert_id for a in alerts)
    assert offered["lon"] == ["p1-raised", "p1-resolved"]
    assert sorted(offered["kc"]) == ["c1-raised", "c1-resolved", "k1-raised"]
    assert offered["ekonomi"] == ["g1-raised"]

