"""Check results as Prometheus metrics, for every process that runs checks on a schedule (the server's
check loop and the sidecar): each check's status per dataset, freshness age, last update and
expected-by per dataset, how many datasets fail per kind, how long each kind took, and the findings
newly raised. Series of datasets a kind no longer judges are removed, so dropped tables do not linger.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from prometheus_client.metrics import MetricWrapperBase

from observer.catalog.identity import DatasetRef
from observer.checks.results import CheckResult, Status
from observer.metrics import (
    CHECK_DURATION,
    CHECK_STATUS,
    CHECKS_FAILING,
    DETECTOR_FINDINGS,
    FRESHNESS_AGE,
    FRESHNESS_EXPECTED_BY,
    FRESHNESS_LAST_UPDATE,
)

FRESHNESS = "freshness"
_FRESHNESS_GAUGES = (FRESHNESS_AGE, FRESHNESS_LAST_UPDATE, FRESHNESS_EXPECTED_BY)


class CheckMetrics:
    """Publishes one process's check results; keeps what it published to remove stale series."""

    def __init__(self) -> None:
        self._published: dict[str, set[DatasetRef]] = {}
        self._problems: dict[str, set[DatasetRef]] = {}

    def run(
        self,
        kinds: Sequence[str],
        judge: Callable[[str], list[CheckResult]],
        now: datetime,
        *,
        watched_since: Mapping[DatasetRef, datetime] | None = None,
    ) -> list[CheckResult]:
        """``judge(kind)`` for each kind, timed (``observer_check_duration_seconds``) and published."""
        results: list[CheckResult] = []
        for kind in kinds:
            started = time.perf_counter()
            judged = judge(kind)
            CHECK_DURATION.labels(kind).observe(time.perf_counter() - started)
            self.publish(kind, judged, now, watched_since=watched_since)
            results += judged
        return results

    def publish(
        self,
        kind: str,
        results: Sequence[CheckResult],
        now: datetime,
        *,
        watched_since: Mapping[DatasetRef, datetime] | None = None,
    ) -> None:
        """Every result of one check ``kind`` in a pass. A dataset with several results (schema: one per
        breaking change) shows as a problem when any of them is. ``watched_since``: for datasets whose
        last update is unknown, when observation began (the freshness age is at least that old)."""
        status: dict[DatasetRef, Status] = {}
        problems: set[DatasetRef] = set()
        for result in results:
            ref = result.dataset
            if result.status == Status.PROBLEM:
                if ref not in self._problems.get(kind, set()) and ref not in problems:
                    finding = result.finding
                    DETECTOR_FINDINGS.labels(
                        finding.kind.value if finding else kind,
                        finding.severity.value if finding else "error",
                    ).inc()
                problems.add(ref)
            if status.get(ref) != Status.PROBLEM:
                status[ref] = result.status
            if kind == FRESHNESS:
                self._freshness(result, now, (watched_since or {}).get(ref))
        for ref, value in status.items():
            CHECK_STATUS.labels(kind, ref.namespace, ref.name).set(int(value))
        for ref in self._published.get(kind, set()) - set(status):
            _remove(CHECK_STATUS, kind, ref.namespace, ref.name)
            if kind == FRESHNESS:
                for gauge in _FRESHNESS_GAUGES:
                    _remove(gauge, ref.namespace, ref.name)
        CHECKS_FAILING.labels(kind).set(len(problems))
        self._published[kind] = set(status)
        self._problems[kind] = problems

    @staticmethod
    def _freshness(result: CheckResult, now: datetime, watched_since: datetime | None) -> None:
        labels = (result.dataset.namespace, result.dataset.name)
        if result.last_update is not None:
            FRESHNESS_LAST_UPDATE.labels(*labels).set(result.last_update.timestamp())
        since = result.last_update or watched_since
        if since is not None:
            FRESHNESS_AGE.labels(*labels).set(max((now - since).total_seconds(), 0.0))
        if result.expected_by is not None:
            FRESHNESS_EXPECTED_BY.labels(*labels).set(result.expected_by.timestamp())
        else:
            _remove(FRESHNESS_EXPECTED_BY, *labels)


def _remove(metric: MetricWrapperBase, *labels: str) -> None:
    with contextlib.suppress(KeyError):
        metric.remove(*labels)
