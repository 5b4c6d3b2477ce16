"""``/api/v1/ui`` on both stores (SQLite and PostgreSQL): column search over the JSON schemas,
problem badges from the incident tables, a dataset's health on a pinned clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from observer.alerts.service import build_incident_service
from observer.catalog import service as catalog
from observer.catalog.identity import DatasetRef
from observer.catalog.records import DatasetUpdate, MetricPoint, SchemaField, SchemaObservation
from observer.clock import SimulatedClock
from observer.config.settings import Settings, StoreSettings
from observer.incidents.findings import CheckPass, FindingRecord
from observer.runtime import Runtime
from observer.store import Store

NOW = datetime(2026, 3, 4, 20, 0, tzinfo=UTC)  # a Wednesday: yesterday was no quiet day
NS = "postgres://db:5432"
ORDERS = DatasetRef(NS, "shop.public.orders")
REVENUE = DatasetRef(NS, "shop.public.revenue_by_day")


def fill(store: Store) -> None:
    with store.engine.begin() as connection:
        catalog.record_schemas(
            connection,
            [
                SchemaObservation(
                    ORDERS,
                    (SchemaField("order_id", "bigint"), SchemaField("customer_name", "text")),
                    NOW - timedelta(days=20),
                    "warehouse",
                ),
                SchemaObservation(
                    ORDERS,
                    (SchemaField("order_id", "bigint"), SchemaField("customer_name", "varchar(200)")),
                    NOW - timedelta(days=2),
                    "warehouse",
                ),
                SchemaObservation(
                    REVENUE, (SchemaField("day", "date"), SchemaField("name", "text")), NOW, "warehouse"
                ),
            ],
            NOW,
        )
        days = [NOW.replace(hour=6) - timedelta(days=n) for n in range(30, 0, -1)]
        catalog.record_updates(connection, [DatasetUpdate(ORDERS, day, "warehouse") for day in days], NOW)
        catalog.record_metrics(
            connection,
            [
                MetricPoint(ORDERS, "row_count", day, 1000.0 + 10 * (i % 3) if i < 29 else 120.0, "warehouse")
                for i, day in enumerate(days)
            ],
            NOW,
        )


@pytest.fixture
def client(store: Store) -> Iterator[TestClient]:
    fill(store)
    settings = Settings(store=StoreSettings(url=store.url))
    runtime = Runtime.build(settings, clock=SimulatedClock(NOW))
    incidents = build_incident_service(runtime)
    incidents.process(
        [
            FindingRecord(ORDERS, "volume", "error", NOW - timedelta(hours=5), "orders dropped"),
            FindingRecord(REVENUE, "freshness", "warning", NOW - timedelta(hours=3), "revenue is late"),
            FindingRecord(REVENUE, "schema", "warning", NOW - timedelta(hours=3), "a column went away"),
        ]
    )
    incidents.process([], [CheckPass(REVENUE, "schema", NOW - timedelta(hours=1))])
    with TestClient(create_app(runtime, start_services=False)) as test_client:
        yield test_client
    runtime.store.dispose()


def test_columns_are_searched_in_the_json_schemas_of_both_stores(client: TestClient) -> None:
    found = client.get("/api/v1/ui/columns", params={"q": "NAME"}).json()["results"]
    assert [(item["dataset"], item["field"]) for item in found] == [
        (REVENUE.name, "name"),
        (ORDERS.name, "customer_name"),
    ]
    assert found[1]["type"] == "varchar(200)"
    assert client.get("/api/v1/ui/columns", params={"q": "type"}).json()["results"] == []
    assert client.get("/api/v1/ui/columns", params={"q": "100%_"}).json()["results"] == []


def test_badges_come_from_unresolved_incidents(client: TestClient) -> None:
    problems = client.get("/api/v1/ui/status").json()["datasets"]
    assert problems[ORDERS.node_id]["failing"] == ["volume"]
    assert problems[ORDERS.node_id]["lastUpdatedAt"].startswith("2026-03-03T06:00:00")
    revenue = problems[REVENUE.node_id]
    assert revenue["freshness"] == "late"
    assert revenue["failing"] == ["freshness"]  # the schema check passed again


def test_a_dataset_is_judged_on_the_servers_clock(client: TestClient) -> None:
    health = client.get("/api/v1/ui/dataset", params={"namespace": NS, "name": ORDERS.name}).json()
    freshness = health["freshness"]
    assert freshness["checkedAt"] == NOW.isoformat()
    assert freshness["state"] == "late"  # no write since yesterday 06:00, due by today
    assert freshness["expectedBy"] < NOW.isoformat()
    volume = health["volume"]["points"]
    assert volume[-1]["value"] == 120.0 and volume[-1]["anomaly"] is True
    versions = health["schema"]["versions"]
    assert versions[0]["changed"] == [{"name": "customer_name", "from": "text", "to": "varchar(200)"}]
    assert [incident["title"] for incident in health["incidents"]] and health["failing"] == ["volume"]
