"""A local HTTP server that speaks the Slack Web API methods Observer calls, Slack incoming webhooks
and plain JSON webhooks, for tests (alerts, sidecar, demo).

Point ``slack_sdk`` at it with ``WebClient(token=..., base_url=stub.api_url)`` (or Observer's
``alerts.slack.base_url``); incoming webhooks at ``stub.hook_url("name")``, JSON webhooks at
``stub.webhook_url("name")``. Every request is recorded; ``rate_limit()`` and ``fail()`` make the
next calls answer 429 with ``Retry-After`` or a Slack error.

Use it as a fixture by importing ``slack_stub`` into a conftest::

    from tests.slack_stub import slack_stub  # noqa: F401
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

BOT_TOKEN = "xoxb-test-0000-observer-stub"


@dataclass
class Recorded:
    method: str
    """The Web API method (``chat.postMessage``), ``hook:<name>`` or ``webhook:<name>``."""
    headers: dict[str, str]
    body: dict[str, Any]
    status: int = 200


@dataclass
class StubMessage:
    channel: str
    ts: str
    text: str | None
    blocks: list[dict[str, Any]] | None
    thread_ts: str | None = None
    metadata: dict[str, Any] | None = None
    edits: list[dict[str, Any]] = field(default_factory=list)

    def as_slack(self, with_metadata: bool) -> dict[str, Any]:
        message: dict[str, Any] = {"type": "message", "ts": self.ts, "text": self.text, "blocks": self.blocks}
        if self.thread_ts:
            message["thread_ts"] = self.thread_ts
        if with_metadata and self.metadata:
            message["metadata"] = self.metadata
        return message


class SlackStub:
    def __init__(self, token: str = BOT_TOKEN) -> None:
        self.token = token
        self.requests: list[Recorded] = []
        self.messages: list[StubMessage] = []
        self._faults: dict[str, list[tuple[int, dict[str, Any], dict[str, str]]]] = {}
        self._lock = threading.Lock()
        self._clock = itertools.count(1)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # Life cycle ------------------------------------------------------------------------------

    def start(self) -> SlackStub:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def hook_url(self, name: str) -> str:
        return f"{self.url}/hooks/{name}"

    def webhook_url(self, name: str) -> str:
        return f"{self.url}/webhook/{name}"

    # Faults ----------------------------------------------------------------------------------

    def rate_limit(self, method: str, *, retry_after: int = 1, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` (or ``hook:<name>``) answer 429 with ``Retry-After``."""
        self._add_fault(
            method, 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(retry_after)}, times
        )

    def fail(self, method: str, error: str = "internal_error", *, status: int = 200, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` answer ``{"ok": false, "error": error}``."""
        self._add_fault(method, status, {"ok": False, "error": error}, {}, times)

    def _add_fault(
        self, method: str, status: int, body: dict[str, Any], headers: dict[str, str], times: int
    ) -> None:
        with self._lock:
            self._faults.setdefault(method, []).extend([(status, body, headers)] * times)

    # Inspection ------------------------------------------------------------------------------

    def calls(self, method: str) -> list[Recorded]:
        return [request for request in self.requests if request.method == method and request.status == 200]

    def channel_id(self, channel: str) -> str:
        if channel.startswith(("C", "G", "D")) and not channel.startswith("#"):
            return channel
        return "C" + hashlib.sha1(channel.encode()).hexdigest()[:8].upper()

    def top_level(self, channel: str | None = None) -> list[StubMessage]:
        return [
            message
            for message in self.messages
            if message.thread_ts is None and (channel is None or message.channel == self.channel_id(channel))
        ]

    def replies(self, ts: str) -> list[StubMessage]:
        return [message for message in self.messages if message.thread_ts == ts]

    def message(self, ts: str) -> StubMessage:
        return next(message for message in self.messages if message.ts == ts)

    # The Web API -----------------------------------------------------------------------------

    def _answer(
        self, method: str, headers: dict[str, str], body: dict[str, Any]
    ) -> tuple[int, Any, dict[str, str]]:
        with self._lock:
            faults = self._faults.get(method)
            if faults:
                status, answer, extra = faults.pop(0)
                self.requests.append(Recorded(method, headers, body, status))
                return status, answer, extra
            self.requests.append(Recorded(method, headers, body))
            if method.startswith(("hook:", "webhook:")):
                return 200, "ok" if method.startswith("hook:") else {"ok": True}, {}
            if headers.get("authorization") != f"Bearer {self.token}":
                return 200, {"ok": False, "error": "invalid_auth"}, {}
            handler = getattr(self, "_" + method.replace(".", "_"), None)
            if handler is None:
                return 200, {"ok": False, "error": "unknown_method"}, {}
            return 200, handler(body), {}

    def _auth_test(self, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://observer-test.slack.com/",
            "team": "Observer Test",
            "user": "observer",
            "team_id": "T000TEST",
            "user_id": "U000BOT",
            "bot_id": "B000BOT",
        }

    def _chat_postMessage(self, body: dict[str, Any]) -> dict[str, Any]:
        channel = body.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not body.get("text") and not body.get("blocks"):
            return {"ok": False, "error": "no_text"}
        thread_ts = body.get("thread_ts")
        if thread_ts and not any(message.ts == thread_ts for message in self.messages):
            return {"ok": False, "error": "thread_not_found"}
        message = StubMessage(
            channel=self.channel_id(str(channel)),
            ts=f"1700000000.{next(self._clock):06d}",
            text=body.get("text"),
            blocks=_json_field(body.get("blocks")),
            thread_ts=thread_ts,
            metadata=_json_field(body.get("metadata")),
        )
        self.messages.append(message)
        return {"ok": True, "channel": message.channel, "ts": message.ts, "message": message.as_slack(False)}

    def _chat_update(self, body: dict[str, Any]) -> dict[str, Any]:
        for message in self.messages:
            if message.ts == body.get("ts") and message.channel == self.channel_id(str(body.get("channel"))):
                message.edits.append({"text": message.text, "blocks": message.blocks})
                message.text = body.get("text")
                message.blocks = _json_field(body.get("blocks"))
                return {"ok": True, "channel": message.channel, "ts": message.ts, "text": message.text}
        return {"ok": False, "error": "message_not_found"}

    def _conversations_history(self, body: dict[str, Any]) -> dict[str, Any]:
        channel = str(body.get("channel", ""))
        if channel.startswith("#"):
            return {"ok": False, "error": "channel_not_found"}
        oldest = float(body.get("oldest") or 0)
        metadata = str(body.get("include_all_metadata", "")).lower() in ("1", "true")
        found = [
            message.as_slack(metadata)
            for message in reversed(self.messages)
            if message.channel == channel and message.thread_ts is None and float(message.ts) > oldest
        ]
        return {"ok": True, "messages": found, "has_more": False}

    def _conversations_replies(self, body: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(body.get("channel", "")), body.get("ts")
        metadata = str(body.get("include_all_metadata", "")).lower() in ("1", "true")
        found = [
            message.as_slack(metadata)
            for message in self.messages
            if message.channel == channel and (message.ts == ts or message.thread_ts == ts)
        ]
        return {"ok": True, "messages": found, "has_more": False}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body: dict[str, Any] = dict(parse_qsl(parts.query))
                content_type = self.headers.get("Content-Type", "")
                if raw and "json" in content_type:
                    body.update(json.loads(raw))
                elif raw:
                    body.update(parse_qsl(raw.decode()))
                path = parts.path
                if path.startswith("/api/"):
                    method = path.removeprefix("/api/")
                elif path.startswith("/hooks/"):
                    method = "hook:" + path.removeprefix("/hooks/")
                elif path.startswith("/webhook/"):
                    method = "webhook:" + path.removeprefix("/webhook/")
                else:
                    self.send_error(404)
                    return
                headers = {name.lower(): value for name, value in self.headers.items()}
                status, answer, extra = stub._answer(method, headers, body)
                data = (answer if isinstance(answer, str) else json.dumps(answer)).encode()
                self.send_response(status)
                self.send_header(
                    "Content-Type", "text/plain" if isinstance(answer, str) else "application/json"
                )
                self.send_header("Content-Length", str(len(data)))
                for name, value in extra.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = _serve
            do_POST = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def _json_field(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


@pytest.fixture
def slack_stub() -> Iterator[SlackStub]:
    stub = SlackStub().start()
    yield stub
    stub.stop()
