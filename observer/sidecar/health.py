"""Liveness and readiness of the sidecar, from the cycles it ran.

Live: the cycle loop is running and no cycle has been stuck for long. Ready: a cycle in which every
warehouse answered finished within ``ready_within``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from observer.clock import Clock


@dataclass(frozen=True)
class Verdict:
    ok: bool
    body: dict[str, Any]


class HealthState:
    def __init__(self, clock: Clock, ready_within: timedelta, stuck_after: timedelta) -> None:
        self.clock = clock
        self.ready_within = ready_within
        self.stuck_after = stuck_after
        self._lock = threading.Lock()
        self.started_at = clock.now()
        self.cycle_started_at: datetime | None = None
        self.last_success_at: datetime | None = None
        self.last_cycle_at: datetime | None = None
        self.last_error: str | None = None
        self.loop_running = True

    def cycle_started(self, now: datetime) -> None:
        with self._lock:
            self.cycle_started_at = now

    def cycle_finished(self, now: datetime, error: str | None) -> None:
        with self._lock:
            self.cycle_started_at = None
            self.last_cycle_at = now
            self.last_error = error
            if error is None:
                self.last_success_at = now

    def loop_stopped(self) -> None:
        with self._lock:
            self.loop_running = False

    def live(self) -> Verdict:
        now = self.clock.now()
        with self._lock:
            stuck = self.cycle_started_at is not None and now - self.cycle_started_at > self.stuck_after
            if not self.loop_running:
                return Verdict(False, {"status": "stopped"})
            if stuck:
                assert self.cycle_started_at is not None
                return Verdict(
                    False, {"status": "stuck", "cycle_started_at": self.cycle_started_at.isoformat()}
                )
            return Verdict(True, {"status": "ok"})

    def ready(self) -> Verdict:
        now = self.clock.now()
        with self._lock:
            body: dict[str, Any] = {
                "last_success_at": self.last_success_at.isoformat() if self.last_success_at else None,
                "last_error": self.last_error,
            }
            if self.last_success_at is None:
                return Verdict(False, {"status": "no successful cycle yet", **body})
            if now - self.last_success_at > self.ready_within:
                return Verdict(False, {"status": "no successful cycle recently", **body})
            return Verdict(True, {"status": "ready", **body})
