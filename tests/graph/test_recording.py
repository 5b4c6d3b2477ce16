"""Recording lineage: idempotent, first/last seen times, newest attributes, symlinked identities
resolving to one node (also when the alias is registered later), the caller's transaction."""

from __future__ import annotations

import gc
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Connection

from observer.catalog.identity import DatasetRef, JobRef
from observer.catalog.service import add_aliases, ensure_datasets
from observer.graph import writer
from observer.graph.base import BaseGraph
from observer.graph.model import (
    ColumnEdge,
    ColumnRef,
    DatasetEdge,
    LineageBatch,
    LineageSource,
    Transformation,
)
from observer.graph.results import Edge
from observer.graph.tables import from_ms
from tests.graph.shop import JANUARY, NS

SOURCE = DatasetRef(NS, "shop.raw.orders")
TARGET = DatasetRef(NS, "shop.stg.orders")
JOB = JobRef("airflow", "shop.stg_orders")


def batch(
    when: datetime = JANUARY,
    subtype: str = "IDENTITY",
    source: LineageSource = "openlineage",
    src: DatasetRef = SOURCE,
    dst: DatasetRef = TARGET,
) -> LineageBatch:
    return LineageBatch(
        observed_at=when,
        source=source,
        dataset_edges=[DatasetEdge(JOB, src, "input"), DatasetEdge(JOB, dst, "output")],
        column_edges=[
            ColumnEdge(
                ColumnRef(src, "amount"), ColumnRef(dst, "amount"), Transformation("DIRECT", subtype), JOB
            )
        ],
    )


def column_edges(graph: BaseGraph, node_id: str) -> list[Edge]:
    return graph.lineage(node_id, direction="downstream", depth=5, max_nodes=None).edges


def sightings(graph: BaseGraph, node_id: str) -> list[tuple[object, ...]]:
    """The edges downstream of ``node_id`` by node keys (ids differ between graphs) and attributes."""
    walk = graph.lineage(node_id, direction="downstream", depth=5, max_nodes=None)
    keys = {node.id: node.key for node in walk.nodes.values()}
    return sorted((keys[edge.src], keys[edge.dst], edge.kind, *edge[4:]) for edge in walk.edges)


def test_recording_twice_changes_nothing_but_last_seen(graph: BaseGraph) -> None:
    graph.record(batch())
    graph.record(batch())
    graph.record(batch(JANUARY + timedelta(days=3)))
    (edge,) = column_edges(graph, SOURCE.field_node_id("amount"))
    assert from_ms(edge.first_seen) == JANUARY
    assert from_ms(edge.last_seen) == JANUARY + timedelta(days=3)
    dataset_walk = graph.lineage(SOURCE.node_id, direction="downstream", depth=5, max_nodes=None)
    assert len(dataset_walk.edges) == 2


def test_a_late_older_event_moves_first_seen_back_and_keeps_newest_attributes(graph: BaseGraph) -> None:
    graph.record(batch(JANUARY, subtype="TRANSFORMATION"))
    graph.record(batch(JANUARY - timedelta(days=10), subtype="IDENTITY"))
    (edge,) = column_edges(graph, SOURCE.field_node_id("amount"))
    assert from_ms(edge.first_seen) == JANUARY - timedelta(days=10)
    assert from_ms(edge.last_seen) == JANUARY
    assert edge.subtype == "TRANSFORMATION"
    walk = graph.lineage(
        SOURCE.node_id, direction="downstream", depth=5, max_nodes=None, as_of=JANUARY - timedelta(days=5)
    )
    assert TARGET.node_id in {node.key for node in walk.nodes.values()}


