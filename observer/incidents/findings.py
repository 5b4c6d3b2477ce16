"""What the incident service consumes: findings (something is wrong) and passes (a check is fine).

These are the store-side records; whoever runs the detectors maps their output to them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from observer.catalog.identity import DatasetRef, JobRef

SEVERITIES = ("info", "warning", "error", "critical")


def severity_rank(severity: str) -> int:
    """Position of ``severity`` in :data:`SEVERITIES` (unknown values rank as ``warning``)."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else 1


def worst(*severities: str) -> str:
    return max(severities, key=severity_rank)


@dataclass(frozen=True, order=True)
class CheckKey:
    """One check on one dataset (or column): the unit of deduplication."""

    dataset: DatasetRef
    check: str
    column: str = ""

    def label(self) -> str:
        target = f"{self.dataset.name}.{self.column}" if self.column else self.dataset.name
        return f"{self.check} on {target}"


@dataclass(frozen=True)
class FindingRecord:
    """One anomaly or failure on a dataset (``check`` is freshness, volume, schema, distribution, run …).

    ``observed``/``expected``/``lower``/``upper`` describe the measured value and its expected range
    where the check has them; ``explanation`` is the detector's one-sentence account. A failed run is
    a finding with ``check="run"`` on a dataset the run writes, ``job`` and ``run_id`` set.
    """

    dataset: DatasetRef
    check: str
    severity: str
    detected_at: datetime
    explanation: str
    column: str = ""
    score: float | None = None
    observed: float | None = None
    expected: float | None = None
    lower: float | None = None
    upper: float | None = None
    direction: str | None = None
    run_id: str | None = None
    job: JobRef | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> CheckKey:
        return CheckKey(self.dataset, self.check, self.column)


@dataclass(frozen=True)
class CheckPass:
    """A check that ran and found nothing wrong: it clears an open incident's matching finding."""

    dataset: DatasetRef
    check: str
    checked_at: datetime
    column: str = ""

    @property
    def key(self) -> CheckKey:
        return CheckKey(self.dataset, self.check, self.column)


_CHECK_TITLES = {
    "freshness": "Stale data",
    "event_freshness": "Late events",
    "volume": "Volume anomaly",
    "schema": "Schema change",
    "distribution": "Distribution shift",
    "metric": "Metric anomaly",
    "run": "Failed run",
    "run_failed": "Failed run",
    "run_duration": "Slow run",
}


def describe_check(check: str, direction: str | None = None) -> str:
    """A short human name for a check: ``Volume drop``, ``Stale data``, ``Schema change`` …"""
    if check == "volume" and direction in ("drop", "spike"):
        return f"Volume {direction}"
    return _CHECK_TITLES.get(check, check.replace("_", " ").capitalize())
