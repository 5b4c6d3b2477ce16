"""Retiring lineage: a source that re-declares something in full ends the edges it left out (kept
for ``asOf``), an edge seen again comes back with its retired time kept as a gap, deleted datasets
lose their lineage from then on. Each test runs on every backend."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from observer.catalog.identity import DatasetRef, JobRef
from observer.graph.base import BaseGraph
from observer.graph.completeness import declared_complete
from observer.graph.from_sql import lineage_batch
from observer.graph.model import (
    ColumnEdge,
    ColumnRef,
    Completeness,
    DatasetEdge,
    LineageBatch,
    LineageSource,
    Transformation,
)
from observer.graph.neo4j_backend import Bolt, Neo4jGraph
from observer.graph.results import Edge
from observer.graph.tables import SourceCode, from_ms
from tests.graph.conftest import BoltServer, wipe
from tests.graph.shop import FEBRUARY, JANUARY, MARCH, NS

ORDERS = DatasetRef(NS, "shop.raw.orders")
REFUNDS = DatasetRef(NS, "shop.raw.refunds")
DAILY = DatasetRef(NS, "shop.mart.daily")
REPORT = DatasetRef(NS, "shop.report.daily")
JOB = JobRef("airflow", "shop.daily")
REPORT_JOB = JobRef("airflow", "shop.report")
DIRECT = Transformation("DIRECT", "IDENTITY")
JOIN = Transformation("INDIRECT", "JOIN")
MID_JANUARY = JANUARY + timedelta(days=15)
MID_FEBRUARY = FEBRUARY + timedelta(days=14)
APRIL = MARCH + timedelta(days=31)

Link = tuple[DatasetRef, str, DatasetRef, str]


def event(
    when: datetime,
    links: Sequence[Link],
    *,
    job: JobRef | None = JOB,
    complete: Completeness | None = "outputs",
    source: LineageSource = "openlineage",
    how: Transformation = DIRECT,
) -> LineageBatch:
    """A run of ``job`` writing ``links`` (source dataset, column, target dataset, column)."""
    column_edges = [
        ColumnEdge(ColumnRef(src, src_field), ColumnRef(dst, dst_field), how, job)
        for src, src_field, dst, dst_field in links
    ]
    dataset_edges = []
    if job is not None:
        dataset_edges = [DatasetEdge(job, ref, "input") for ref in dict.fromkeys(src for src, *_ in links)]
        dataset_edges += [DatasetEdge(job, ref, "output") for ref in dict.fromkeys(link[2] for link in links)]
    return LineageBatch(
        observed_at=when,
        source=source,
        dataset_edges=dataset_edges,
        column_edges=column_edges,
        complete=complete,
    )


BOTH = [(ORDERS, "amount", DAILY, "amount"), (ORDERS, "id", DAILY, "orders")]
AMOUNT_ONLY = [(ORDERS, "amount", DAILY, "amount")]


def downstream(graph: BaseGraph, node_id: str, as_of: datetime | None = None) -> set[str]:
    walk = graph.lineage(node_id, direction="downstream", depth=5, max_nodes=None, as_of=as_of)
    return {node.key for node in walk.nodes.values()} - {node_id}


def upstream(graph: BaseGraph, node_id: str, as_of: datetime | None = None) -> set[str]:
    walk = graph.lineage(node_id, direction="upstream", depth=5, max_nodes=None, as_of=as_of)
    return {node.key for node in walk.nodes.values()} - {node_id}


def impacted(graph: BaseGraph, node_id: str, as_of: datetime | None = None) -> set[str]:
    return {node.node_id for node in graph.impact(node_id, as_of=as_of).nodes}


def the_edge(graph: BaseGraph, source: str, target: str, as_of: datetime | None) -> Edge:
    walk = graph.lineage(source, direction="downstream", depth=1, max_nodes=None, as_of=as_of)
    keys = {node.id: node.key for node in walk.nodes.values()}
    (edge,) = [edge for edge in walk.edges if keys[edge.src] == source and keys[edge.dst] == target]
    return edge


ID_COLUMN, ORDERS_COLUMN = ORDERS.field_node_id("id"), DAILY.field_node_id("orders")


def test_a_complete_run_retires_the_column_lineage_it_no_longer_declares(graph: BaseGraph) -> None:
    graph.record(event(JANUARY, BOTH))
    graph.record(event(FEBRUARY, AMOUNT_ONLY))

    assert downstream(graph, ID_COLUMN) == set()
    assert upstream(graph, ORDERS_COLUMN) == set()
    assert impacted(graph, ID_COLUMN) == set()
    assert downstream(graph, ORDERS.field_node_id("amount")) == {DAILY.field_node_id("amount")}
    assert ORDERS_COLUMN not in impacted(graph, ORDERS.node_id)
    assert DAILY.field_node_id("amount") in impacted(graph, ORDERS.node_id)

    assert downstream(graph, ID_COLUMN, as_of=MID_JANUARY) == {ORDERS_COLUMN}
    assert upstream(graph, ORDERS_COLUMN, as_of=MID_JANUARY) == {ID_COLUMN}
    assert ORDERS_COLUMN in impacted(graph, ORDERS.node_id, as_of=MID_JANUARY)
    assert downstream(graph, ID_COLUMN, as_of=FEBRUARY) == set()  # valid until, not through, then
    assert downstream(graph, ID_COLUMN, as_of=MID_FEBRUARY) == set()
    edge = the_edge(graph, ID_COLUMN, ORDERS_COLUMN, MID_JANUARY)
    assert (from_ms(edge.first_seen), from_ms(edge.last_seen)) == (JANUARY, JANUARY)
    assert edge.retired_at is not None and from_ms(edge.retired_at) == FEBRUARY
    # the dataset-level lineage the remaining column edge implies is still current
    assert downstream(graph, ORDERS.node_id) == {JOB.node_id, DAILY.node_id}


def test_a_retired_edge_seen_again_is_live_again_and_its_retirement_stays_a_gap(graph: BaseGraph) -> None:
    graph.record(event(JANUARY, BOTH))
    graph.record(event(FEBRUARY, AMOUNT_ONLY))
    graph.record(event(MARCH, BOTH))

    assert downstream(graph, ID_COLUMN) == {ORDERS_COLUMN}
    assert downstream(graph, ID_COLUMN, as_of=MID_JANUARY) == {ORDERS_COLUMN}
    assert downstream(graph, ID_COLUMN, as_of=MID_FEBRUARY) == set()
    assert downstream(graph, ID_COLUMN, as_of=MARCH) == {ORDERS_COLUMN}
    edge = the_edge(graph, ID_COLUMN, ORDERS_COLUMN, None)
    assert (from_ms(edge.first_seen), from_ms(edge.last_seen), edge.retired_at) == (JANUARY, MARCH, None)

    graph.record(event(APRIL, AMOUNT_ONLY))  # retired a second time: both retirements are kept
    assert downstream(graph, ID_COLUMN) == set()
    assert downstream(graph, ID_COLUMN, as_of=MID_FEBRUARY) == set()
    assert downstream(graph, ID_COLUMN, as_of=MARCH + timedelta(days=1)) == {ORDERS_COLUMN}
    assert downstream(graph, ID_COLUMN, as_of=APRIL) == set()


def test_only_complete_declarations_of_the_same_source_retire(graph: BaseGraph) -> None:
    graph.record(event(JANUARY, BOTH))
    graph.record(event(JANUARY, BOTH, source="sql", complete=None))
    graph.record(event(FEBRUARY, AMOUNT_ONLY, complete=None))  # a START event adds, never ends
    assert downstream(graph, ID_COLUMN) == {ORDERS_COLUMN}

    graph.record(event(FEBRUARY, AMOUNT_ONLY))
    sightings = graph.lineage(ID_COLUMN, direction="downstream", depth=1, max_nodes=None).edges
    assert [SourceCode(edge.source).name for edge in sightings] == ["sql"]  # the SQL parser's sighting stays
    assert downstream(graph, ID_COLUMN) == {ORDERS_COLUMN}


def test_an_older_complete_declaration_does_not_retire_newer_sightings(graph: BaseGraph) -> None:
    graph.record(event(FEBRUARY, BOTH))
    graph.record(event(JANUARY, AMOUNT_ONLY))  # a late event from an earlier run
    assert downstream(graph, ID_COLUMN) == {ORDERS_COLUMN}


def test_complete_outputs_are_per_job_and_per_output(graph: BaseGraph) -> None:
    graph.record(event(JANUARY, BOTH))
    graph.record(event(JANUARY, [(DAILY, "orders", REPORT, "orders")], job=REPORT_JOB))
    graph.record(event(FEBRUARY, [(ORDERS, "amount", REPORT, "amount")], job=REPORT_JOB))
    # the report job's new run says nothing about what shop.daily writes into shop.mart.daily
    assert downstream(graph, ID_COLUMN) == {ORDERS_COLUMN}
    assert downstream(graph, ORDERS_COLUMN) == set()
    assert downstream(graph, ORDERS_COLUMN, as_of=MID_JANUARY) == {REPORT.field_node_id("orders")}


def test_a_reparsed_statement_retires_what_its_job_no_longer_reads(graph: BaseGraph) -> None:
    def parsed(when: datetime, inputs: list[str]) -> LineageBatch:
        statement = {
            "type": "INSERT",
            "outputs": ["shop.mart.daily"],
            "inputs": inputs,
            "columns": [
                {
                    "output": {"table": "shop.mart.daily", "column": "amount"},
                    "inputs": [{"table": name, "column": "amount"} for name in inputs],
                }
            ],
            "errors": [],
            "status": "ok",
        }
        return lineage_batch(
            [statement], resolve=lambda name: DatasetRef(NS, name), job=JOB, source="sql", observed_at=when
        )

    first = parsed(JANUARY, ["shop.raw.orders", "shop.raw.refunds"])
    assert first.complete == "jobs"
    graph.record(first)
    graph.record(parsed(FEBRUARY, ["shop.raw.orders"]))

    assert upstream(graph, DAILY.node_id) == {JOB.node_id, ORDERS.node_id}
    assert upstream(graph, DAILY.node_id, as_of=MID_JANUARY) == {JOB.node_id, ORDERS.node_id, REFUNDS.node_id}
    assert downstream(graph, REFUNDS.field_node_id("amount")) == set()
    assert impacted(graph, REFUNDS.node_id) == set()
    assert DAILY.node_id in impacted(graph, REFUNDS.node_id, as_of=MID_JANUARY)
    assert graph.path(REFUNDS.node_id, DAILY.node_id) is None
    assert graph.path(REFUNDS.node_id, DAILY.node_id, as_of=MID_JANUARY) is not None


def test_a_partial_parse_declares_nothing() -> None:
    statement = {"type": "INSERT", "outputs": ["a"], "inputs": ["b"], "columns": [], "errors": []}
    for status in ("partial", "table_level", "failed"):
        batch = lineage_batch(
            [{**statement, "status": status}],
            resolve=lambda name: DatasetRef(NS, name),
            job=JOB,
            source="dbt",
            observed_at=JANUARY,
        )
        assert batch.complete is None
    assert declared_complete("openlineage", event_type="COMPLETE") == "outputs"
    assert declared_complete("openlineage", event_type="START") is None
    assert declared_complete("openlineage", event_type="RUNNING") is None
    assert declared_complete("manual") is None


def test_job_less_lineage_into_a_view_retires_its_flows(graph: BaseGraph) -> None:
    view = DatasetRef(NS, "shop.analytics.view")
    graph.record(event(JANUARY, [(ORDERS, "amount", view, "amount")], job=None, source="sql"))
    graph.record(event(FEBRUARY, [(REFUNDS, "amount", view, "amount")], job=None, source="sql"))
    assert upstream(graph, view.node_id) == {REFUNDS.node_id}
    assert upstream(graph, view.node_id, as_of=MID_JANUARY) == {ORDERS.node_id}
    assert upstream(graph, view.field_node_id("amount")) == {REFUNDS.field_node_id("amount")}


def test_a_deleted_dataset_keeps_its_lineage_only_for_as_of(graph: BaseGraph) -> None:
    graph.record(event(JANUARY, BOTH))
    graph.record(event(JANUARY, [(DAILY, "orders", REPORT, "orders")], job=REPORT_JOB))
    assert graph.retire_datasets([DAILY], FEBRUARY) == 5  # written, read, 2 columns in, 1 column out

    assert downstream(graph, ORDERS.node_id) == {JOB.node_id}  # the job still reads orders
    assert downstream(graph, ID_COLUMN) == set()
    assert upstream(graph, REPORT.field_node_id("orders")) == set()
    assert downstream(graph, ORDERS.node_id, as_of=MID_JANUARY) == {
        JOB.node_id,
        DAILY.node_id,
        REPORT_JOB.node_id,
        REPORT.node_id,
    }
    assert graph.retire_datasets([DatasetRef(NS, "shop.never.seen")], FEBRUARY) == 0
    graph.record(event(MARCH, BOTH))  # re-created
    assert downstream(graph, ID_COLUMN) == {ORDERS_COLUMN}
    assert downstream(graph, ID_COLUMN, as_of=MID_FEBRUARY) == set()


def test_recording_together_retires_as_recording_in_turn(
    graph: BaseGraph, make_graph: Callable[[str], BaseGraph], backend: str
) -> None:
    batches = [
        event(JANUARY, BOTH),
        event(FEBRUARY, AMOUNT_ONLY),
        event(MARCH, BOTH, complete=None),
        event(JANUARY + timedelta(days=2), [(DAILY, "orders", REPORT, "orders")], job=REPORT_JOB),
        event(APRIL, AMOUNT_ONLY),
    ]
    graph.record_many(batches)
    one_by_one = make_graph(backend)
    for each in batches:
        one_by_one.record(each)
    for moment in (None, MID_JANUARY, MID_FEBRUARY, MARCH + timedelta(days=1), APRIL):
        for node_id in (ID_COLUMN, ORDERS.node_id, DAILY.field_node_id("amount")):
            walk, expected = (
                other.lineage(node_id, direction="downstream", depth=5, max_nodes=None, as_of=moment)
                for other in (graph, one_by_one)
            )
            assert walk.as_json() == expected.as_json()
    assert downstream(graph, ID_COLUMN, as_of=MID_FEBRUARY) == set()
    assert downstream(graph, ID_COLUMN, as_of=MARCH + timedelta(days=1)) == {
        ORDERS_COLUMN,
        REPORT.field_node_id("orders"),
    }


def test_a_rebuilt_neo4j_graph_keeps_retirements(
    make_graph: Callable[[str], BaseGraph], shared_bolt: Bolt, bolt_server: BoltServer
) -> None:
    embedded = make_graph("embedded-sqlite")
    for batch in (
        event(JANUARY, BOTH),
        event(FEBRUARY, AMOUNT_ONLY),
        event(MARCH, BOTH),
        event(APRIL, AMOUNT_ONLY),
    ):
        embedded.record(batch)
    embedded.retire_datasets([REPORT], MARCH)
    wipe(shared_bolt)
    neo4j = Neo4jGraph(embedded.store, bolt_server.settings(), bolt=shared_bolt)
    neo4j.rebuild()
    for moment in (None, MID_JANUARY, MID_FEBRUARY, MARCH + timedelta(days=1), APRIL):
        for node_id in (ID_COLUMN, ORDERS.node_id):
            expected = embedded.lineage(
                node_id, direction="downstream", depth=5, max_nodes=None, as_of=moment
            )
            walk = neo4j.lineage(node_id, direction="downstream", depth=5, max_nodes=None, as_of=moment)
            assert walk.as_json() == expected.as_json()
    assert downstream(neo4j, ID_COLUMN, as_of=MID_FEBRUARY) == set()
    assert downstream(neo4j, ID_COLUMN, as_of=MARCH + timedelta(days=1)) == {ORDERS_COLUMN}
