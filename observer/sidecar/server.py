"""``/healthz``, ``/readyz`` and ``/metrics`` on a small standard-library HTTP server.

A whole web framework would cost more memory than the rest of the sidecar; these three endpoints
need none of it.
"""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from observer.sidecar.health import HealthState, Verdict

log = logging.getLogger(__name__)

PATHS = ("/healthz", "/readyz", "/metrics")


class _Handler(BaseHTTPRequestHandler):
    server: HealthServer

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            self._send(200, generate_latest(REGISTRY), CONTENT_TYPE_LATEST)
        elif path == "/healthz":
            self._verdict(self.server.health.live())
        elif path == "/readyz":
            self._verdict(self.server.health.ready())
        else:
            body = {"code": 404, "message": f"no such endpoint; try {', '.join(PATHS)}"}
            self._send(404, json.dumps(body).encode(), "application/json")

    def _verdict(self, verdict: Verdict) -> None:
        body = (
            verdict.body if verdict.ok else {"code": 503, "message": verdict.body["status"], **verdict.body}
        )
        self._send(200 if verdict.ok else 503, json.dumps(body).encode(), "application/json")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s " + format, self.address_string(), *args)


class HealthServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str, port: int, health: HealthState) -> None:
        self.health = health
        super().__init__((host, port), _Handler)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def start(self) -> None:
        self._thread = threading.Thread(target=self.serve_forever, name="observer-sidecar-http", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
