"""Sources describe one table in their own words: Spark's ``string`` is the warehouse's
``character varying``, only a warehouse knows nullability. Observing an unchanged table from two
sources in turn must neither pile up schema versions nor raise schema alerts; a real change seen
by any source still must."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from observer.catalog import service as catalog
from observer.catalog.identity import DatasetRef
from observer.catalog.records import SchemaField, SchemaObservation
from observer.checks.results import Status
from observer.checks.store import run_checks
from observer.config.settings import ChecksSettings
from observer.incidents.suspects import schema_changes_since
from observer.store import Store

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
ORDERS = DatasetRef("postgres://db:5432", "shop.public.orders")

SPARK = (SchemaField("id", "long"), SchemaField("email", "string"), SchemaField("total", "decimal(12,2)"))
WAREHOUSE = (
    SchemaField("id", "bigint", nullable=False),
    SchemaField("email", "character varying", nullable=True),
    SchemaField("total", "numeric(12,2)", nullable=True),
)


def observe(store: Store, *observations: tuple[timedelta, tuple[SchemaField, ...], str]) -> None:
    for ago, fields, source in observations:
        with store.engine.begin() as connection:
            catalog.record_schemas(
                connection, [SchemaObservation(ORDERS, fields, NOW - ago, source)], NOW - ago
            )


def history(store: Store) -> list[str]:
    with store.engine.connect() as connection:
        dataset_id = catalog.find_dataset_ids(connection, [ORDERS])[ORDERS]
        return [version.source for version in catalog.schema_history(connection, dataset_id)]


def test_two_sources_observing_an_unchanged_table_in_turn_make_one_version_each(store: Store) -> None:
    observe(
        store,
        *[
            (
                timedelta(hours=hours),
                SPARK if hours % 2 else WAREHOUSE,
                "openlineage" if hours % 2 else "warehouse",
            )
            for hours in range(12, 0, -1)
        ],
    )
    assert history(store) == ["warehouse", "openlineage"]
    assert run_checks(store, ChecksSettings(), ["schema"], NOW) == []
    with store.engine.connect() as connection:
        assert schema_changes_since(connection, NOW - timedelta(days=1)) == []


def test_a_source_that_sees_what_another_already_recorded_adds_no_version(store: Store) -> None:
    observe(store, (timedelta(hours=3), WAREHOUSE, "warehouse"), (timedelta(hours=2), WAREHOUSE, "dbt"))
    assert history(store) == ["warehouse"]


def test_a_column_dropped_is_reported_once_though_both_sources_see_it(store: Store) -> None:
    observe(
        store,
        (timedelta(days=3), WAREHOUSE, "warehouse"),
        (timedelta(days=3), SPARK, "openlineage"),
        (timedelta(hours=3), WAREHOUSE[:2], "warehouse"),
        (timedelta(hours=2), SPARK[:2], "openlineage"),
    )
    results = run_checks(store, ChecksSettings(), ["schema"], NOW)
    assert [(result.status, result.finding and result.finding.details["column"]) for result in results] == [
        (Status.PROBLEM, "total")
    ]
    with store.engine.connect() as connection:
        described = [
            change.description for change in schema_changes_since(connection, NOW - timedelta(days=1))
        ]
    assert described == ["removed total", "removed total"]


def test_a_narrowing_seen_only_by_one_source_is_still_reported(store: Store) -> None:
    narrowed = (SchemaField("id", "integer"), *SPARK[1:])
    observe(
        store,
        (timedelta(days=3), WAREHOUSE, "warehouse"),
        (timedelta(days=2), SPARK, "openlineage"),
        (timedelta(hours=1), narrowed, "openlineage"),
    )
    results = run_checks(store, ChecksSettings(), ["schema"], NOW)
    assert [result.finding and result.finding.details["column"] for result in results] == ["id"]
    assert "from long to integer" in results[0].detail
