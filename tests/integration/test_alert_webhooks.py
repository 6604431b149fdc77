"""Alerts reach a team-chat webhook over real HTTP as digests: one message per rule and company listing all its
items, high severity at once, items held by the rate limit in a later digest, and after a worker restart nothing
posted again and nothing lost; every alert listed exactly once even when the alert itself is redelivered."""

from __future__ import annotations

import json
import signal
import time
from collections import Counter
from datetime import UTC, datetime

import pytest

from servicepulse.schemas.events import Alert
from tests.factories.chat import ChatServer
from tests.factories.pipeline import Pipeline

pytestmark = [pytest.mark.integration, pytest.mark.broker_independent]

NOW = datetime(2026, 3, 12, 10, 0, tzinfo=UTC)


def suspense(i: int, company: str = "1040", severity: str = "medium", state: str = "raised") -> Alert:
    key = f"gl.suspense_aged:{company}:A {i}"
    return Alert(alert_id=f"{state}-{company}-{i}", alert_key=key, state=state,
                 severity=severity if state == "raised" else "info", rule_id="gl.suspense_aged", rule_version=1,
                 title=f"Open item A {i} on 9894 ({company})", occurred_at=NOW,
                 details_json=json.dumps({"account": "9894", "voucher_series": "A", "voucher_number": str(i),
                                          "open_ore": 125000 + i, "breached_on": "2026-03-01", "reasons": ["age"]}))


def env(chat: ChatServer, **extra: str) -> dict[str, str]:
    return {"ALERTS__WEBHOOK_URL": chat.url, "ALERTS__WEBHOOK_FORMAT": "generic", "ALERTS__BATCH_MINUTES": "0.1",
            "ALERTS__DELIVERY_TICK_S": "0.5", "ALERTS__RATE_PER_MINUTE": "10", "ALERTS__RATE_PER_HOUR": "100"} | extra


def test_one_digest_per_rule_and_company_high_at_once_and_a_restart_reposts_nothing(pipeline: Pipeline) -> None:
    chat = ChatServer()
    try:
        service_level = Alert(
            alert_id="sl-1", alert_key="contact.service_level:kc-social:2026-03-12T10:00:00+01:00", state="raised",
            severity="high", rule_id="contact.service_level", rule_version=1, title="Service level below target",
            measured_value=0.6, target=0.85, unit="ratio", occurred_at=NOW, details_json='{"org": "lon"}')
        many = [suspense(i) for i in range(25)]
        producer = pipeline.producer()
        for a in [*many, many[0], service_level]:  # the first one twice, as after a replay
            producer.send(a)
        producer.flush()
        worker = pipeline.start_worker(0, **env(chat))
        pipeline.wait_for(lambda: sum(chat.listed().values()) >= 26, what="every alert listed in a digest")
        time.sleep(1.5)  # ticks after the last digest: nothing more may come
        # The repeated alert has the same id: the alerts table keeps it once (ReplacingMergeTree, FINAL).
        assert pipeline.scalar("SELECT count() FROM alerts FINAL") == 26
        assert chat.listed() == Counter({a.alert_id: 1 for a in [*many, service_level]})
        assert len(chat.posts) == 2, [p.body["text"][:80] for p in chat.posts]
        first, second = (p.body for p in chat.posts)
        # High severity goes out at once; the medium items wait for the next batch slot and come as one digest.
        assert [s["rule_id"] for s in first["sections"]] == ["contact.service_level"]
        assert [(s["rule_id"], s["scope"], len(s["items"])) for s in second["sections"]] == [
            ("gl.suspense_aged", "1040", 25)]
        assert [p.key for p in chat.posts] == [first["digest_id"], second["digest_id"]]
        assert "1 250,00 kr" in second["text"].replace("\u00a0", " ")  # Swedish amounts, Swedish words
        assert "Verifikation A 0 på konto 9894" in second["text"]
        # The outcome is recorded after the POST returns: waited for, not assumed from what the chat received.
        delivered = "SELECT uniqExact(alert_id) FROM alert_deliveries WHERE state = 'delivered'"
        pipeline.wait_for(lambda: pipeline.scalar(delivered) >= 26, timeout=60, what="the deliveries recorded")
        stored = dict(pipeline.rows("SELECT alert_id, any(digest_id) FROM alert_deliveries WHERE state = 'delivered' "
                                    "GROUP BY alert_id"))
        assert stored == {a: p.body["digest_id"] for p in chat.posts for a in p.alert_ids}

        # A restart: the new worker reads the outbox and posts nothing again; a resolve arriving later is listed
        # in the group's next digest, as resolved.
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        pipeline.start_worker(0, **env(chat))
        producer.send(suspense(3, state="resolved"))
        producer.flush()
        pipeline.wait_for(lambda: len(chat.posts) >= 3, what="the resolve's digest")
        time.sleep(2)
        assert len(chat.posts) == 3
        third = chat.posts[2].body
        assert [i["alert_id"] for s in third["sections"] for i in s["items"]] == ["resolved-1040-3"]
        assert "Åtgärdad" in third["text"]
        assert all(n == 1 for n in chat.listed().values())
    finally:
        chat.close()


def test_items_held_by_the_rate_limit_come_in_a_later_digest(pipeline: Pipeline) -> None:
    chat = ChatServer()
    try:
        producer = pipeline.producer()
        companies = ["1010", "1020", "1030", "1040", "1050"]
        for company in companies:
            for i in range(3):
                producer.send(suspense(i, company, severity="high"))
        producer.flush()
        pipeline.start_worker(0, **env(chat, ALERTS__RATE_PER_MINUTE="4", ALERTS__RATE_PER_HOUR="100"))
        pipeline.wait_for(lambda: sum(chat.listed().values()) >= 15, what="the first digests")
        time.sleep(1)
        # Four messages allowed: three companies on their own, the other two merged into the last message.
        assert len(chat.posts) == 4
        assert [[s["scope"] for s in p.body["sections"]] for p in chat.posts] == [
            ["1010"], ["1020"], ["1030"], ["1040", "1050"]]
        # The bucket is empty: a new high item is held, never dropped, and goes out when a token is back (15 s).
        producer.send(suspense(7, "1010", severity="high"))
        producer.flush()
        held_since = time.monotonic()
        pipeline.wait_for(lambda: len(chat.posts) >= 5, timeout=90, what="the held item's digest")
        assert chat.posts[4].at - held_since >= 5, "posted before the rate limit allowed it"
        assert chat.posts[4].alert_ids == ["raised-1010-7"]
        assert chat.listed() == Counter({f"raised-{c}-{i}": 1 for c in companies for i in range(3)}
                                        | {"raised-1010-7": 1})
    finally:
        chat.close()
