"""What every detector returns: a :class:`Finding`, plus the wording helpers behind its sentence."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    CRITICAL = "critical"


class FindingKind(StrEnum):
    VOLUME = "volume"
    METRIC = "metric"
    DISTRIBUTION = "distribution"
    FRESHNESS = "freshness"
    EVENT_FRESHNESS = "event_freshness"
    SCHEMA = "schema"
    RUN_FAILED = "run_failed"
    RUN_DURATION = "run_duration"


@dataclass(frozen=True)
class Finding:
    """One thing a detector found wrong (or worth knowing), explained in one sentence.

    ``key`` names the series (a dataset, a column metric, a job); ``timestamp`` is the bucket or
    moment the finding is about. ``lower``/``upper`` are the expected range; ``direction`` is
    ``"drop"``, ``"spike"``, ``"late"``, ``"breaking"``... depending on the detector.
    """

    kind: FindingKind
    key: str
    timestamp: datetime
    severity: Severity
    score: float
    observed: float | None
    expected: float | None
    lower: float | None
    upper: float | None
    direction: str
    explanation: str
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "key": self.key,
            "timestamp": self.timestamp.isoformat(),
            "severity": self.severity.value,
            "score": self.score,
            "observed": self.observed,
            "expected": self.expected,
            "lower": self.lower,
            "upper": self.upper,
            "direction": self.direction,
            "explanation": self.explanation,
            "details": self.details,
        }


def severity_for(score: float, relative_change: float) -> Severity:
    """Grade a deviation: how far outside the band (score) and how big in business terms."""
    change = abs(relative_change)
    if change >= 0.9 or score >= 20:
        return Severity.CRITICAL
    if change >= 0.5 or score >= 10:
        return Severity.ERROR
    return Severity.WARNING


def format_number(value: float) -> str:
    """``1204`` -> ``1,204``; ``0.0123`` -> ``0.0123``; ``12.5`` -> ``12.5``."""
    if not math.isfinite(value):
        return str(value)
    if abs(value) >= 100 or float(value).is_integer():
        return f"{round(value):,}"
    if abs(value) >= 1:
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return f"{value:.3g}"


def format_rate(value: float) -> str:
    """A share as percent: ``0.0123`` -> ``1.23%``."""
    return f"{value * 100:.3g}%"


def format_range(low: float, high: float, *, rate: bool = False) -> str:
    fmt = format_rate if rate else format_number
    low_text, high_text = fmt(low), fmt(high)
    return low_text if low_text == high_text else f"{low_text}–{high_text}"  # noqa: RUF001


def format_duration(delta: timedelta) -> str:
    """``timedelta(hours=26, minutes=5)`` -> ``1d 2h``; keeps the two largest units."""
    seconds = int(abs(delta.total_seconds()))
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size or (unit == "s" and not parts):
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return " ".join(parts[:2])


WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
