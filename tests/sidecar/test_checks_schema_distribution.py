"""``observer check schema|distribution``: breaking schema changes and column metrics out of range."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from observer.catalog.identity import DatasetRef
from observer.catalog.records import MetricPoint, SchemaField, SchemaObservation
from observer.catalog.service import record_metrics, record_schemas
from observer.checks.results import Status
from observer.checks.store import run_checks
from observer.config.settings import ChecksSettings
from observer.store import Store
from tests.sidecar.test_commands import observer

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
ORDERS = DatasetRef("postgres://db:5432", "shop.public.orders")


def schema(*columns: str) -> tuple[SchemaField, ...]:
    return tuple(SchemaField(name, "integer") for name in columns)


def record_versions(store: Store, *versions: tuple[datetime, tuple[SchemaField, ...]]) -> None:
    with store.engine.begin() as connection:
        for at, fields in versions:
            record_schemas(connection, [SchemaObservation(ORDERS, fields, at, "test")], at)


def record_null_rates(store: Store, values: list[float]) -> None:
    start = NOW - timedelta(days=len(values) - 1)
    points = [
        MetricPoint(ORDERS, "null_rate", start + timedelta(days=day), value, "test", column="email")
        for day, value in enumerate(values)
    ]
    with store.engine.begin() as connection:
        record_metrics(connection, points, NOW)


def stable(days: int) -> list[float]:
    return [0.02 + 0.001 * (day % 3) for day in range(days)]


def test_a_dropped_column_is_a_problem_naming_it(store: Store) -> None:
    record_versions(
        store,
        (NOW - timedelta(days=3), schema("id", "email", "total")),
        (NOW - timedelta(hours=2), schema("id", "total")),
    )
    results = run_checks(store, ChecksSettings(), ["schema"], NOW)
    assert [(r.check, r.dataset, r.status) for r in results] == [("schema", ORDERS, Status.PROBLEM)]
    assert "email" in results[0].detail


def test_a_change_older_than_the_window_is_not_reported_again(store: Store) -> None:
    record_versions(
        store,
        (NOW - timedelta(days=3), schema("id", "email")),
        (NOW - timedelta(days=2), schema("id")),
    )
    assert run_checks(store, ChecksSettings(), ["schema"], NOW) == []
    since = NOW - timedelta(days=2, hours=1)
    assert len(run_checks(store, ChecksSettings(), ["schema"], NOW, schema_since=since)) == 1


def test_an_added_column_is_not_a_problem(store: Store) -> None:
    record_versions(
        store,
        (NOW - timedelta(days=3), schema("id")),
        (NOW - timedelta(hours=2), schema("id", "email")),
    )
    assert run_checks(store, ChecksSettings(), ["schema"], NOW) == []


def test_a_rule_can_switch_the_schema_check_off(store: Store) -> None:
    record_versions(
        store,
        (NOW - timedelta(days=3), schema("id", "email")),
        (NOW - timedelta(hours=2), schema("id")),
    )
    settings = ChecksSettings.model_validate({"rules": [{"schema": {"enabled": False}}]})
    assert run_checks(store, settings, ["schema"], NOW) == []


def test_a_stable_null_rate_is_ok(store: Store) -> None:
    record_null_rates(store, stable(40))
    results = run_checks(store, ChecksSettings(), ["distribution"], NOW)
    assert [(r.check, r.dataset, r.status) for r in results] == [("distribution", ORDERS, Status.OK)]


def test_a_jump_in_a_stable_null_rate_is_a_problem(store: Store) -> None:
    record_null_rates(store, [*stable(39), 0.6])
    results = run_checks(store, ChecksSettings(), ["distribution"], NOW)
    assert [(r.check, r.status) for r in results] == [("distribution", Status.PROBLEM)]
    assert results[0].finding is not None
    assert "email" in results[0].detail and "null rate" in results[0].finding.explanation


def test_check_schema_once_exits_1_on_a_breaking_change(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'observer.db'}")
    store.upgrade()
    now = datetime.now(UTC)
    with store.engine.begin() as connection:
        for at, fields in ((now - timedelta(days=3), schema("id", "email")), (now, schema("id"))):
            record_schemas(connection, [SchemaObservation(ORDERS, fields, at, "test")], at)
    store.dispose()
    result = observer("check", "schema", "--once", home=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "email" in result.stdout and "PROBLEM" in result.stdout
