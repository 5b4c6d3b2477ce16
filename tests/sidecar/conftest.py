"""A Slack incoming-webhook stand-in, and a helper to read Prometheus text."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from prometheus_client.parser import text_string_to_metric_families


class SlackWebhookStub(ThreadingHTTPServer):
    """Accepts ``POST /hook`` like a Slack incoming webhook and keeps every message's text."""

    daemon_threads = True

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.failures_left = 0
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Hook)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"

    def texts(self) -> list[str]:
        with self.lock:
            return list(self.messages)


class _Hook(BaseHTTPRequestHandler):
    server: SlackWebhookStub

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with self.server.lock:
            failing = self.server.failures_left > 0
            if failing:
                self.server.failures_left -= 1
            else:
                self.server.messages.append(body["text"])
        self.send_response(500 if failing else 200)
        self.end_headers()
        self.wfile.write(b"internal_error" if failing else b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def slack_webhook() -> Iterator[SlackWebhookStub]:
    server = SlackWebhookStub()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of the sample ``name`` with ``labels`` in Prometheus exposition ``text``, or None."""
    for family in text_string_to_metric_families(text):
        for item in family.samples:
            if item.name == name and all(item.labels.get(key) == value for key, value in labels.items()):
                return float(item.value)
    return None
