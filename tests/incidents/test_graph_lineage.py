"""The incidents' lineage view over the embedded graph backend: impact with hops and direct use,
upstream datasets, and no lineage (rather than no incident) when the graph is down."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from observer.catalog.identity import DatasetRef, JobRef
from observer.config.settings import GraphSettings
from observer.graph.embedded import EmbeddedGraph
from observer.graph.model import (
    ColumnEdge,
    ColumnRef,
    DatasetEdge,
    GraphUnavailable,
    LineageBatch,
    Transformation,
)
from observer.incidents.graph_lineage import GraphLineage
from observer.store import Store

NS = "postgres://warehouse:5432"
RAW = DatasetRef(NS, "raw.orders")
STAGED = DatasetRef(NS, "staging.orders")
REVENUE = DatasetRef(NS, "marts.revenue")
DAILY = DatasetRef(NS, "marts.orders_daily")
STAGE, BUILD = JobRef("airflow", "stage"), JobRef("airflow", "build_marts")
COPY = Transformation("DIRECT", "IDENTITY")
SUM = Transformation("DIRECT", "AGGREGATION")
FILTER = Transformation("INDIRECT", "FILTER")


@pytest.fixture
def lineage(store: Store) -> GraphLineage:
    graph = EmbeddedGraph(store, GraphSettings())
    graph.record(
        LineageBatch(
            observed_at=datetime(2026, 5, 1, tzinfo=UTC),
            source="manual",
            dataset_edges=[
                DatasetEdge(STAGE, RAW, "input"),
                DatasetEdge(STAGE, STAGED, "output"),
                DatasetEdge(BUILD, STAGED, "input"),
                DatasetEdge(BUILD, REVENUE, "output"),
                DatasetEdge(BUILD, DAILY, "output"),
            ],
            column_edges=[
                ColumnEdge(ColumnRef(RAW, "amount"), ColumnRef(STAGED, "amount"), COPY, STAGE),
                ColumnEdge(ColumnRef(RAW, "id"), ColumnRef(STAGED, "id"), COPY, STAGE),
                ColumnEdge(ColumnRef(STAGED, "amount"), ColumnRef(REVENUE, "total"), SUM, BUILD),
                ColumnEdge(ColumnRef(STAGED, "amount"), ColumnRef(DAILY, "orders"), FILTER, BUILD),
            ],
        )
    )
    return GraphLineage(graph)


def test_impact_has_datasets_columns_and_jobs_with_hops_and_direct_use(lineage: GraphLineage) -> None:
    nodes = lineage.downstream(RAW, 5)
    datasets = {node.dataset: (node.hops, node.direct) for node in nodes if node.kind == "dataset"}
    assert datasets == {STAGED: (1, True), REVENUE: (2, True), DAILY: (2, False)}
    columns = {node.node_id: node.direct for node in nodes if node.kind == "column"}
    assert columns[REVENUE.field_node_id("total")] is True
    assert columns[DAILY.field_node_id("orders")] is False
    assert {node.job: node.hops for node in nodes if node.kind == "job"} == {STAGE: 1, BUILD: 2}
    assert [node.dataset for node in lineage.downstream(RAW, 1) if node.kind == "dataset"] == [STAGED]


def test_a_column_finding_follows_that_columns_lineage(lineage: GraphLineage) -> None:
    by_id = {node.dataset for node in lineage.downstream(RAW, 5, columns=("id",)) if node.kind == "dataset"}
    assert by_id == {STAGED}
    unknown = {
        node.dataset for node in lineage.downstream(RAW, 5, columns=("nope",)) if node.kind == "dataset"
    }
    assert unknown == {STAGED, REVENUE, DAILY}, "a column without lineage: all of its dataset's impact"


def test_upstream_datasets_with_their_distance(lineage: GraphLineage) -> None:
    assert lineage.upstream_datasets(REVENUE, 5) == {STAGED: 1, RAW: 2}
    assert lineage.upstream_datasets(REVENUE, 1) == {STAGED: 1}
    assert lineage.upstream_datasets(DatasetRef(NS, "unknown"), 5) == {}
    assert lineage.downstream(DatasetRef(NS, "unknown"), 5) == []


class DownGraph:
    def impact(self, *args: Any, **kwargs: Any) -> Any:
        raise GraphUnavailable("bolt://graph:7687 refused the connection")

    lineage = impact


def test_an_unreachable_graph_means_no_lineage_not_no_incident(caplog: pytest.LogCaptureFixture) -> None:
    view = GraphLineage(DownGraph())  # type: ignore[arg-type]
    assert view.downstream(RAW, 5) == [] and view.upstream_datasets(RAW, 5) == {}
    assert "lineage unavailable" in caplog.text
