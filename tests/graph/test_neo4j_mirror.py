"""The Neo4j backend mirrors the store: recording survives an outage and catches up, a store
built on the embedded backend moves to Neo4j with a rebuild, big batches respect the Bolt
message limit."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from observer.catalog.identity import DatasetRef, JobRef
from observer.config.settings import GraphSettings
from observer.graph.base import BaseGraph
from observer.graph.model import (
    ColumnEdge,
    ColumnRef,
    DatasetEdge,
    GraphUnavailable,
    LineageBatch,
    Transformation,
)
from observer.graph.neo4j_backend import Bolt, Neo4jGraph
from observer.graph.results import Direction
from observer.graph.sync import GraphSync
from observer.store import Store
from tests.graph.conftest import BoltServer, free_bolt_port, wipe
from tests.graph.proxy import CuttableProxy
from tests.graph.shop import CAMPAIGNS, JANUARY, RAW_ORDERS, REVENUE, record_shop
from tests.graph.test_queries import hops


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path / 'observer.db'}")
    store.upgrade()
    yield store
    store.dispose()


@pytest.fixture
def proxy(bolt_server: BoltServer, shared_bolt: Bolt) -> Iterator[CuttableProxy]:
    wipe(shared_bolt)
    relay = CuttableProxy(int(bolt_server.uri.rsplit(":", 1)[1]), free_bolt_port())
    yield relay
    relay.cut()


def edge(source: str, target: str) -> LineageBatch:
    job = JobRef("airflow", f"load_{target}")
    src, dst = DatasetRef("pg://h:5432", source), DatasetRef("pg://h:5432", target)
    return LineageBatch(
        JANUARY,
        "openlineage",
        [DatasetEdge(job, src, "input"), DatasetEdge(job, dst, "output")],
        [ColumnEdge(ColumnRef(src, "id"), ColumnRef(dst, "id"), Transformation("DIRECT", "IDENTITY"), job)],
    )


def test_recording_survives_an_outage_and_the_mirror_catches_up(
    store: Store, proxy: CuttableProxy, bolt_server: BoltServer
) -> None:
    settings = bolt_server.settings().model_copy(update={"uri": f"bolt://127.0.0.1:{proxy.port}"})
    graph = Neo4jGraph(store, settings)
    graph.record(edge("a", "b"))
    assert graph.pending() == 0

    proxy.cut()
    graph.record(edge("b", "c"))
    graph.record(edge("c", "d"))
    assert graph.pending() == 2
    with pytest.raises(GraphUnavailable, match="unreachable"):
        graph.lineage("dataset:pg://h:5432:a", direction="downstream", depth=5, max_nodes=None)

    proxy.restore()
    sync = GraphSync(graph)
    sync.start()
    deadline = time.monotonic() + 30
    while graph.pending() and time.monotonic() < deadline:
        time.sleep(0.2)
    sync.stop()
    assert graph.pending() == 0
    walk = graph.lineage("dataset:pg://h:5432:a", direction="downstream", depth=5, max_nodes=None)
    assert "dataset:pg://h:5432:d" in hops(walk)
    graph.close()


def test_a_store_moves_from_embedded_to_neo4j_with_a_rebuild(
    make_graph: Callable[[str], BaseGraph], shared_bolt: Bolt, bolt_server: BoltServer
) -> None:
    embedded = make_graph("embedded-sqlite")
    record_shop(embedded)
    wipe(shared_bolt)
    neo4j = Neo4jGraph(embedded.store, bolt_server.settings(), bolt=shared_bolt)
    with pytest.raises(GraphUnavailable, match="observer graph rebuild"):
        neo4j.lineage(REVENUE.node_id, direction="upstream", depth=5, max_nodes=None)
    stages: list[str] = []
    report = neo4j.rebuild(lambda stage, _count: stages.append(stage))
    assert report.backend == "neo4j" and report.nodes > 20 and report.edges > 30
    assert {"nodes", "edges"} <= set(stages)
    directions: list[Direction] = ["upstream", "downstream", "undirected"]
    for direction in directions:
        expected = embedded.lineage(REVENUE.node_id, direction=direction, depth=5, max_nodes=None)
        assert (
            neo4j.lineage(REVENUE.node_id, direction=direction, depth=5, max_nodes=None).as_json()
            == expected.as_json()
        )
    assert neo4j.impact(RAW_ORDERS.node_id).as_json() == embedded.impact(RAW_ORDERS.node_id).as_json()
    assert neo4j.rebuild().edges == report.edges
    assert CAMPAIGNS.node_id in hops(
        neo4j.lineage(RAW_ORDERS.node_id, direction="downstream", depth=9, max_nodes=None)
    )


def test_big_batches_are_split_below_the_message_limit(graph: BaseGraph) -> None:
    wide = DatasetRef("s3://lake/" + "deep/" * 40, "events")
    narrow = DatasetRef("s3://lake/" + "deep/" * 40, "events_clean")
    job = JobRef("spark", "clean_events")
    batch = LineageBatch(
        JANUARY,
        "openlineage",
        [DatasetEdge(job, wide, "input"), DatasetEdge(job, narrow, "output")],
        [
            ColumnEdge(
                ColumnRef(wide, f"attribute_with_a_long_name_{index}"),
                ColumnRef(narrow, f"attribute_with_a_long_name_{index}"),
                Transformation("DIRECT", "IDENTITY", description="copied " * 10),
                job,
            )
            for index in range(300)
        ],
    )
    graph.record(batch)
    walk = graph.lineage(wide.node_id, direction="downstream", depth=1, max_nodes=None, level="column")
    assert len(walk.nodes) == 600
    assert len(walk.edges) == 300


def test_batches_respect_the_byte_budget() -> None:
    bolt = Bolt(GraphSettings(backend="neo4j", uri="bolt://127.0.0.1:1", max_message_bytes=1000))
    rows = [{"key": "x" * 50, "id": index} for index in range(100)]
    batches = list(bolt.batches("UNWIND $rows AS r RETURN r", rows))
    assert sum(len(batch) for batch in batches) == 100
    assert all(len(str(batch)) < 1000 for batch in batches)
    assert len(list(Bolt(GraphSettings(backend="neo4j", uri="bolt://h:1")).batches("q", rows))) == 1
