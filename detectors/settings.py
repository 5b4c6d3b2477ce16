"""Detector settings: sensitivity levels, directions, metric kinds and explicit freshness SLAs.

Plain frozen dataclasses, so the configuration layer can build them from ``observer.yaml`` and the
detectors stay free of any I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from enum import StrEnum


class Sensitivity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Direction(StrEnum):
    DROP = "drop"
    SPIKE = "spike"
    BOTH = "both"


class MetricKind(StrEnum):
    """How a series' values behave, which decides the scale the model works on."""

    COUNT = "count"  # non-negative counts (rows, distinct values): log scale, Poisson floor
    RATE = "rate"  # shares in [0, 1] (null rate, category share): absolute percentage-point gates
    LEVEL = "level"  # anything else (mean, stddev, quantiles, lag): relative gates


@dataclass(frozen=True)
class Thresholds:
    """What one sensitivity level means for a metric kind.

    A point alerts only when it is outside the model's band (``k`` robust standard deviations of the
    model's own out-of-sample errors) *and* the change is material: at least ``min_relative`` of the
    expected value and at least ``min_absolute`` in the metric's own unit.
    """

    k: float
    min_relative: float
    min_absolute: float


# Column metrics (rates, levels) are aggregates over many rows and a table has dozens of them, so
# their medium band is wider than for row counts.
_THRESHOLDS: dict[MetricKind, dict[Sensitivity, Thresholds]] = {
    MetricKind.COUNT: {
        Sensitivity.HIGH: Thresholds(k=3.5, min_relative=0.15, min_absolute=5.0),
        Sensitivity.MEDIUM: Thresholds(k=4.0, min_relative=0.25, min_absolute=10.0),
        Sensitivity.LOW: Thresholds(k=5.5, min_relative=0.4, min_absolute=20.0),
    },
    MetricKind.RATE: {
        Sensitivity.HIGH: Thresholds(k=3.5, min_relative=0.1, min_absolute=0.005),
        Sensitivity.MEDIUM: Thresholds(k=5.0, min_relative=0.2, min_absolute=0.01),
        Sensitivity.LOW: Thresholds(k=5.5, min_relative=0.3, min_absolute=0.02),
    },
    MetricKind.LEVEL: {
        Sensitivity.HIGH: Thresholds(k=3.5, min_relative=0.05, min_absolute=0.0),
        Sensitivity.MEDIUM: Thresholds(k=5.0, min_relative=0.1, min_absolute=0.0),
        Sensitivity.LOW: Thresholds(k=5.5, min_relative=0.2, min_absolute=0.0),
    },
}


def thresholds_for(kind: MetricKind, sensitivity: Sensitivity) -> Thresholds:
    return _THRESHOLDS[kind][sensitivity]


@dataclass(frozen=True)
class SeriesSettings:
    """Settings for one volume or metric series."""

    kind: MetricKind = MetricKind.COUNT
    sensitivity: Sensitivity = Sensitivity.MEDIUM
    direction: Direction = Direction.BOTH
    holidays: frozenset[date] = frozenset()
    thresholds: Thresholds | None = None  # overrides the sensitivity's defaults when set

    def resolved_thresholds(self) -> Thresholds:
        return self.thresholds or thresholds_for(self.kind, self.sensitivity)

    def with_kind(self, kind: MetricKind) -> SeriesSettings:
        return replace(self, kind=kind)


@dataclass(frozen=True)
class FreshnessSLA:
    """Explicit expectations that replace the learned rhythm.

    ``max_age``: the table must never be older than this. ``expected_by``: a cron expression (UTC);
    by each of its moments, an update must have landed since the moment before.
    """

    max_age: timedelta | None = None
    expected_by: str | None = None


@dataclass(frozen=True)
class FreshnessSettings:
    sensitivity: Sensitivity = Sensitivity.MEDIUM
    sla: FreshnessSLA = field(default_factory=FreshnessSLA)
    min_updates: int = 4  # updates needed before a rhythm is trusted


@dataclass(frozen=True)
class DistributionSettings:
    """Window-to-window comparison: a shift must be both significant and large enough to matter."""

    alpha: float = 0.001
    min_ks_statistic: float = 0.1
    min_psi: float = 0.2
    min_cramers_v: float = 0.1


@dataclass(frozen=True)
class RunSettings:
    sensitivity: Sensitivity = Sensitivity.MEDIUM
    failed_states: frozenset[str] = frozenset({"FAIL", "FAILED", "ABORT", "ABORTED"})