def test_recording_batches_together_gives_what_recording_them_in_turn_gives(
    graph: BaseGraph, make_graph: Callable[[str], BaseGraph], backend: str
) -> None:
    later_target = DatasetRef(NS, "shop.mart.orders")
    batches = [
        batch(JANUARY, subtype="TRANSFORMATION"),
        batch(JANUARY + timedelta(days=1), subtype="AGGREGATION"),
        batch(JANUARY + timedelta(days=2), src=TARGET, dst=later_target),
        batch(JANUARY - timedelta(days=10), subtype="IDENTITY"),
    ]
    graph.record_many(batches)
    one_by_one = make_graph(backend)
    for each in batches:
        one_by_one.record(each)
    for node_id in (SOURCE.field_node_id("amount"), TARGET.field_node_id("amount"), SOURCE.node_id):
        assert sightings(graph, node_id) == sightings(one_by_one, node_id)
    (edge, _) = sorted(column_edges(graph, SOURCE.field_node_id("amount")), key=lambda edge: edge.first_seen)
    assert (from_ms(edge.first_seen), from_ms(edge.last_seen)) == (
        JANUARY - timedelta(days=10),
        JANUARY + timedelta(days=1),
    )
    assert edge.subtype == "AGGREGATION"
    assert from_ms(graph.find(later_target.node_id).first_seen) == JANUARY + timedelta(days=2)
    assert from_ms(graph.find(SOURCE.node_id).first_seen) == JANUARY - timedelta(days=10)


def test_each_source_keeps_its_own_sighting(graph: BaseGraph) -> None:
    graph.record(batch(source="openlineage"))
    graph.record(batch(JANUARY + timedelta(days=1), source="sql"))
    edges = column_edges(graph, SOURCE.field_node_id("amount"))
    keys = {
        node.id: node.key
        for node in graph.lineage(
            SOURCE.field_node_id("amount"), direction="downstream", depth=1, max_nodes=None
        ).nodes.values()
    }
    assert sorted(edge.as_json(keys)["source"] for edge in edges) == ["openlineage", "sql"]


def test_an_empty_batch_records_nothing(graph: BaseGraph) -> None:
    graph.record(LineageBatch(observed_at=JANUARY, source="manual"))
    with pytest.raises(LookupError):
        graph.find(SOURCE.node_id)


def test_a_symlinked_identity_is_one_node(graph: BaseGraph) -> None:
    alias = DatasetRef("hive://metastore:9083", "warehouse.orders")
    with graph.store.engine.begin() as connection:
        ids = ensure_datasets(connection, [SOURCE], JANUARY)
        add_aliases(connection, ids[SOURCE], [(alias, "TABLE")])
    graph.record(batch(src=alias))
    assert graph.find(alias.node_id).key == SOURCE.node_id
    assert graph.find(alias.field_node_id("amount")).key == SOURCE.field_node_id("amount")
    walk = graph.lineage(alias.node_id, direction="downstream", depth=5, max_nodes=None)
    assert {node.key for node in walk.nodes.values()} == {SOURCE.node_id, JOB.node_id, TARGET.node_id}


def test_an_alias_registered_later_is_folded_into_its_dataset(graph: BaseGraph) -> None:
    alias = DatasetRef("s3://lake", "orders")
    other_job = JobRef("spark", "orders_export")
    graph.record(batch(src=alias))
    graph.record(
        LineageBatch(
            observed_at=JANUARY,
            source="openlineage",
            dataset_edges=[DatasetEdge(other_job, SOURCE, "input")],
            column_edges=[
                ColumnEdge(
                    ColumnRef(SOURCE, "amount"),
                    ColumnRef(DatasetRef("s3://lake", "export"), "amount"),
                    Transformation("DIRECT", "IDENTITY"),
                    other_job,
                ),
                ColumnEdge(
                    ColumnRef(alias, "currency"),
                    ColumnRef(TARGET, "currency"),
                    Transformation("DIRECT", "IDENTITY"),
                    JOB,
                ),
            ],
        )
    )
    with graph.store.engine.begin() as connection:
        ids = ensure_datasets(connection, [SOURCE], JANUARY)
        add_aliases(connection, ids[SOURCE], [(alias, "LOCATION")])
    assert graph.merge_aliases() == 1
    merged = graph.find(alias.node_id)
    assert merged.key == SOURCE.node_id
    walk = graph.lineage(SOURCE.node_id, direction="downstream", depth=5, max_nodes=None)
    assert {node.key for node in walk.nodes.values()} >= {
        TARGET.node_id,
        JOB.node_id,
        other_job.node_id,
        "dataset:s3://lake:export",
    }
    columns = graph.lineage(SOURCE.node_id, direction="downstream", depth=1, max_nodes=None, level="column")
    assert {node.key for node in columns.nodes.values()} == {
        SOURCE.field_node_id("amount"),
        SOURCE.field_node_id("currency"),
        TARGET.field_node_id("amount"),
        TARGET.field_node_id("currency"),
        "datasetField:s3://lake:export:amount",
    }
    assert graph.find(alias.field_node_id("currency")).key == SOURCE.field_node_id("currency")
    assert graph.merge_aliases() == 0


