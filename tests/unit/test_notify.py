"""Webhooks: a real HTTP server on 127.0.0.1 receives what opsctl posts."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from opsctl import notify
from opsctl.config.models import Webhook


@pytest.fixture()
def receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(204 if self.path == "/ok" else 500)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", received
    server.shutdown()


def test_posts_only_wanted_events_and_reports_failures(receiver: tuple[str, list[dict[str, Any]]]) -> None:
    base, received = receiver
    hooks = [
        Webhook(url=f"{base}/ok", events=["deploy", "failure"]),
        Webhook(url=f"{base}/broken?token=abc", events=["deploy"]),
        Webhook(url=f"{base}/ok", events=["rollback"]),
    ]
    failed = notify.send(hooks, "deploy", {"app": "hello", "release": 3})
    assert failed == [f"{base}/broken?token=abc"]
    assert received == [{"event": "deploy", "app": "hello", "release": 3}] * 2
    assert notify.event_of("rollback", ok=False) == "failure"


def test_unreachable_hook_is_a_warning_not_an_error() -> None:
    assert notify.send([Webhook(url="http://127.0.0.1:9/x")], "deploy", {}) == ["http://127.0.0.1:9/x"]
