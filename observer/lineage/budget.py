"""Cooperative per-statement time budget: long work checks it and gives up cleanly, no threads."""

from __future__ import annotations

import time
from collections.abc import Callable

Timer = Callable[[], float]


class BudgetExceeded(Exception):
    """Raised inside the analysis when a statement ran out of time; callers fall back to table level."""


class Budget:
    """A deadline measured on a monotonic timer (``time.perf_counter`` unless one is passed in)."""

    __slots__ = ("_deadline", "_timer", "seconds")

    def __init__(self, seconds: float, timer: Timer = time.perf_counter) -> None:
        self.seconds = seconds
        self._timer = timer
        self._deadline = timer() + seconds

    @property
    def exceeded(self) -> bool:
        return self._timer() >= self._deadline

    def check(self) -> None:
        if self._timer() >= self._deadline:
            raise BudgetExceeded(f"time budget of {self.seconds:g}s exceeded")
