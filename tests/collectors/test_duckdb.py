"""Collecting a DuckDB file: identities as dbt-ol names them, row counts, profiles, and writes inferred
from the timestamp column (DuckDB keeps no modification times), without ever writing to the file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from sqlalchemy import text

from collectors.warehouse.collect import collect_warehouse
from collectors.warehouse.duckdb import DuckDBAdapter
from observer.catalog import DatasetRef
from observer.catalog import service as catalog
from observer.clock import SimulatedClock
from observer.store import Store
from tests.collectors.conftest import START
from tests.collectors.helpers import warehouse


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    path = tmp_path / "Lake.duckdb"
    with duckdb.connect(str(path)) as connection:
        connection.execute("CREATE SCHEMA raw")
        connection.execute(
            """CREATE TABLE raw."Events" AS
               SELECT i AS id, CASE WHEN i % 4 = 0 THEN NULL ELSE 'click' END AS kind,
                      TIMESTAMPTZ '2026-03-10 12:00:00+00' - INTERVAL 48 HOUR + i * INTERVAL 1 HOUR AS seen_at
               FROM range(48) AS t(i)"""
        )
        connection.execute("CREATE VIEW raw.clicks AS SELECT * FROM raw.\"Events\" WHERE kind = 'click'")
    return path


def _settings(path: Path) -> dict[str, object]:
    return {
        "profiles": [
            {"table": "raw.events", "timestamp_column": "seen_at", "columns": ["kind"], "bucket": "hour"}
        ]
    }


def _events(path: Path) -> DatasetRef:
    return DatasetRef(f"duckdb://{path}", "lake.raw.events")


def test_tables_get_dbt_ol_identities_and_row_counts(
    lake: Path, catalog_store: Store, clock: SimulatedClock
) -> None:
    report = collect_warehouse(warehouse("lake", f"duckdb:///{lake}"), store=catalog_store, clock=clock)
    assert report.ok, report.error
    assert report.namespace == f"duckdb://{lake}" and report.tables == 2
    with catalog_store.engine.connect() as connection:
        refs = set(catalog.dataset_refs(connection, range(1, 10)).values())
        dataset_id = catalog.find_dataset_ids(connection, [_events(lake)])[_events(lake)]
        row_counts = catalog.metric_series(connection, dataset_id, "row_count")
    assert refs == {_events(lake), DatasetRef(f"duckdb://{lake}", "lake.raw.clicks")}
    assert row_counts == [(START, 48.0)]


def test_writes_are_inferred_from_the_newest_timestamp(
    lake: Path, catalog_store: Store, clock: SimulatedClock
) -> None:
    settings = warehouse("lake", f"duckdb:///{lake}", **_settings(lake))
    first = collect_warehouse(settings, store=catalog_store, clock=clock)
    assert first.ok and first.profiles == 1
    with duckdb.connect(str(lake)) as connection:
        connection.execute(
            "INSERT INTO raw.events VALUES (100, 'view', TIMESTAMPTZ '2026-03-10 12:05:00+00')"
        )
    clock.advance(timedelta(minutes=15))
    collect_warehouse(settings, store=catalog_store, clock=clock)
    with catalog_store.engine.connect() as connection:
        dataset_id = catalog.find_dataset_ids(connection, [_events(lake)])[_events(lake)]
        updates = catalog.update_history(connection, dataset_id)
        hourly = dict(catalog.metric_series(connection, dataset_id, "rows_per_bucket"))
        null_rate = catalog.metric_series(connection, dataset_id, "null_rate", column="kind")
    assert updates == [datetime(2026, 3, 10, 11, tzinfo=UTC), datetime(2026, 3, 10, 12, 5, tzinfo=UTC)]
    assert (
        hourly[datetime(2026, 3, 10, 11, tzinfo=UTC)] == 1
        and hourly[datetime(2026, 3, 10, 12, tzinfo=UTC)] == 1
    )
    assert [value for _, value in null_rate] == [0.25, pytest.approx(12 / 49)]


def test_the_collector_opens_the_file_read_only(lake: Path) -> None:
    engine = DuckDBAdapter(warehouse("lake", f"duckdb:///{lake}")).create_engine()
    try:
        with engine.connect() as connection, pytest.raises(Exception, match="read-only"):
            connection.execute(text("CREATE TABLE raw.sneaky (id INTEGER)"))
    finally:
        engine.dispose()


def test_a_missing_file_is_a_clear_failure(
    tmp_path: Path, catalog_store: Store, clock: SimulatedClock
) -> None:
    report = collect_warehouse(
        warehouse("lake", f"duckdb:///{tmp_path / 'missing.duckdb'}"), store=catalog_store, clock=clock
    )
    assert not report.ok
    assert report.error is not None and report.error.startswith(
        "warehouse lake: reading the catalog of lake:"
    )
