"""A local team-chat webhook receiver on 127.0.0.1: every accepted POST's body and Idempotency-Key, in arrival order.

Standard library only: `benchmarks/demo_chat.py` uses it too, run as a script from the repository."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["ChatServer", "Post"]


@dataclass(frozen=True)
class Post:
    """One accepted POST: its Idempotency-Key, its JSON body, and when it arrived (time.monotonic())."""

    key: str
    body: dict[str, Any]
    at: float

    @property
    def alert_ids(self) -> list[str]:
        """The alert ids the digest lists (generic payload), in its order."""
        return [str(i["alert_id"]) for s in self.body["sections"] for i in s["items"]]


class ChatServer:
    """Answers 503 to every POST for the first `outage_s` seconds (counted in `refused`), then 200, keeping each
    accepted POST in `posts`. `close()` stops it."""

    def __init__(self, outage_s: float = 0.0) -> None:
        self.up_at = time.monotonic() + outage_s
        self.refused = 0
        self.posts: list[Post] = []
        chat = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if time.monotonic() < chat.up_at:
                    chat.refused += 1
                    self.send_response(503)
                else:
                    chat.posts.append(Post(self.headers.get("Idempotency-Key", ""), json.loads(body),
                                           time.monotonic()))
                    self.send_response(200)
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/hook"

    def listed(self) -> Counter[str]:
        """How many times each alert id was listed across every digest accepted."""
        return Counter(alert_id for post in self.posts for alert_id in post.alert_ids)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