def test_the_next_batch_naming_a_new_alias_folds_it(graph: BaseGraph) -> None:
    alias = DatasetRef("s3://lake", "orders")
    graph.record(batch(src=alias))
    with graph.store.engine.begin() as connection:
        ids = ensure_datasets(connection, [SOURCE], JANUARY)
        add_aliases(connection, ids[SOURCE], [(alias, "LOCATION")])
    graph.record(batch(JANUARY + timedelta(days=1), src=alias))
    assert graph.find(alias.node_id).key == SOURCE.node_id
    (edge,) = column_edges(graph, SOURCE.field_node_id("amount"))
    assert (from_ms(edge.first_seen), from_ms(edge.last_seen)) == (JANUARY, JANUARY + timedelta(days=1))


def test_recording_in_the_callers_transaction_rolls_back_with_it(graph: BaseGraph) -> None:
    class Abort(Exception):
        pass

    with pytest.raises(Abort), graph.store.engine.begin() as connection:
        graph.record(batch(), connection)
        raise Abort
    with pytest.raises(LookupError):
        graph.find(SOURCE.node_id)
    with graph.store.engine.begin() as connection:
        graph.record(batch(), connection)
    assert graph.find(TARGET.node_id).key == TARGET.node_id


def test_nodes_another_writer_creates_meanwhile_are_used_not_duplicated(
    graph: BaseGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process records the same lineage between this write's lookup of known nodes and its
    insert of the missing ones: the insert finds them taken and uses the other writer's nodes."""
    looked_up = writer.node_states
    raced: list[bool] = []

    def lookup_then_race(connection: Connection, keys: Sequence[str]) -> list[tuple[str, int, int, int]]:
        found = looked_up(connection, keys)
        if not raced:
            raced.append(True)
            graph.record(batch(JANUARY - timedelta(days=1)))
        return found

    monkeypatch.setattr(writer, "node_states", lookup_then_race)
    graph.record(batch(JANUARY + timedelta(days=1), subtype="AGGREGATION"))
    monkeypatch.setattr(writer, "node_states", looked_up)
    (edge,) = column_edges(graph, SOURCE.field_node_id("amount"))
    assert (from_ms(edge.first_seen), from_ms(edge.last_seen)) == (
        JANUARY - timedelta(days=1),
        JANUARY + timedelta(days=1),
    )
    assert edge.subtype == "AGGREGATION"
    walk = graph.lineage(SOURCE.node_id, direction="downstream", depth=5, max_nodes=None)
    assert sorted(node.key for node in walk.nodes.values()) == sorted(
        [SOURCE.node_id, JOB.node_id, TARGET.node_id]
    )


def test_recording_leaves_the_garbage_collector_as_it_found_it(graph: BaseGraph) -> None:
    """Writes pause Python's cyclic collector (they allocate millions of tuples) and restore it,
    also when they fail."""
    assert gc.isenabled()
    graph.record(batch())
    assert gc.isenabled()
    broken = batch()
    broken.source = "carrier pigeon"  # type: ignore[assignment]
    with pytest.raises(KeyError):
        graph.record(broken)
    assert gc.isenabled()
    gc.disable()
    try:
        graph.record(batch(JANUARY + timedelta(days=1)))
        assert not gc.isenabled()
    finally:
        gc.enable()
