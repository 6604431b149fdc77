"""Alerts reach a team-chat webhook over real HTTP, once each, even when the alert is redelivered."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from servicepulse.schemas.events import Alert
from tests.factories.pipeline import Pipeline

pytestmark = [pytest.mark.integration, pytest.mark.broker_independent]


def test_alerts_are_posted_to_the_webhook_once(pipeline: Pipeline) -> None:
    received: list[dict[str, object]] = []

    class Chat(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(json.loads(body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Chat)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        now = datetime(2026, 3, 12, 10, 0, tzinfo=UTC)
        alerts = [
            Alert(alert_id=f"a{i}", alert_key=f"k{i}", state="raised", severity="medium", rule_id="ops.test",
                  rule_version=1, title=f"Test alert {i}", occurred_at=now)
            for i in range(3)
        ]
        producer = pipeline.producer()
        for a in [*alerts, alerts[0]]:  # the first one twice, as after a replay
            producer.send(a)
        producer.flush()
        pipeline.start_worker(ALERTS__WEBHOOK_URL=f"http://127.0.0.1:{server.server_port}/hook",
                              ALERTS__WEBHOOK_FORMAT="generic")
        pipeline.wait_for(lambda: len(received) >= 3, what="webhook posts")
        # The repeated alert has the same id: the alerts table keeps it once (ReplacingMergeTree, FINAL).
        pipeline.wait_for(lambda: pipeline.scalar("SELECT count() FROM alerts FINAL") >= 3, what="alerts stored")
        assert pipeline.scalar("SELECT count() FROM alerts FINAL") == 3
        assert sorted(str(r["alert_id"]) for r in received) == ["a0", "a1", "a2"]
        assert all(r["rule_id"] == "ops.test" for r in received)
    finally:
        server.shutdown()
