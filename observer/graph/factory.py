"""Choosing the configured graph backend."""

from __future__ import annotations

from observer.config.settings import GraphSettings
from observer.graph.base import GraphStore
from observer.graph.embedded import EmbeddedGraph
from observer.store import Store


def open_graph(settings: GraphSettings, store: Store) -> GraphStore:
    """The graph of ``store``: embedded tables, or their Neo4j mirror. Opening does not connect."""
    if settings.backend == "neo4j":
        # Imported only when chosen: the driver loads pandas when installed (~60 MiB in every process).
        from observer.graph.neo4j_backend import Neo4jGraph

        return Neo4jGraph(store, settings)
    return EmbeddedGraph(store, settings)
