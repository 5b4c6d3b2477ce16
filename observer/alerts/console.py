"""Incidents printed as plain text (stderr by default): for local runs and the demo."""

from __future__ import annotations

import sys
import threading
from typing import TextIO

from observer.alerts.notifier import Delivery, Sent


class ConsoleNotifier:
    name = "console"
    kind = "console"
    threads = False

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream
        self._lock = threading.Lock()

    def send(self, delivery: Delivery) -> Sent:
        stream = self.stream or sys.stderr
        with self._lock:
            stream.write(str(delivery.payload.get("plain") or delivery.payload.get("text", "")) + "\n")
            stream.flush()
        return Sent()

    def find_sent(self, delivery: Delivery) -> Sent | None:
        return None
