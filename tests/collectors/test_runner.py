"""Warehouses are collected independently; failures are retried with backoff; re-measured buckets are
overwritten in the store."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from collectors.dbt.collect import DbtReport
from collectors.runner import (
    CollectorService,
    UnknownName,
    choose_warehouses,
    collector_service,
    dbt_namespace,
    retry_delay,
)
from collectors.warehouse.collect import CollectionReport, heartbeat_due
from observer.catalog import DatasetRef
from observer.catalog import service as catalog
from observer.catalog.records import MetricPoint
from observer.clock import SimulatedClock
from observer.config.settings import Settings
from observer.runtime import Runtime
from observer.store import Store
from tests.collectors.conftest import START
from tests.collectors.dbt_project import write_project


def test_retries_back_off_from_thirty_seconds_up_to_the_interval() -> None:
    interval = timedelta(minutes=15)
    assert [retry_delay(n, interval).total_seconds() for n in range(1, 7)] == [30, 60, 120, 240, 480, 900]
    assert retry_delay(3, timedelta(seconds=10)) == timedelta(seconds=30)


def _settings(tmp_path: Path, **extra: object) -> Settings:
    lake = tmp_path / "lake.duckdb"
    with duckdb.connect(str(lake)) as connection:
        connection.execute("CREATE TABLE events AS SELECT range AS id FROM range(3)")
    return Settings.model_validate(
        {
            "warehouses": [
                {"name": "lake", "url": f"duckdb:///{lake}", "interval": "1h"},
                {"name": "broken", "url": f"duckdb:///{tmp_path / 'missing.duckdb'}", "interval": "1h"},
            ],
            **extra,
        }
    )


def test_choosing_an_unknown_warehouse_names_the_defined_ones(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    assert [w.name for w in choose_warehouses(settings, "lake")] == ["lake"]
    with pytest.raises(UnknownName, match="defined: lake, broken"):
        choose_warehouses(settings, "lakehouse")


def test_a_dbt_project_takes_the_namespace_of_its_warehouse(tmp_path: Path) -> None:
    settings = _settings(tmp_path, dbt=[{"name": "shop", "target_dir": str(tmp_path), "warehouse": "lake"}])
    assert dbt_namespace(settings, settings.dbt[0]) == f"duckdb://{tmp_path / 'lake.duckdb'}"


def test_the_service_collects_each_warehouse_and_keeps_failing_ones_from_stopping_the_rest(
    tmp_path: Path, catalog_store: Store, clock: SimulatedClock
) -> None:
    target = write_project(tmp_path / "shop" / "target", database="lake")
    settings = _settings(tmp_path, dbt=[{"name": "shop", "target_dir": str(target), "warehouse": "lake"}])
    service = CollectorService(settings, store=catalog_store, clock=clock, tick=0.05)
    service.start()
    try:
        deadline = time.monotonic() + 60
        while len(service.last_reports) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        service.stop()
    lake, broken, shop = (service.last_reports[name] for name in ("lake", "broken", "shop"))
    assert isinstance(lake, CollectionReport) and lake.ok and lake.tables == 1
    assert isinstance(broken, CollectionReport) and not broken.ok and broken.error is not None
    assert isinstance(shop, DbtReport) and shop.ok and shop.datasets == 4
    schedules = service._warehouses
    assert schedules["broken"].failures == 1 and schedules["lake"].failures == 0
    assert schedules["broken"].due < schedules["lake"].due


def test_re_measured_points_replace_what_was_stored(store: Store) -> None:
    ref = DatasetRef("postgres://db:5432", "shop.public.orders")
    with store.engine.begin() as connection:
        catalog.record_metrics(
            connection, [MetricPoint(ref, "rows_per_bucket", START, 10, "warehouse")], START
        )
        catalog.record_metrics(
            connection, [MetricPoint(ref, "rows_per_bucket", START, 25, "warehouse")], START, replace=True
        )
        dataset_id = catalog.find_dataset_ids(connection, [ref])[ref]
        assert catalog.metric_series(connection, dataset_id, "rows_per_bucket") == [(START, 25.0)]


def test_hourly_rewrites_of_quiet_tables_spread_over_the_passes() -> None:
    keys = [f"s{i // 200:02d}.t{i % 200:04d}" for i in range(1000)]
    passes = [START + timedelta(minutes=15 * n) for n in range(9)]
    stored = dict.fromkeys(keys, START)
    per_pass = []
    for now in passes[1:]:
        due = [key for key in keys if heartbeat_due(key, stored[key], now)]
        for key in due:
            stored[key] = now
        per_pass.append(len(due))
    assert all(150 < count < 350 for count in per_pass), per_pass
    assert sum(per_pass) == 2000, "every table once an hour"


def test_the_server_registers_one_collector_service_when_something_is_configured(tmp_path: Path) -> None:
    settings = _settings(tmp_path, store={"url": f"sqlite:///{tmp_path / 'observer.db'}"})
    runtime = Runtime.build(settings)
    service = collector_service(runtime)
    assert service is not None and runtime.services == [service] and service.graph is runtime.graph
    nothing = Settings.model_validate({"store": {"url": f"sqlite:///{tmp_path / 'empty.db'}"}})
    assert collector_service(Runtime.build(nothing)) is None
