"""One check cycle, and the loop that repeats it every interval (plus jitter) until told to stop.

A cycle reads every warehouse (a warehouse that fails is reported and skipped, never fatal),
turns the statistics into observed updates, judges each watched dataset, publishes the metrics,
and sends the problems that appeared or cleared to the alert sinks.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from prometheus_client.metrics import MetricWrapperBase
from sqlalchemy.exc import SQLAlchemyError

from observer.catalog.identity import DatasetRef
from observer.checks.freshness import CHECK as FRESHNESS
from observer.checks.freshness import FreshnessCheck, FreshnessInput
from observer.checks.results import CheckResult, Status
from observer.checks.rules import CheckRules
from observer.clock import Clock
from observer.metrics import (
    CHECK_DURATION,
    CHECK_STATUS,
    CHECKS_FAILING,
    DETECTOR_FINDINGS,
    FRESHNESS_AGE,
    FRESHNESS_EXPECTED_BY,
    FRESHNESS_LAST_UPDATE,
    SIDECAR_CYCLE_DURATION,
    SIDECAR_CYCLES,
    SIDECAR_DATASETS,
    SIDECAR_LAST_SUCCESS,
    WAREHOUSE_ERRORS,
    WAREHOUSE_UP,
)
from observer.sidecar.alerts import AlertSink, Transition
from observer.sidecar.health import HealthState
from observer.sidecar.signals import SignalSource, TableSignal
from observer.sidecar.state import ProblemKey, SidecarState
from observer.sidecar.tracker import UpdateTracker

log = logging.getLogger(__name__)


@dataclass
class CycleReport:
    started_at: datetime
    results: list[CheckResult] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # warehouse name -> error
    transitions: list[Transition] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def problems(self) -> list[CheckResult]:
        return [result for result in self.results if result.status == Status.PROBLEM]


class Sidecar:
    def __init__(
        self,
        sources: Sequence[SignalSource],
        rules: CheckRules,
        clock: Clock,
        *,
        state: SidecarState | None,
        sinks: Sequence[AlertSink],
        health: HealthState,
        freshness: FreshnessCheck | None = None,
    ) -> None:
        self.sources = list(sources)
        self.rules = rules
        self.clock = clock
        self.state = state
        self.sinks = list(sinks)
        self.health = health
        self.freshness = freshness or FreshnessCheck()
        self.tracker = UpdateTracker()
        self.open_problems: set[ProblemKey] = set()
        self.watched: dict[str, set[DatasetRef]] = {}  # warehouse -> datasets seen in its last read
        self._published: set[DatasetRef] = set()

    def restore(self, now: datetime) -> None:
        """Pick up the watermarks, update histories and open problems of earlier runs."""
        if self.state is None:
            return
        self.tracker.restore(
            self.state.load_watermarks(), self.state.load_histories(now - self.tracker.history_span)
        )
        self.open_problems = self.state.load_open_problems()

    def run_cycle(self) -> CycleReport:
        started = time.perf_counter()
        now = self.clock.now()
        self.health.cycle_started(now)
        report = CycleReport(started_at=now)
        signals: list[TableSignal] = []
        for source in self.sources:
            try:
                read = source.read(self.rules)
            except Exception as error:  # any driver error: the warehouse is down, not the sidecar
                WAREHOUSE_UP.labels(source.name).set(0)
                WAREHOUSE_ERRORS.labels(source.name).inc()
                report.failed[source.name] = f"{error.__class__.__name__}: {_first_line(error)}"
                log.warning(
                    "warehouse %s could not be read: %s; retrying next cycle",
                    source.name,
                    report.failed[source.name],
                )
                continue
            WAREHOUSE_UP.labels(source.name).set(1)
            self.watched[source.name] = {signal.dataset for signal in read}
            SIDECAR_DATASETS.labels(source.name).set(len(read))
            signals.extend(read)
        observation = self.tracker.observe(signals, now)
        if self.state is not None:
            try:
                self.state.save(observation.changed, observation.updates, now)
            except SQLAlchemyError as error:
                report.failed["store"] = f"{error.__class__.__name__}: {_first_line(error)}"
                log.error("saving the sidecar state failed: %s", report.failed["store"])
        judged = {signal.dataset for signal in signals}
        report.results = self._judge(judged, now)
        self._publish(report.results, now)
        report.transitions = self._transitions(report.results)
        self._deliver(report.transitions, now)
        self._forget_unwatched()
        elapsed = time.perf_counter() - started
        SIDECAR_CYCLE_DURATION.observe(elapsed)
        SIDECAR_CYCLES.labels("ok" if report.ok else "error").inc()
        finished = self.clock.now()
        if report.ok:
            SIDECAR_LAST_SUCCESS.set(finished.timestamp())
        self.health.cycle_finished(finished, None if report.ok else "; ".join(report.failed.values()))
        log.debug(
            "cycle: %d datasets, %d problems, %d updates, %.3fs",
            len(report.results),
            len(report.problems),
            len(observation.updates),
            elapsed,
        )
        return report

    def _judge(self, datasets: set[DatasetRef], now: datetime) -> list[CheckResult]:
        started = time.perf_counter()
        results = []
        for ref in sorted(datasets):
            settings = self.rules.for_dataset(ref).freshness
            if settings is None:
                continue
            mark = self.tracker.watermarks.get(ref)
            item = FreshnessInput(
                ref, self.tracker.history(ref), settings, watched_since=mark.watched_since if mark else None
            )
            results.append(self.freshness.judge(item, now))
        CHECK_DURATION.labels(FRESHNESS).observe(time.perf_counter() - started)
        return results

    def _publish(self, results: list[CheckResult], now: datetime) -> None:
        failing = 0
        for result in results:
            labels = (result.dataset.namespace, result.dataset.name)
            CHECK_STATUS.labels(result.check, *labels).set(int(result.status))
            failing += result.status == Status.PROBLEM
            if result.check != FRESHNESS:
                continue
            if result.last_update is not None:
                FRESHNESS_LAST_UPDATE.labels(*labels).set(result.last_update.timestamp())
            mark = self.tracker.watermarks.get(result.dataset)
            since = result.last_update or (mark.watched_since if mark else None)
            if since is not None:
                FRESHNESS_AGE.labels(*labels).set(max((now - since).total_seconds(), 0.0))
            if result.expected_by is not None:
                FRESHNESS_EXPECTED_BY.labels(*labels).set(result.expected_by.timestamp())
        CHECKS_FAILING.labels(FRESHNESS).set(failing)

    def _transitions(self, results: list[CheckResult]) -> list[Transition]:
        transitions = []
        for result in results:
            if result.status == Status.PROBLEM and result.key not in self.open_problems:
                transitions.append(Transition(result, opened=True))
                kind = result.finding.kind.value if result.finding else result.check
                severity = result.finding.severity.value if result.finding else "error"
                DETECTOR_FINDINGS.labels(kind, severity).inc()
            elif result.status == Status.OK and result.key in self.open_problems:
                transitions.append(Transition(result, opened=False))
        return transitions

    def _deliver(self, transitions: list[Transition], now: datetime) -> None:
        opened = [t.result.key for t in transitions if t.opened]
        cleared = [t.result.key for t in transitions if not t.opened]
        self.open_problems.update(opened)
        self.open_problems.difference_update(cleared)
        if self.state is not None:
            try:
                self.state.mark_problems(opened, cleared, now)
            except SQLAlchemyError as error:
                log.error("saving open problems failed: %s", _first_line(error))
        for sink in self.sinks:  # called every cycle, so that sinks retry what they could not send
            try:
                sink.deliver(transitions, now)
            except Exception:
                log.exception("alert sink %s failed", sink.name)

    def _forget_unwatched(self) -> None:
        watched = set().union(*self.watched.values()) if self.watched else set()
        for ref in self._published - watched:
            for metric in (FRESHNESS_AGE, FRESHNESS_LAST_UPDATE, FRESHNESS_EXPECTED_BY):
                _remove(metric, ref.namespace, ref.name)
            _remove(CHECK_STATUS, FRESHNESS, ref.namespace, ref.name)
        self._published = watched
        self.tracker.forget(watched)
        self.freshness.forget(watched)

    def run_forever(
        self, stop: threading.Event, interval: timedelta, jitter: timedelta, rng: random.Random
    ) -> None:
        """Cycle until ``stop`` is set; a cycle in progress finishes first."""
        try:
            while not stop.is_set():
                started = time.monotonic()
                try:
                    self.run_cycle()
                except Exception as error:  # a bug must not end the loop: report it and try again
                    log.exception("check cycle failed")
                    self.health.cycle_finished(self.clock.now(), f"{error.__class__.__name__}: {error}")
                elapsed = time.monotonic() - started
                delay = max(interval.total_seconds() - elapsed, 0.0) + rng.uniform(0, jitter.total_seconds())
                stop.wait(delay)
        finally:
            self.health.loop_stopped()


def _remove(metric: MetricWrapperBase, *labels: str) -> None:
    with contextlib.suppress(KeyError):
        metric.remove(*labels)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else error.__class__.__name__
