"""Running collectors: once (``observer collect``), or on their intervals inside the server.

Warehouses are collected independently: one that is down or refuses is reported and retried with
backoff while the others carry on. dbt projects are re-read when their artifacts change.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from collectors.dbt.artifacts import ArtifactError
from collectors.dbt.collect import DbtReport, collect_dbt
from collectors.warehouse.collect import CollectionReport, Progress, collect_warehouse
from collectors.warehouse.naming import UnsupportedWarehouse, namespace_for
from observer.clock import Clock
from observer.config.settings import DbtSettings, Settings, WarehouseSettings
from observer.graph.model import GraphWriter
from observer.runtime import Runtime
from observer.store import Store

log = logging.getLogger("observer.collectors")

FIRST_RETRY = timedelta(seconds=30)
MAX_PARALLEL_WAREHOUSES = 4


class UnknownName(ValueError):
    """A warehouse or dbt project name that the configuration does not define."""


def retry_delay(failures: int, interval: timedelta) -> timedelta:
    """30 s after the first failure, doubling, never longer than the collection interval."""
    return min(FIRST_RETRY * 2 ** max(failures - 1, 0), max(interval, FIRST_RETRY))


def dbt_namespace(settings: Settings, project: DbtSettings) -> str:
    """The dataset namespace of a dbt project: its own, or that of the warehouse it builds into."""
    if project.namespace:
        return project.namespace
    for warehouse in settings.warehouses:
        if warehouse.name == project.warehouse:
            return warehouse.namespace or namespace_for(warehouse.url.get_secret_value())
    defined = ", ".join(w.name for w in settings.warehouses) or "none"
    raise UnknownName(
        f"dbt project {project.name}: no warehouse named {project.warehouse!r} (defined: {defined})"
    )


def choose_warehouses(settings: Settings, name: str | None) -> list[WarehouseSettings]:
    if name is None:
        return list(settings.warehouses)
    chosen = [warehouse for warehouse in settings.warehouses if warehouse.name == name]
    if not chosen:
        defined = ", ".join(w.name for w in settings.warehouses) or "none"
        raise UnknownName(f"no warehouse named {name!r} in the configuration (defined: {defined})")
    return chosen


def collect_once(
    warehouses: Sequence[WarehouseSettings],
    *,
    store: Store,
    clock: Clock,
    graph: GraphWriter | None = None,
    progress: Callable[[str], Progress] | None = None,
) -> list[CollectionReport]:
    """One pass over each warehouse, several at a time; reports in the order given."""
    if not warehouses:
        return []

    def run(warehouse: WarehouseSettings) -> CollectionReport:
        notify = progress(warehouse.name) if progress else None
        return collect_warehouse(warehouse, store=store, clock=clock, graph=graph, progress=notify)

    with ThreadPoolExecutor(max_workers=min(len(warehouses), MAX_PARALLEL_WAREHOUSES)) as pool:
        return list(pool.map(run, warehouses))


@dataclass
class _Schedule:
    due: float = 0.0
    failures: int = 0
    running: bool = False
    fingerprint: tuple[float, ...] = ()


class CollectorService:
    """The server's background collection: each warehouse on its interval (retrying failures with
    backoff), each dbt project whenever its artifacts change. A report appears in ``last_reports``
    only once its schedule has been updated."""

    name = "collectors"

    def __init__(
        self,
        settings: Settings,
        *,
        store: Store,
        clock: Clock,
        graph: GraphWriter | None = None,
        tick: float = 1.0,
    ) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self.graph = graph
        self.tick = tick
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool = ThreadPoolExecutor(max_workers=MAX_PARALLEL_WAREHOUSES, thread_name_prefix="collector")
        self._warehouses = {warehouse.name: _Schedule() for warehouse in settings.warehouses}
        self._projects = {project.name: _Schedule() for project in settings.dbt}
        self._lock = threading.Lock()
        self.last_reports: dict[str, CollectionReport | DbtReport] = {}

    def start(self) -> None:
        if not self._warehouses and not self._projects:
            return
        self._thread = threading.Thread(target=self._loop, name="collectors", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            for warehouse in self.settings.warehouses:
                self._maybe_start(self._warehouses[warehouse.name], now, self._collect_warehouse, warehouse)
            for project in self.settings.dbt:
                self._maybe_start(self._projects[project.name], now, self._collect_project, project)
            self._stop.wait(self.tick)

    def _maybe_start(
        self, schedule: _Schedule, now: float, job: Callable[..., None], settings: object
    ) -> None:
        with self._lock:
            if schedule.running or now < schedule.due:
                return
            schedule.running = True
        self._pool.submit(job, settings, schedule)

    def _collect_warehouse(self, warehouse: WarehouseSettings, schedule: _Schedule) -> None:
        try:
            report = collect_warehouse(warehouse, store=self.store, clock=self.clock, graph=self.graph)
        except Exception as error:
            report = CollectionReport(warehouse.name, error=f"warehouse {warehouse.name}: {error}")
            log.exception("collecting %s failed", warehouse.name)
        for warning in report.warnings:
            log.warning("%s", warning)
        with self._lock:
            if report.ok:
                schedule.failures = 0
                delay = warehouse.interval
                log.info(
                    "collected %s: %d tables, %d queries, %.1fs",
                    warehouse.name,
                    report.tables,
                    report.queries,
                    report.duration_s,
                )
            else:
                schedule.failures += 1
                delay = retry_delay(schedule.failures, warehouse.interval)
                log.error("%s; retrying in %ds", report.error, delay.total_seconds())
            schedule.due = time.monotonic() + delay.total_seconds()
            schedule.running = False
            self.last_reports[warehouse.name] = report

    def _collect_project(self, project: DbtSettings, schedule: _Schedule) -> None:
        fingerprint = _artifact_times(project.target_dir)
        report: DbtReport | None = None
        try:
            if fingerprint and fingerprint != schedule.fingerprint:
                report = collect_dbt(
                    project.target_dir,
                    name=project.name,
                    namespace=dbt_namespace(self.settings, project),
                    job_namespace=project.job_namespace,
                    store=self.store,
                    clock=self.clock,
                    graph=self.graph,
                )
                schedule.fingerprint = fingerprint
            schedule.failures = 0
            delay = project.interval
        except (ArtifactError, UnknownName, UnsupportedWarehouse) as error:
            schedule.failures += 1
            delay = retry_delay(schedule.failures, project.interval)
            log.error("dbt project %s: %s; retrying in %ds", project.name, error, delay.total_seconds())
        except Exception:
            schedule.failures += 1
            delay = retry_delay(schedule.failures, project.interval)
            log.exception("dbt project %s failed", project.name)
        with self._lock:
            schedule.due = time.monotonic() + delay.total_seconds()
            schedule.running = False
            if report is not None:
                self.last_reports[project.name] = report


def _artifact_times(target_dir: Path) -> tuple[float, ...]:
    """Modification times of the artifacts; empty while there is no manifest yet."""
    manifest = target_dir / "manifest.json"
    if not manifest.exists():
        return ()
    names = ("manifest.json", "catalog.json", "run_results.json", "sources.json")
    return tuple(
        (target_dir / name).stat().st_mtime if (target_dir / name).exists() else 0.0 for name in names
    )


def collector_service(runtime: Runtime) -> CollectorService | None:
    """The server's collection service for ``runtime``'s warehouses and dbt projects, registered with
    the runtime's services (None when none are configured)."""
    if not runtime.settings.warehouses and not runtime.settings.dbt:
        return None
    service = CollectorService(
        runtime.settings, store=runtime.store, clock=runtime.clock, graph=runtime.graph
    )
    runtime.services.append(service)
    return service
