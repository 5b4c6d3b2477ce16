"""The embedded backend: the graph tables in the store, walked with frontier queries."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, delete, func, select, text
from sqlalchemy.exc import OperationalError

from observer.graph.base import BaseGraph
from observer.graph.model import GraphUnavailable
from observer.graph.results import RebuildReport
from observer.graph.sql_reader import SqlGraphReader
from observer.graph.tables import graph_edges, graph_nodes, graph_outbox
from observer.graph.writer import Changes
from observer.store import StoreUnavailable


class EmbeddedGraph(BaseGraph):
    """Zero set-up: SQLite or PostgreSQL, whichever holds the store."""

    backend = "embedded"

    @contextmanager
    def reading(self) -> Iterator[SqlGraphReader]:
        try:
            with self.store.engine.connect() as connection:
                yield SqlGraphReader(connection)
        except OperationalError as error:
            raise GraphUnavailable(f"the store is unreachable: {error.orig}") from error

    def _after_write(self, connection: Connection, changes: Changes) -> None:
        """The tables are the graph: nothing more to do."""

    def _after_commit(self) -> None:
        """Nothing is pending after a commit."""

    def ping(self) -> None:
        try:
            self.store.ping()
        except StoreUnavailable as error:
            raise GraphUnavailable(str(error)) from error

    def close(self) -> None:
        """The store's engine belongs to the runtime."""

    def rebuild(self, progress: Callable[[str, int], None] | None = None) -> RebuildReport:
        """The tables are the graph: fold aliases registered since, drop a Neo4j queue left from
        a switch back, refresh the planner's statistics."""
        started = time.perf_counter()
        merged = self.merge_aliases()
        with self.store.engine.begin() as connection:
            connection.execute(delete(graph_outbox))
            analyze(connection)
            nodes = connection.execute(select(func.count()).select_from(graph_nodes)).scalar_one()
            edges = connection.execute(select(func.count()).select_from(graph_edges)).scalar_one()
        if progress is not None:
            progress("edges", edges)
        return RebuildReport(self.backend, nodes, edges, merged, time.perf_counter() - started)


def analyze(connection: Connection) -> None:
    """Refresh the planner's statistics of the graph tables."""
    if connection.dialect.name == "sqlite":
        connection.execute(text("ANALYZE graph_nodes"))
        connection.execute(text("ANALYZE graph_edges"))
    else:
        connection.execute(text("ANALYZE graph_nodes, graph_edges"))
