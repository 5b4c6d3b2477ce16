"""The Observer server inside the demo's process: uvicorn in a thread, on a socket bound up front
(so a busy port is a clear error before anything else starts, and port 0 picks a free one)."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn
from fastapi import FastAPI


class PortInUse(RuntimeError):
    pass


class InProcessServer:
    def __init__(self, host: str, port: int) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._socket.bind((host, port))
        except OSError as error:
            self._socket.close()
            raise PortInUse(
                f"cannot listen on {host}:{port}: {error.strerror}; pick another with --port"
            ) from None
        self.host = host
        self.port = int(self._socket.getsockname()[1])
        self._server: uvicorn.Server | None = None
        self._stopped = threading.Event()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, app: FastAPI, timeout: float = 30.0) -> None:
        """Serve ``app``; return once it (and its background services) is up."""
        config = uvicorn.Config(
            app, log_config=None, access_log=False, lifespan="on", timeout_graceful_shutdown=5
        )
        server = self._server = uvicorn.Server(config)
        threading.Thread(target=self._serve, args=(server,), name="observer-demo-server", daemon=True).start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if self._stopped.is_set():
                raise RuntimeError("the Observer server stopped while starting; see the log above")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the Observer server did not start within {timeout:.0f}s")
            time.sleep(0.02)

    def _serve(self, server: uvicorn.Server) -> None:
        try:
            server.run(sockets=[self._socket])
        finally:
            self._stopped.set()

    def stop(self, timeout: float = 15.0) -> None:
        """Shut down (the app's services stop with it) and wait for it."""
        if self._server is not None:
            self._server.should_exit = True
            self._stopped.wait(timeout)
        self._socket.close()

    def wait(self) -> None:
        """Block until the server stops; Ctrl-C interrupts the wait.

        An event, not ``Thread.join``: a KeyboardInterrupt inside ``join`` can leave Python 3.11
        believing the thread has ended while it still runs (bpo-45274), and the shutdown would then
        not be waited for."""
        while not self._stopped.wait(0.5):
            pass
