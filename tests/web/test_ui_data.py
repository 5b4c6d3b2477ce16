"""The UI's own reads (``/api/v1/ui/...``) over a server filled through the real ingest and findings
endpoints: health badges, column search, a dataset's freshness, volume band, schema history."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.web import shop

ORDERS = shop.MART
SESSIONS = shop.STALE_SOURCE


@pytest.fixture(scope="module")
def api(shop_server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{shop_server}/api/v1/ui", timeout=30) as client:
        yield client


def node(name: str) -> str:
    return f"dataset:{shop.WAREHOUSE}:{name}"


def dataset(api: httpx.Client, name: str) -> dict[str, Any]:
    response = api.get("/dataset", params={"namespace": shop.WAREHOUSE, "name": name})
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_status_lists_the_datasets_with_open_incidents_and_the_stale_ones(api: httpx.Client) -> None:
    problems = api.get("/status").json()["datasets"]
    assert set(problems) == {node(name) for name in (*shop.DROPPED, SESSIONS)}
    assert problems[node(SESSIONS)]["freshness"] == "late"
    assert problems[node(ORDERS)]["freshness"] is None
    assert problems[node(ORDERS)]["openIncidents"][0]["title"].startswith("Volume drop")
    assert problems[node(ORDERS)]["lastUpdatedAt"]


def test_the_overview_counts_and_lists_what_needs_attention(api: httpx.Client) -> None:
    overview = api.get("/overview").json()
    assert overview["counts"]["datasets"] == len(shop.MODELS)
    assert overview["counts"]["jobs"] == len(shop.MODELS)
    assert overview["counts"]["stale"] == 1
    assert overview["counts"]["openIncidents"] >= 1
    assert {item["name"] for item in overview["attention"]} == {*shop.DROPPED, SESSIONS}
    newest = overview["recentlyUpdated"][0]
    assert newest["name"] == "analytics.reporting.exec_dashboard"


def test_columns_are_found_by_part_of_their_name_exact_matches_first(api: httpx.Client) -> None:
    found = api.get("/columns", params={"q": "revenue"}).json()["results"]
    assert [(item["dataset"], item["field"]) for item in found] == [
        ("analytics.marts.fct_revenue_daily", "revenue"),
        ("analytics.reporting.exec_dashboard", "revenue"),
    ]
    assert found[0]["nodeId"] == f"datasetField:{shop.WAREHOUSE}:analytics.marts.fct_revenue_daily:revenue"
    assert api.get("/columns", params={"q": "name"}).json()["results"] == []  # not the JSON keys


def test_a_dataset_shows_its_volume_against_the_expected_band_with_the_drop_marked(api: httpx.Client) -> None:
    health = dataset(api, ORDERS)
    volume = health["volume"]
    assert volume["metric"] == "row_count"
    points = volume["points"]
    assert len(points) == shop.DAYS + 1
    judged = [point for point in points if point["lower"] is not None]
    assert len(judged) > shop.DAYS // 2
    assert all(point["lower"] <= point["upper"] for point in judged)
    assert points[-1]["anomaly"] is True
    assert points[-1]["value"] < points[-1]["lower"]
    assert sum(point["anomaly"] for point in points) <= 3
    assert {item["metric"] for item in health["metrics"]} >= {"row_count", "rows_written"}


def test_a_dataset_shows_its_freshness_rhythm_and_when_the_next_update_is_due(api: httpx.Client) -> None:
    freshness = dataset(api, ORDERS)["freshness"]
    assert freshness["state"] == "fresh"
    assert freshness["rhythm"].startswith("daily at about")
    assert freshness["expectedBy"] > freshness["lastUpdatedAt"]
    assert len(freshness["updates"]) >= 30
    assert 0 < freshness["expectedGap"]["lower"] < freshness["expectedGap"]["upper"]


def test_a_stale_dataset_says_so_and_names_its_incident(api: httpx.Client) -> None:
    health = dataset(api, SESSIONS)
    assert health["freshness"]["state"] == "late"
    assert health["freshness"]["expectedBy"] < health["freshness"]["checkedAt"]
    assert [incident["title"] for incident in health["incidents"]] == [f"Stale data on {SESSIONS}"]


def test_schema_history_says_what_changed_newest_first(api: httpx.Client) -> None:
    versions = dataset(api, shop.CHANGED)["schema"]["versions"]
    assert len(versions) == 3
    newest, middle, first = versions
    assert newest["changed"] == [{"name": "amount", "from": "numeric", "to": "decimal(12,2)"}]
    assert middle["added"] == ["currency"] and middle["removed"] == []
    assert first["added"] == ["payment_id", "order_id", "amount", "method"]
    assert newest["observedAt"] > middle["observedAt"] > first["observedAt"]


def test_series_of_another_metric_and_unknown_datasets(api: httpx.Client) -> None:
    response = api.get(
        "/series", params={"namespace": shop.WAREHOUSE, "name": ORDERS, "metric": "rows_written"}
    )
    assert response.status_code == 200
    assert len(response.json()["points"]) == shop.DAYS + 1
    missing = api.get("/dataset", params={"namespace": shop.WAREHOUSE, "name": "no.such.table"})
    assert missing.status_code == 404
    assert "no.such.table" in missing.json()["message"]
