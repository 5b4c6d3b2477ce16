"""The catalog keeps one dataset per identity, schema versions only on change, and histories."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from observer.catalog import DatasetRef
from observer.catalog import service as catalog
from observer.catalog.records import DatasetUpdate, MetricPoint, SchemaField, SchemaObservation
from observer.store import Store

NOW = datetime(2026, 5, 1, 6, 0, tzinfo=UTC)
ORDERS = DatasetRef("postgres://db:5432", "shop.public.orders")
ORDERS_LOCATION = DatasetRef("s3://lake", "warehouse/orders")


def test_datasets_are_created_once(store: Store) -> None:
    with store.engine.begin() as connection:
        first = catalog.ensure_datasets(connection, [ORDERS], NOW)
        again = catalog.ensure_datasets(connection, [ORDERS, ORDERS], NOW)
        assert first == again
        assert catalog.dataset_count(connection) == 1


def test_a_symlinked_identity_resolves_to_the_same_dataset_and_merges_history(store: Store) -> None:
    with store.engine.begin() as connection:
        catalog.record_updates(connection, [DatasetUpdate(ORDERS_LOCATION, NOW, "openlineage")], NOW)
        orders_id = catalog.ensure_datasets(connection, [ORDERS], NOW)[ORDERS]
        catalog.add_aliases(connection, orders_id, [(ORDERS_LOCATION, "LOCATION")])
        assert catalog.find_dataset_ids(connection, [ORDERS_LOCATION]) == {ORDERS_LOCATION: orders_id}
        assert catalog.update_history(connection, orders_id) == [NOW]
        assert catalog.dataset_count(connection) == 1


def test_schema_versions_are_stored_only_when_the_schema_changes(store: Store) -> None:
    v1 = (SchemaField("id", "integer"), SchemaField("amount", "numeric"))
    v2 = (SchemaField("id", "integer"),)
    observations = [
        SchemaObservation(ORDERS, v1, NOW, "warehouse"),
        SchemaObservation(ORDERS, v1, NOW + timedelta(hours=1), "warehouse"),
        SchemaObservation(ORDERS, v2, NOW + timedelta(hours=2), "warehouse"),
    ]
    with store.engine.begin() as connection:
        created = catalog.record_schemas(connection, observations, NOW)
        assert [version.fields for version in created] == [v1, v2]
        assert catalog.record_schemas(connection, [SchemaObservation(ORDERS, v2, NOW, "dbt")], NOW) == []
        dataset_id = catalog.find_dataset_ids(connection, [ORDERS])[ORDERS]
        assert [version.fields for version in catalog.schema_history(connection, dataset_id)] == [v1, v2]


def test_metric_points_are_deduplicated_and_read_in_order(store: Store) -> None:
    points = [
        MetricPoint(ORDERS, "row_count", NOW + timedelta(days=1), 120, "warehouse"),
        MetricPoint(ORDERS, "row_count", NOW, 100, "warehouse"),
        MetricPoint(ORDERS, "row_count", NOW, 999, "warehouse"),
        MetricPoint(ORDERS, "null_rate", NOW, 0.1, "warehouse", column="amount"),
    ]
    with store.engine.begin() as connection:
        catalog.record_metrics(connection, points, NOW)
        dataset_id = catalog.find_dataset_ids(connection, [ORDERS])[ORDERS]
        assert catalog.metric_series(connection, dataset_id, "row_count") == [
            (NOW, 100.0),
            (NOW + timedelta(days=1), 120.0),
        ]
        assert catalog.metric_series(connection, dataset_id, "null_rate", column="amount") == [(NOW, 0.1)]


def test_updates_move_last_updated_forward_only(store: Store) -> None:
    later = NOW + timedelta(hours=3)
    with store.engine.begin() as connection:
        catalog.record_updates(connection, [DatasetUpdate(ORDERS, later, "warehouse")], NOW)
        catalog.record_updates(connection, [DatasetUpdate(ORDERS, NOW, "openlineage", run_id="r1")], NOW)
        dataset_id = catalog.find_dataset_ids(connection, [ORDERS])[ORDERS]
        assert catalog.update_history(connection, dataset_id) == [NOW, later]


def test_owners_come_from_the_dataset(store: Store) -> None:
    with store.engine.begin() as connection:
        dataset_id = catalog.ensure_datasets(connection, [ORDERS], NOW)[ORDERS]
        catalog.update_dataset(
            connection, dataset_id, NOW, owners=[{"name": "team:payments", "type": "TEAM"}]
        )
        assert catalog.owners_of(connection, [ORDERS]) == {ORDERS: ["team:payments"]}
