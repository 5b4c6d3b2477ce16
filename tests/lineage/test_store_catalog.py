"""Without a schema from the caller, ``SELECT *`` and unqualified columns use the store's latest schemas."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from observer.catalog.identity import DatasetRef, JobRef
from observer.catalog.records import SchemaField, SchemaObservation
from observer.catalog.service import add_aliases, ensure_datasets, record_schemas
from observer.graph.model import LineageBatch
from observer.ingest.sql_lineage import SqlLineageWorker
from observer.ingest.sql_queue import QueuedQuery
from observer.lineage import analyze_sql
from observer.lineage.store_catalog import StoreCatalog
from observer.store import Store

from .support import columns_of, direct

NS = "postgres://db:5432"
NOW = datetime(2026, 5, 1, tzinfo=UTC)


def _schema(store: Store, name: str, columns: list[str], namespace: str = NS, at: datetime = NOW) -> None:
    observation = SchemaObservation(
        DatasetRef(namespace, name), tuple(SchemaField(c) for c in columns), at, "openlineage"
    )
    with store.engine.begin() as connection:
        record_schemas(connection, [observation], at)


def test_tables_are_found_by_full_or_trailing_name_in_any_case(store: Store) -> None:
    _schema(store, "Shop.Public.Orders", ["id", "total"])
    catalog = StoreCatalog(store, NS)
    assert catalog.table_columns("shop.public.orders") == ["id", "total"]
    assert catalog.table_columns("public.orders") == ["id", "total"]
    assert catalog.table_columns("ORDERS") == ["id", "total"]
    assert catalog.table_columns("other.orders") is None
    assert StoreCatalog(store, "bigquery").table_columns("orders") is None


def test_the_latest_schema_version_counts(store: Store) -> None:
    _schema(store, "shop.public.orders", ["id"])
    _schema(store, "shop.public.orders", ["id", "total", "placed_at"], at=NOW + timedelta(hours=1))
    assert StoreCatalog(store).table_columns("orders") == ["id", "total", "placed_at"]


def test_an_ambiguous_trailing_name_is_not_guessed_but_an_exact_one_wins(store: Store) -> None:
    _schema(store, "shop.public.orders", ["id"])
    _schema(store, "shop.staging.orders", ["id", "raw"])
    catalog = StoreCatalog(store, NS)
    assert catalog.table_columns("orders") is None
    assert catalog.table_columns("staging.orders") == ["id", "raw"]
    _schema(store, "_x_", ["a"])  # LIKE wildcards in names are taken literally
    assert catalog.table_columns("x") is None


def test_symlinked_aliases_lead_to_the_dataset(store: Store) -> None:
    _schema(store, "s3://lake/warehouse/orders", ["id", "total"], namespace="s3://lake")
    with store.engine.begin() as connection:
        [dataset_id] = ensure_datasets(
            connection, [DatasetRef("s3://lake", "s3://lake/warehouse/orders")], NOW
        ).values()
        add_aliases(connection, dataset_id, [(DatasetRef("hive://metastore", "lake.orders"), "TABLE")])
    assert StoreCatalog(store, "hive://metastore").table_columns("lake.orders") == ["id", "total"]


def test_select_star_is_expanded_from_the_store(store: Store) -> None:
    _schema(store, "shop.public.orders", ["id", "total"])
    statement = analyze_sql(
        "INSERT INTO mart.daily SELECT * FROM public.orders", "postgres", catalog=StoreCatalog(store, NS)
    ).statements[0]
    assert direct(columns_of(statement)) == {
        "id": {("public.orders", "id")},
        "total": {("public.orders", "total")},
    }


class _OneQuery:
    def __init__(self, query: QueuedQuery) -> None:
        self.query = query
        self.done: list[int] = []

    def pending(self, limit: int) -> list[QueuedQuery]:
        return [] if self.done else [self.query]

    def mark_done(self, query_id: int) -> None:
        self.done.append(query_id)

    def mark_failed(self, query_id: int, reason: str) -> None:
        raise AssertionError(reason)


class _Graph:
    def __init__(self) -> None:
        self.batches: list[LineageBatch] = []

    def record(self, batch: LineageBatch) -> None:
        self.batches.append(batch)


def test_queued_sql_expands_star_with_the_store(store: Store) -> None:
    _schema(store, "shop.public.orders", ["id", "total"])
    orders, daily = DatasetRef(NS, "shop.public.orders"), DatasetRef(NS, "shop.mart.daily")
    query = QueuedQuery(
        job=JobRef("airflow", "daily"),
        sql="INSERT INTO mart.daily SELECT * FROM public.orders",
        dialect="postgres",
        run_uuid=None,
        event_time=NOW,
        inputs=[orders],
        outputs=[daily],
        default_namespace=NS,
        id=1,
    )
    graph = _Graph()
    worker = SqlLineageWorker(_OneQuery(query), graph, time_budget_s=2.0, store=store)  # type: ignore[arg-type]
    assert worker.run_once() == 1
    [batch] = graph.batches
    assert {(e.source.field, e.target.field) for e in batch.column_edges} == {
        ("id", "id"),
        ("total", "total"),
    }
    assert {e.source.dataset for e in batch.column_edges} == {orders}
