"""dbt artifacts become datasets with owners and tags, column lineage from compiled SQL, assertions from
test results and freshness from source checks, under the identities the warehouse collector uses."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.engine import make_url

from collectors.dbt.artifacts import ArtifactError
from collectors.dbt.collect import DbtNames, DbtReport, collect_dbt
from collectors.warehouse.collect import collect_warehouse
from observer.catalog import DatasetRef
from observer.catalog import service as catalog
from observer.catalog.tables import assertions, datasets, jobs
from observer.clock import SimulatedClock
from observer.config.settings import GraphSettings
from observer.graph.embedded import EmbeddedGraph
from observer.graph.model import GraphWriter
from observer.store import Store
from tests.collectors.dbt_project import write_project
from tests.collectors.helpers import RecordingGraph, database, run, warehouse

NAMESPACE = "postgres://127.0.0.1:5432"


def _ref(name: str) -> DatasetRef:
    return DatasetRef(NAMESPACE, f"analytics.{name}")


@pytest.fixture
def target(tmp_path: Path) -> Path:
    return write_project(tmp_path / "shop" / "target", database="analytics")


def _collect(
    target: Path, store: Store, clock: SimulatedClock, graph: GraphWriter | None = None
) -> DbtReport:
    return collect_dbt(target, name="shop", namespace=NAMESPACE, store=store, clock=clock, graph=graph)


def test_models_and_sources_become_datasets_with_owners_tags_and_kinds(
    target: Path, catalog_store: Store, clock: SimulatedClock
) -> None:
    report = _collect(target, catalog_store, clock)
    assert report.ok and report.datasets == 4
    with catalog_store.engine.connect() as connection:
        rows = {row.name: row for row in connection.execute(select(datasets)).all()}
    assert set(rows) == {
        "analytics.staging.stg_orders",
        "analytics.marts.customers",
        "analytics.raw.orders",
        "analytics.raw.customers",
    }
    customers = rows["analytics.marts.customers"]
    assert customers.kind == "TABLE" and rows["analytics.staging.stg_orders"].kind == "VIEW"
    assert customers.description == "One row per customer with lifetime value."
    assert [owner["name"] for owner in customers.owners] == ["team:growth", "growth@example.com"]
    assert customers.tags == ["daily", "pii"]
    assert customers.facets["dbt"]["unique_id"] == "model.shop.customers"
    assert [owner["name"] for owner in rows["analytics.raw.orders"].owners] == ["team:ingest"]


def test_compiled_sql_gives_column_lineage_through_ephemeral_models(
    target: Path, catalog_store: Store, clock: SimulatedClock
) -> None:
    graph = RecordingGraph()
    report = _collect(target, catalog_store, clock, graph)
    assert not report.warnings
    edges = graph.column_edges()
    assert ("analytics.raw.orders", "id", "analytics.staging.stg_orders", "order_id") in edges
    assert ("analytics.staging.stg_orders", "amount", "analytics.marts.customers", "lifetime_value") in edges
    assert ("analytics.raw.customers", "name", "analytics.marts.customers", "name") in edges
    assert {
        ("model.shop.customers", "analytics.staging.stg_orders", "input"),
        ("model.shop.customers", "analytics.raw.customers", "input"),
        ("model.shop.customers", "analytics.marts.customers", "output"),
    } <= graph.dataset_edges()
    assert all(batch.source == "dbt" for batch in graph.batches)
    with catalog_store.engine.connect() as connection:
        names = set(connection.execute(select(jobs.c.namespace, jobs.c.name)).all())
    assert names == {("dbt", "model.shop.customers"), ("dbt", "model.shop.stg_orders")}


def test_test_results_become_assertions_on_the_tested_dataset_and_column(
    target: Path, catalog_store: Store, clock: SimulatedClock
) -> None:
    _collect(target, catalog_store, clock)
    with catalog_store.engine.connect() as connection:
        rows = connection.execute(
            select(datasets.c.name.label("dataset"), assertions).join(
                datasets, datasets.c.id == assertions.c.dataset_id
            )
        ).all()
    results = {(row.dataset, row.column_name, row.name): row for row in rows}
    unique = results[("analytics.marts.customers", "customer_id", "unique")]
    assert not unique.success and unique.severity == "error" and unique.details["failures"] == 2
    assert unique.observed_at == datetime(2026, 3, 10, 10, 59, 51, tzinfo=UTC)
    assert results[("analytics.marts.customers", "customer_id", "not_null")].success
    warned = results[("analytics.staging.stg_orders", "status", "accepted_values")]
    assert not warned.success and warned.severity == "warn"
    assert results[("analytics.raw.orders", "id", "not_null")].success
    freshness = results[("analytics.raw.orders", "", "source_freshness")]
    assert not freshness.success and freshness.severity == "warn"


def test_builds_and_source_loads_become_updates_and_metrics(
    target: Path, catalog_store: Store, clock: SimulatedClock
) -> None:
    _collect(target, catalog_store, clock)
    with catalog_store.engine.connect() as connection:
        ids = catalog.find_dataset_ids(connection, [_ref("marts.customers"), _ref("raw.orders")])
        customers, orders = ids[_ref("marts.customers")], ids[_ref("raw.orders")]
        assert catalog.update_history(connection, customers) == [
            datetime(2026, 3, 10, 10, 59, 45, tzinfo=UTC)
        ]
        assert catalog.update_history(connection, orders) == [datetime(2026, 3, 9, 20, tzinfo=UTC)]
        assert [v for _, v in catalog.metric_series(connection, customers, "rows_written")] == [42]
        assert [v for _, v in catalog.metric_series(connection, orders, "event_lag_seconds")] == [54000]


def test_catalog_json_gives_schema_versions_with_documented_descriptions(
    target: Path, catalog_store: Store, clock: SimulatedClock
) -> None:
    report = _collect(target, catalog_store, clock)
    assert report.schema_versions == 4
    with catalog_store.engine.connect() as connection:
        dataset_id = catalog.find_dataset_ids(connection, [_ref("marts.customers")])[_ref("marts.customers")]
        fields = catalog.schema_history(connection, dataset_id)[-1].fields
    assert [(f.name, f.type) for f in fields][:2] == [("customer_id", "integer"), ("name", "text")]
    assert fields[3].description == "EUR, gross"


def test_the_same_artifacts_twice_add_no_duplicate_results(
    target: Path, catalog_store: Store, clock: SimulatedClock
) -> None:
    _collect(target, catalog_store, clock)
    again = _collect(target, catalog_store, clock)
    assert again.assertions == 0 and again.schema_versions == 0
    assert [skipped.split(" ")[0] for skipped in again.skipped] == ["run_results.json", "sources.json"]
    with catalog_store.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(assertions)).scalar_one() == 5


def test_unreadable_artifacts_are_named_with_the_file_and_line(
    tmp_path: Path, catalog_store: Store, clock: SimulatedClock
) -> None:
    with pytest.raises(ArtifactError, match=r"manifest\.json: not found"):
        _collect(tmp_path, catalog_store, clock)
    (tmp_path / "manifest.json").write_text('{"metadata": {},\n "nodes": [}')
    with pytest.raises(ArtifactError, match=r"manifest\.json:2: invalid JSON"):
        _collect(tmp_path, catalog_store, clock)
    (tmp_path / "manifest.json").write_text(
        json.dumps(
            {
                "metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v2.json"},
                "nodes": {},
            }
        )
    )
    with pytest.raises(ArtifactError, match="manifest v2 is not supported"):
        _collect(tmp_path, catalog_store, clock)


@pytest.mark.parametrize(
    ("dialect", "node", "name"),
    [
        ("snowflake", {"relation_name": "ANALYTICS.MARTS.customers"}, "ANALYTICS.MARTS.CUSTOMERS"),
        ("snowflake", {"relation_name": '"ANALYTICS"."MARTS"."Customers"'}, "ANALYTICS.MARTS.Customers"),
        (
            "snowflake",
            {"database": "analytics", "schema": "marts", "name": "customers"},
            "ANALYTICS.MARTS.CUSTOMERS",
        ),
        ("postgres", {"relation_name": '"analytics"."marts"."Customers"'}, "analytics.marts.Customers"),
        ("bigquery", {"relation_name": "`my-project`.`Sales`.`orders`"}, "my-project.Sales.orders"),
        ("duckdb", {"relation_name": '"Lake"."raw"."Events"'}, "lake.raw.events"),
    ],
)
def test_dbt_relations_are_named_the_way_the_engine_stores_them(
    dialect: str, node: dict[str, str], name: str
) -> None:
    assert DbtNames("ns", dialect).of_node(node).name == name


@pytest.mark.postgres
def test_dbt_and_the_warehouse_collector_meet_on_the_same_datasets(
    postgres_url: str, tmp_path: Path, catalog_store: Store, clock: SimulatedClock
) -> None:
    database_name = make_url(postgres_url).database or ""
    engine: Engine
    with database(postgres_url) as engine:
        run(
            engine,
            "CREATE SCHEMA raw",
            "CREATE SCHEMA staging",
            "CREATE SCHEMA marts",
            "CREATE TABLE raw.orders (id integer, customer_id integer, amount numeric, status text, loaded_at timestamptz)",
            "CREATE TABLE raw.customers (id integer, name text)",
            "CREATE VIEW staging.stg_orders AS SELECT id AS order_id, customer_id, amount, status FROM raw.orders",
            "CREATE TABLE marts.customers (customer_id integer, name text, order_count bigint, lifetime_value numeric)",
        )
    report = collect_warehouse(warehouse("shop", postgres_url), store=catalog_store, clock=clock)
    assert report.ok and report.tables == 4
    dbt = collect_dbt(
        write_project(tmp_path / "target", database=database_name),
        name="shop",
        namespace=report.namespace,
        store=catalog_store,
        clock=clock,
    )
    assert dbt.datasets == 4 and dbt.schema_versions == 0
    with catalog_store.engine.connect() as connection:
        assert catalog.dataset_count(connection) == 4


def test_lineage_lands_in_the_embedded_graph_and_jobs_carry_their_sql(
    target: Path, catalog_store: Store, clock: SimulatedClock
) -> None:
    graph = EmbeddedGraph(catalog_store, GraphSettings())
    _collect(target, catalog_store, clock, graph)
    walk = graph.lineage(
        _ref("marts.customers").field_node_id("lifetime_value"), direction="upstream", depth=5, max_nodes=None
    )
    reached = {node.key for node in walk.nodes.values()}
    assert _ref("raw.orders").field_node_id("amount") in reached
    assert _ref("staging.stg_orders").field_node_id("amount") in reached
    with catalog_store.engine.connect() as connection:
        facets = connection.execute(
            select(jobs.c.facets).where(jobs.c.name == "model.shop.customers")
        ).scalar_one()
    assert facets["jobType"]["integration"] == "DBT" and "lifetime_value" in facets["sql"]["query"]
