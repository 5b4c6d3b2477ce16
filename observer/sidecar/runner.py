"""One check cycle, and the loop that repeats it every interval (plus jitter) until told to stop.

A cycle reads every warehouse (a warehouse that fails is reported and skipped, never fatal; its
datasets keep their last results meanwhile), turns the statistics into observed updates, row counts
and schema versions in the sidecar's store, runs the checks, publishes the metrics, and sends the
problems that appeared or cleared to the alert sinks.

The checks are the shared ones (``observer/checks``, over ``detectors/``): freshness on every watched
table; volume (the ``row_count`` series) and schema (breaking changes) only where a rule turns them on
by name (``volume: {enabled: true}``), since they cost a little more per table.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError

from collectors.warehouse.records import heartbeat_due, schema_observation
from observer.catalog.identity import DatasetRef
from observer.catalog.records import MetricPoint, SchemaObservation
from observer.catalog.service import fields_hash
from observer.checks.freshness import FreshnessCheck, FreshnessInput
from observer.checks.metrics import CheckMetrics
from observer.checks.results import CheckResult, Status, ago
from observer.checks.rules import CheckRules, DatasetChecks
from observer.checks.schema import breaking_changes
from observer.checks.store import SCHEMA_WINDOW, VOLUME_METRIC, run_checks
from observer.clock import Clock
from observer.incidents.lineage import NoLineage
from observer.metrics import (
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
from observer.sidecar.tracker import SOURCE, UpdateTracker

log = logging.getLogger(__name__)

FRESHNESS, VOLUME, SCHEMA = "freshness", "volume", "schema"
KINDS = (FRESHNESS, VOLUME, SCHEMA)
JUST_BEFORE = timedelta(microseconds=1)


@dataclass
class CycleReport:
    started_at: datetime
    results: list[CheckResult] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # warehouse name (or "store") -> error
    transitions: list[Transition] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def problems(self) -> list[CheckResult]:
        return [result for result in self.results if result.status == Status.PROBLEM]


@dataclass
class _Read:
    """What one cycle read and recorded."""

    signals: list[TableSignal]
    schema_changed: set[DatasetRef] = field(default_factory=set)
    measured: set[DatasetRef] = field(default_factory=set)  # a new row_count point was stored


class Sidecar:
    def __init__(
        self,
        sources: Sequence[SignalSource],
        rules: CheckRules,
        clock: Clock,
        *,
        state: SidecarState,
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
        self.metrics = CheckMetrics()
        self.tracker = UpdateTracker()
        self.open_problems: dict[ProblemKey, datetime] = {}
        self.watched: dict[str, set[DatasetRef]] = {}  # warehouse -> datasets seen in its last read
        self._results: dict[tuple[str, DatasetRef], list[CheckResult]] = {}  # the last cycle's
        self._row_counts: dict[DatasetRef, tuple[int, datetime]] = {}  # last row_count stored, and when
        self._schemas: dict[DatasetRef, str] = {}  # hash of the last schema stored
        self._volume: dict[DatasetRef, CheckResult] = {}  # volume results since the last new point

    def restore(self, now: datetime) -> None:
        """Pick up the watermarks, update histories and open problems of earlier runs."""
        self.tracker.restore(
            self.state.load_watermarks(), self.state.load_histories(now - self.tracker.history_span)
        )
        self.open_problems = self.state.load_open_problems()

    # The cycle --------------------------------------------------------------------------------

    def run_cycle(self) -> CycleReport:
        started = time.perf_counter()
        now = self.clock.now()
        self.health.cycle_started(now)
        report = CycleReport(started_at=now)
        read = self._read(report, now)
        carried = {ref for name in report.failed for ref in self.watched.get(name, set())}
        marks = self.tracker.watermarks
        watched_since = {ref: mark.watched_since for ref, mark in marks.items()}
        report.results = self.metrics.run(
            KINDS,
            lambda kind: self._judge(kind, read, carried, report, now),
            now,
            watched_since=watched_since,
        )
        self._results = {}
        for result in report.results:
            self._results.setdefault((result.check, result.dataset), []).append(result)
        report.transitions = self._transitions(report.results, now)
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
            "cycle: %d results, %d problems, %d transitions, %.3fs",
            len(report.results),
            len(report.problems),
            len(report.transitions),
            elapsed,
        )
        return report

    def _read(self, report: CycleReport, now: datetime) -> _Read:
        """Read every warehouse and record what changed: writes, row counts, schema versions."""
        signals: list[TableSignal] = []
        for source in self.sources:
            try:
                found = source.read(self.rules)
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
            self.watched[source.name] = {signal.dataset for signal in found}
            SIDECAR_DATASETS.labels(source.name).set(len(found))
            signals.extend(found)
        observation = self.tracker.observe(signals, now)
        points = self._row_count_points(signals, now)
        schemas = self._schema_observations(signals, now)
        read = _Read(signals)
        try:
            read.schema_changed = self.state.save(
                now, changed=observation.changed, updates=observation.updates, points=points, schemas=schemas
            )
        except SQLAlchemyError as error:
            report.failed["store"] = f"{error.__class__.__name__}: {_first_line(error)}"
            log.error("saving the sidecar state failed: %s", report.failed["store"])
            return read
        self._row_counts.update({point.dataset: (int(point.value), now) for point in points})
        self._schemas.update({item.dataset: fields_hash(item.fields) for item in schemas})
        read.measured = {point.dataset for point in points}
        return read

    def _checks(self, ref: DatasetRef) -> DatasetChecks:
        return self.rules.for_dataset(ref)

    def _row_count_points(self, signals: list[TableSignal], now: datetime) -> list[MetricPoint]:
        """``row_count`` of volume-checked tables, when it changed and hourly when not (as the collectors)."""
        points = []
        for signal in signals:
            rows = signal.table.row_count
            if rows is None or not _on(self._checks(signal.dataset), VOLUME):
                continue
            last = self._row_counts.get(signal.dataset)
            if last is None or last[0] != rows or heartbeat_due(signal.dataset.node_id, last[1], now):
                points.append(MetricPoint(signal.dataset, VOLUME_METRIC, now, float(rows), SOURCE))
        return points

    def _schema_observations(self, signals: list[TableSignal], now: datetime) -> list[SchemaObservation]:
        """Columns of schema-checked tables whose schema differs from the one last stored."""
        observations = []
        for signal in signals:
            if not signal.table.columns or not _on(self._checks(signal.dataset), SCHEMA):
                continue
            observation = replace(schema_observation(signal.dataset, signal.table, now), source=SOURCE)
            if self._schemas.get(signal.dataset) != fields_hash(observation.fields):
                observations.append(observation)
        return observations

    # Judging ----------------------------------------------------------------------------------

    def _judge(
        self, kind: str, read: _Read, carried: set[DatasetRef], report: CycleReport, now: datetime
    ) -> list[CheckResult]:
        """The results of ``kind`` for the datasets read now, and the last ones of those not read."""
        refs = sorted({signal.dataset for signal in read.signals})
        judge: Callable[[list[DatasetRef], _Read, datetime], list[CheckResult]] = {
            FRESHNESS: self._freshness,
            VOLUME: self._volume_results,
            SCHEMA: self._schema_results,
        }[kind]
        try:
            results = judge(refs, read, now)
        except SQLAlchemyError as error:
            report.failed["store"] = f"{error.__class__.__name__}: {_first_line(error)}"
            log.error("the %s check could not read the sidecar's store: %s", kind, report.failed["store"])
            results = []
            carried = carried | set(refs)
        for ref in sorted(carried):
            results += self._results.get((kind, ref), [])
        return results

    def _freshness(self, refs: list[DatasetRef], read: _Read, now: datetime) -> list[CheckResult]:
        results = []
        for ref in refs:
            settings = self._checks(ref).freshness
            if settings is None:
                continue
            mark = self.tracker.watermarks.get(ref)
            item = FreshnessInput(
                ref, self.tracker.history(ref), settings, watched_since=mark.watched_since if mark else None
            )
            results.append(self.freshness.judge(item, now))
        return results

    def _volume_results(self, refs: list[DatasetRef], read: _Read, now: datetime) -> list[CheckResult]:
        """The shared volume check over the stored ``row_count`` series, for the tables that got a new
        point (between two points a series' verdict cannot change: the others keep theirs)."""
        checked = {ref for ref in refs if _on(self._checks(ref), VOLUME)}
        stale = (read.measured | (checked - set(self._volume))) & checked
        if stale:
            judged = run_checks(self.state.store, self.rules.settings, [VOLUME], now, datasets=stale)
            self._volume.update({result.dataset: result for result in judged})
        for ref in set(self._volume) - checked:
            del self._volume[ref]
        return [
            replace(self._volume[ref], checked_at=now)
            if ref in self._volume
            else CheckResult(VOLUME, ref, Status.UNKNOWN, now, f"no {VOLUME_METRIC} in the catalog")
            for ref in sorted(checked)
        ]

    def _schema_results(self, refs: list[DatasetRef], read: _Read, now: datetime) -> list[CheckResult]:
        """Breaking changes in the schema versions recorded this cycle (each reported once, with a
        finding); a table stays a problem for ``SCHEMA_WINDOW`` after one, as ``observer check schema``
        reports it."""
        checked = [ref for ref in refs if _on(self._checks(ref), SCHEMA)]
        fresh: list[CheckResult] = []
        if read.schema_changed:
            with self.state.store.engine.connect() as connection:
                fresh = breaking_changes(
                    connection, NoLineage(), now - JUST_BEFORE, now, include=read.schema_changed.__contains__
                )
        changed = {result.dataset for result in fresh}
        results = list(fresh)
        for ref in checked:
            if ref in changed:
                continue
            opened = self.open_problems.get((SCHEMA, ref))
            if opened is not None and now - opened < SCHEMA_WINDOW:
                detail = f"breaking schema change found {ago(opened, now)}"
                results.append(CheckResult(SCHEMA, ref, Status.PROBLEM, now, detail))
            else:
                window = f"{SCHEMA_WINDOW.total_seconds() / 3600:.0f}h"
                results.append(
                    CheckResult(SCHEMA, ref, Status.OK, now, f"no breaking change in the last {window}")
                )
        return results

    # Alerts -----------------------------------------------------------------------------------

    def _transitions(self, results: list[CheckResult], now: datetime) -> list[Transition]:
        """Problems that appeared or cleared. A breaking schema change is an event: it is sent when
        found and never cleared (its incident waits for a person); its problem lapses silently."""
        transitions = []
        opened: dict[ProblemKey, None] = {}
        cleared: dict[ProblemKey, None] = {}
        for result in results:
            key = result.key
            if result.check == SCHEMA:
                if result.finding is not None and result.checked_at == now:
                    transitions.append(Transition(result, opened=True))
                    if key in self.open_problems:
                        cleared[key] = None  # found again: its window starts over
                    opened[key] = None
                continue
            if result.status == Status.PROBLEM and key not in self.open_problems:
                transitions.append(Transition(result, opened=True))
                opened[key] = None
            elif result.status == Status.OK and key in self.open_problems:
                transitions.append(Transition(result, opened=False))
                cleared[key] = None
        for key, at in self.open_problems.items():
            if key[0] == SCHEMA and key not in opened and now - at >= SCHEMA_WINDOW:
                cleared[key] = None
        for key in cleared:
            self.open_problems.pop(key, None)
        self.open_problems.update(dict.fromkeys(opened, now))
        try:
            self.state.mark_problems(list(opened), list(cleared), now)
        except SQLAlchemyError as error:
            log.error("saving open problems failed: %s", _first_line(error))
        return transitions

    def _deliver(self, transitions: list[Transition], now: datetime) -> None:
        for sink in self.sinks:  # called every cycle, so that sinks retry what they could not send
            try:
                sink.deliver(transitions, now)
            except Exception:
                log.exception("alert sink %s failed", sink.name)

    def _forget_unwatched(self) -> None:
        watched = set().union(*self.watched.values()) if self.watched else set()
        self.tracker.forget(watched)
        self.freshness.forget(watched)
        for cache in (self._row_counts, self._schemas):
            for ref in set(cache) - watched:
                del cache[ref]

    # The loop ---------------------------------------------------------------------------------

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


def _on(checks: DatasetChecks, kind: str) -> bool:
    """Volume and schema run in the sidecar only where a rule turns them on by name."""
    if kind == VOLUME:
        return checks.volume is not None and VOLUME in checks.explicit
    return checks.schema and SCHEMA in checks.explicit


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else error.__class__.__name__
