"""Freshness checks: a dataset's observed updates, judged by the freshness detector.

The detector is injected (``status`` and ``detect``, by default :mod:`detectors.freshness`), so this
module only decides what to ask and how to report it. Between two updates the detector's deadline
does not move, so it is asked again only when a dataset's history changed; a cycle over 1,000
unchanged tables costs 1,000 comparisons.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from detectors.findings import Finding, format_duration
from detectors.freshness import FreshnessStatus, detect_freshness, freshness_status
from detectors.settings import FreshnessSettings
from observer.catalog.identity import DatasetRef
from observer.checks.results import CheckResult, Status, ago

StatusFn = Callable[[Sequence[datetime], datetime, FreshnessSettings], FreshnessStatus]
DetectFn = Callable[..., Finding | None]

CHECK = "freshness"


@dataclass(frozen=True)
class FreshnessInput:
    """``updates``: observed write times, oldest first. ``watched_since``: when observation began,
    for a dataset none of whose writes has been seen yet (the sidecar's first look at a table)."""

    dataset: DatasetRef
    updates: Sequence[datetime]
    settings: FreshnessSettings
    watched_since: datetime | None = None


def _default_status(
    updates: Sequence[datetime], now: datetime, settings: FreshnessSettings
) -> FreshnessStatus:
    return freshness_status(updates, now, settings)


class FreshnessCheck:
    def __init__(self, status: StatusFn = _default_status, detect: DetectFn = detect_freshness) -> None:
        self._status = status
        self._detect = detect
        self._known: dict[
            DatasetRef, tuple[tuple[int, datetime | None, FreshnessSettings], FreshnessStatus]
        ] = {}

    def judge(self, item: FreshnessInput, now: datetime) -> CheckResult:
        updates, baseline = list(item.updates), False
        has_sla = item.settings.sla.max_age is not None or item.settings.sla.expected_by is not None
        if not updates and item.watched_since is not None and has_sla:
            # No write seen yet: the table is at least as old as the time we have been watching it.
            updates, baseline = [item.watched_since], True
        status = self._status_of(item.dataset, updates, now, item.settings)
        if status.last_update is None:
            return CheckResult(CHECK, item.dataset, Status.UNKNOWN, now, "no update observed yet")
        if status.due_by is None:
            needed = item.settings.min_updates
            return CheckResult(
                CHECK,
                item.dataset,
                Status.UNKNOWN,
                now,
                f"learning its rhythm ({len(updates)} of {needed} updates seen)",
                last_update=None if baseline else status.last_update,
            )
        overdue = now > status.due_by
        last_update = None if baseline else status.last_update
        seen = (
            f"no update since watching began {ago(status.last_update, now)}"
            if baseline
            else (f"updated {ago(status.last_update, now)}")
        )
        if not overdue:
            detail = f"{seen}, next due in {format_duration(status.due_by - now)}"
            return CheckResult(
                CHECK,
                item.dataset,
                Status.OK,
                now,
                detail,
                last_update=last_update,
                expected_by=status.due_by,
            )
        finding = self._detect(updates, now, key=item.dataset.name, settings=item.settings)
        if finding is not None and baseline:
            finding = replace(
                finding,
                explanation=(
                    f"{item.dataset.name} has not been updated since it was first watched at "
                    f"{status.last_update:%Y-%m-%d %H:%M} UTC ({format_duration(now - status.last_update)} ago); "
                    f"its SLA required an update by {status.due_by:%Y-%m-%d %H:%M} UTC."
                ),
                details={
                    **finding.details,
                    "last_update": None,
                    "watched_since": status.last_update.isoformat(),
                },
            )
        detail = f"{seen}, {format_duration(now - status.due_by)} overdue"
        return CheckResult(
            CHECK,
            item.dataset,
            Status.PROBLEM,
            now,
            detail,
            finding=finding,
            last_update=last_update,
            expected_by=status.due_by,
        )

    def _status_of(
        self, dataset: DatasetRef, updates: list[datetime], now: datetime, settings: FreshnessSettings
    ) -> FreshnessStatus:
        key = (len(updates), updates[-1] if updates else None, settings)
        cached = self._known.get(dataset)
        if cached is not None and cached[0] == key:
            return cached[1]
        status = self._status(updates, now, settings)
        self._known[dataset] = (key, status)
        return status

    def forget(self, keep: set[DatasetRef]) -> None:
        """Drop cached deadlines of datasets no longer watched."""
        for dataset in set(self._known) - keep:
            del self._known[dataset]
