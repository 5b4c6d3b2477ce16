"""The ingest side of a running server: the event log appender, the lag counter, the projection
worker and periodic retention, started and stopped together as one runtime ``Service``."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from concurrent.futures import Future

from sqlalchemy.exc import SQLAlchemyError

from observer.clock import Clock
from observer.config.settings import IngestSettings
from observer.graph.model import GraphWriter
from observer.ingest.log import AppendResult, EventLog, Progress
from observer.ingest.parse import ParsedEvent
from observer.ingest.projection import ProjectionWorker
from observer.ingest.retention import apply_retention
from observer.ingest.sql_lineage import SqlLineageWorker
from observer.ingest.sql_queue import SqlLineageQueue
from observer.runtime import Runtime
from observer.store import Store

log = logging.getLogger(__name__)


class Backpressure(RuntimeError):
    """The projection lags too far behind the log; the client should retry later."""


MIN_PROJECTION_SHARE = 0.05
MAX_PROJECTION_SHARE = 0.5


def projection_share(lag: int, max_lag: int) -> float:
    """The share of the log thread the projection may take while appends keep arriving: it grows with
    the lag, from a floor that keeps a light steady stream projected to half the thread as the lag
    nears ``max_lag`` (where ingest answers 503). A burst is acknowledged at the speed of the log and
    projected in the pause after it; sustained overload slows ingest gradually instead of abruptly."""
    return min(MAX_PROJECTION_SHARE, max(MIN_PROJECTION_SHARE, lag / max_lag))


class IngestService:
    """The projection runs as the log thread's background step (see :class:`EventLog`)."""

    name = "ingest"

    def __init__(
        self,
        store: Store,
        clock: Clock,
        settings: IngestSettings,
        graph: GraphWriter | None,
        sql: SqlLineageWorker | None = None,
    ) -> None:
        self.settings = settings
        self._store = store
        self._clock = clock
        self.progress = Progress(store, local_projection=settings.worker)
        self.worker = (
            ProjectionWorker(
                store, clock, graph, batch_size=settings.projection_batch, progress=self.progress, sql=sql
            )
            if settings.worker
            else None
        )
        self.log = EventLog(
            store,
            clock,
            max_events=settings.commit_max_events,
            durable=settings.durable_commits,
            on_commit=self.progress.committed,
            background=self.worker.run_once if self.worker is not None else None,
            background_share=lambda: projection_share(self.progress.lag(), settings.max_projection_lag),
            background_batch=max(1, settings.projection_batch // 4),
        )
        self._stopping = threading.Event()
        self._retention: threading.Thread | None = None

    def start(self) -> None:
        try:
            self.progress.load()
        except SQLAlchemyError as error:
            log.warning("the store is not reachable yet (%s); ingest retries on each request", error)
        self.log.start()
        if self.settings.retention_events or self.settings.retention_runs:
            self._stopping.clear()
            self._retention = threading.Thread(target=self._retain, name="ingest-retention", daemon=True)
            self._retention.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        self.log.stop(timeout)
        if self._retention is not None:
            self._retention.join(timeout)
            self._retention = None

    def submit(self, events: Sequence[ParsedEvent]) -> Future[AppendResult]:
        """Queue events for the log, unless the projection lags beyond ``max_projection_lag``."""
        self._check_lag()
        return self.log.submit(events)

    def submit_async(self, events: Sequence[ParsedEvent]) -> asyncio.Future[AppendResult]:
        """:meth:`submit` for the request handlers: an asyncio future of the running loop."""
        self._check_lag()
        return self.log.submit_async(events)

    def _check_lag(self) -> None:
        lag = self.progress.lag()
        if lag > self.settings.max_projection_lag:
            raise Backpressure(
                f"the projection is {lag} events behind (limit {self.settings.max_projection_lag}); retry later"
            )

    def _retain(self) -> None:
        while not self._stopping.wait(self.settings.retention_every.total_seconds()):
            try:
                for line in apply_retention(self._store, self._clock, self.settings).lines():
                    log.info("retention: %s", line)
            except Exception:
                log.exception("retention failed; trying again next time")


def ingest_service(runtime: Runtime, graph: GraphWriter | None = None) -> IngestService:
    """Build the ingest service of ``runtime`` and register it with the runtime's services.

    Without ``graph`` the relational projection runs and the graph cursor waits: a graph writer
    given later receives the whole log, and queued SQL is analysed once there is a graph to write to.
    """
    sql = sql_lineage_worker(runtime, graph) if graph is not None else None
    service = IngestService(runtime.store, runtime.clock, runtime.settings.ingest, graph, sql)
    runtime.services.append(service)
    return service


def sql_lineage_worker(runtime: Runtime, graph: GraphWriter) -> SqlLineageWorker:
    """The SQL lineage worker over the runtime's queue, writing to ``graph``."""
    lineage = runtime.settings.lineage
    return SqlLineageWorker(
        SqlLineageQueue(runtime.store, runtime.clock),
        graph,
        time_budget_s=lineage.time_budget.total_seconds(),
        default_dialect=lineage.default_dialect,
        store=runtime.store,
    )
