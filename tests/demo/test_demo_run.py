"""What a newcomer sees after ``observer demo``: two incidents for the two injected troubles, each
grouped with the damage it did downstream, their alerts in the terminal and in ``alerts.txt``, and
the lineage of the shop in the API. The demo runs in this process, the server on its simulated clock."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from observer.catalog.identity import DatasetRef
from observer.demo.warehouse import NAMESPACE
from tests.demo.conftest import LAST_DAY, DemoRun


def node(table: str, column: str | None = None) -> str:
    ref = DatasetRef(NAMESPACE, f"shop.{table}")
    return ref.field_node_id(column) if column else ref.node_id


def incidents(run: DemoRun) -> list[dict[str, Any]]:
    listing = run.get("/api/v1/incidents")
    return [run.get(f"/api/v1/incidents/{item['id']}") for item in listing["incidents"]]


def rooted_at(run: DemoRun, table: str) -> dict[str, Any]:
    found = [incident for incident in incidents(run) if incident["root"]["name"] == f"shop.{table}"]
    assert len(found) == 1, [incident["title"] for incident in incidents(run)]
    return found[0]


def checks(incident: dict[str, Any]) -> set[tuple[str, str]]:
    return {(check["check"], check["name"].removeprefix("shop.")) for check in incident["checks"]}


def test_observer_finds_exactly_the_two_injected_troubles(demo_run: DemoRun) -> None:
    titles = sorted(incident["title"] for incident in incidents(demo_run))
    assert titles == ["Schema change on shop.raw.products.category", "Volume drop on shop.raw.orders"]
    assert all(incident["state"] == "open" for incident in incidents(demo_run))


def test_the_partial_load_is_one_incident_caused_by_the_failed_load(demo_run: DemoRun) -> None:
    incident = rooted_at(demo_run, "raw.orders")
    assert incident["origin"]["node_id"] == node("raw.orders")
    assert checks(incident) == {
        ("volume", "raw.orders"),
        ("volume", "staging.stg_orders"),
        ("freshness", "marts.fct_orders"),
        ("freshness", "marts.daily_revenue"),
        ("freshness", "marts.customer_ltv"),
    }
    cause = incident["cause"]
    assert cause["kind"] == "failed_run"
    assert cause["name"] == "shop.raw.orders"
    assert cause["job"] == {"namespace": "shop", "name": "extract_load.orders"}
    assert cause["run_id"]
    assert "server closed the connection" in cause["text"]


def test_the_partial_load_lists_the_marts_it_breaks(demo_run: DemoRun) -> None:
    incident = rooted_at(demo_run, "raw.orders")
    impacted = {item["node_id"]: item for item in incident["impacted"]}
    for mart, hops in (("marts.fct_orders", 2), ("marts.daily_revenue", 3), ("marts.customer_ltv", 3)):
        assert impacted[node(mart)]["hops"] == hops
    assert node("marts.category_sales") not in impacted


def test_the_dropped_column_is_a_schema_incident_naming_the_broken_columns(demo_run: DemoRun) -> None:
    incident = rooted_at(demo_run, "raw.products")
    assert (incident["root"]["check"], incident["root"]["column"]) == ("schema", "category")
    assert incident["severity"] == "critical"  # downstream columns read it directly
    assert "was dropped" in incident["root_finding"]["explanation"]
    broken = {item["node_id"] for item in incident["impacted"] if item["kind"] == "column"}
    assert {node("staging.stg_products", "category"), node("marts.category_sales", "category")} <= broken
    assert checks(incident) == {
        ("schema", "raw.products"),
        ("freshness", "staging.stg_products"),
        ("freshness", "marts.category_sales"),
    }


def test_column_lineage_of_a_mart_reaches_the_raw_tables(demo_run: DemoRun) -> None:
    lineage = demo_run.get("/api/v1/column-lineage", nodeId=node("marts.daily_revenue", "revenue"))
    fields = {item["id"] for item in lineage["graph"]}
    assert {
        node("marts.fct_orders", "revenue"),
        node("staging.stg_order_items", "amount"),
        node("raw.order_items", "quantity"),
        node("raw.order_items", "unit_price"),
    } <= fields
    revenue = next(item for item in lineage["graph"] if item["id"] == node("marts.daily_revenue", "revenue"))
    inputs = {(field["field"], field["transformationType"]) for field in revenue["data"]["inputFields"]}
    assert ("revenue", "DIRECT") in inputs


def test_every_job_reported_its_runs_over_openlineage(demo_run: DemoRun) -> None:
    jobs = demo_run.get("/api/v1/namespaces/shop/jobs")
    names = {job["name"] for job in jobs["jobs"]}
    assert {"extract_load.orders", "dbt.staging.stg_orders", "dbt.marts.daily_revenue"} <= names
    load = demo_run.get("/api/v1/namespaces/shop/jobs/extract_load.orders")
    assert load["latestRun"]["state"] == "FAILED"
    mart = demo_run.get("/api/v1/namespaces/shop/jobs/dbt.marts.fct_orders")
    assert mart["latestRun"]["state"] == "COMPLETED"
    assert mart["latestRun"]["endedAt"].startswith((LAST_DAY - timedelta(days=1)).isoformat())


def test_the_server_lives_on_the_simulated_clock(demo_run: DemoRun) -> None:
    incident = rooted_at(demo_run, "raw.orders")
    assert incident["opened_at"] == f"{LAST_DAY.isoformat()}T09:00:00+00:00"


def test_alerts_are_shown_as_the_slack_message_and_saved(demo_run: DemoRun) -> None:
    output = demo_run.output.getvalue()
    saved = (demo_run.directory / "alerts.txt").read_text()
    for text in (output, saved):
        assert "Slack message · incident #" in text
        assert "Volume drop on shop.raw.orders" in text
        assert "Schema change on shop.raw.products.category" in text
        assert "Suspected cause: run of extract_load.orders" in text
    incident = rooted_at(demo_run, "raw.orders")
    assert [(item["destination"], item["status"]) for item in incident["deliveries"]] == [("console", "done")]


def test_the_summary_names_the_incidents_and_the_time_taken(demo_run: DemoRun) -> None:
    output = demo_run.output.getvalue()
    assert "Observer found 2 incidents" in output
    assert "⚡" in output and "the orders load stops after 20% of the rows" in output
    assert "Set-up " in output and " simulation " in output


def test_the_ui_is_served(demo_run: DemoRun) -> None:
    page = demo_run.client.get("/incidents")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
