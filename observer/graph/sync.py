"""A background service that pushes queued lineage to Neo4j once it answers again."""

from __future__ import annotations

import logging
import threading

from observer.graph.model import GraphUnavailable
from observer.graph.neo4j_backend import Neo4jGraph

log = logging.getLogger(__name__)


class GraphSync:
    """Runtime ``Service``: every ``graph.retry_interval``, push what the Neo4j mirror is missing."""

    name = "graph-sync"

    def __init__(self, graph: Neo4jGraph) -> None:
        self.graph = graph
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._stopping.clear()
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        if self._thread is not None:
            self._stopping.set()
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        interval = self.graph.settings.retry_interval.total_seconds()
        while not self._stopping.wait(interval):
            try:
                pushed = self.graph.catch_up()
            except GraphUnavailable as error:
                log.debug("neo4j still unavailable: %s", error)
                continue
            if pushed:
                log.info("pushed %d queued lineage batches to neo4j", pushed)
