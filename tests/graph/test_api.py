"""The HTTP reads: Marquez-shaped ``/lineage`` and ``/column-lineage`` (validated against the shapes
the reference describes), Observer's ``/impact`` and ``/path``, and the error answers."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from observer.catalog.records import SchemaField, SchemaObservation
from observer.catalog.service import record_schemas
from observer.clock import SystemClock
from observer.config.settings import GraphSettings, Settings
from observer.graph.base import BaseGraph
from observer.graph.neo4j_backend import Neo4jGraph
from observer.runtime import Runtime
from tests.graph.conftest import free_bolt_port
from tests.graph.shop import (
    CAMPAIGN_JOB,
    CAMPAIGNS,
    CUSTOMER_COUNT,
    FEBRUARY,
    JANUARY,
    MART_REVENUE,
    RAW_ORDERS,
    REVENUE,
    STG_CUSTOMERS,
    STG_ORDERS,
    VIEW,
    record_shop,
)

# The fields §2.2 and §2.3 of reference/openlineage-and-marquez.md list for Marquez's shapes.
NODE_KEYS = {"id", "type", "data", "inEdges", "outEdges"}
DATASET_DATA = (
    "id, type, name, physicalName, createdAt, updatedAt, namespace, sourceName, fields, tags, "
    "lastModifiedAt, lastLifecycleState, description"
)
JOB_DATA = (
    "id, type, name, simpleName, parentJobName, parentJobUuid, createdAt, updatedAt, namespace, inputs, "
    "outputs, location, description, latestRun"
)
FIELD_DATA = (
    "namespace, dataset, datasetVersion, field, fieldType, transformationDescription, transformationType, "
    "inputFields"
)
INPUT_FIELD = "namespace, dataset, datasetVersion, field, transformationDescription, transformationType"


def names(listing: str) -> set[str]:
    return {name.strip() for name in listing.split(",")}


def listed(text: str, pattern: str) -> set[str]:
    """The names of a backticked field list in the reference, without nested shapes."""
    found = re.search(pattern, text)
    assert found is not None, pattern
    return names(re.sub(r"\[[^]]*\]|\{[^}]*\}", "", found[1]))


def test_the_shapes_checked_here_are_the_references(shared_dir: Path) -> None:
    text = (shared_dir / "reference" / "openlineage-and-marquez.md").read_text()
    assert listed(text, r"- Dataset: `([^`]*)`") == names(DATASET_DATA)
    assert listed(text, r"- Job: `([^`]*)`") == names(JOB_DATA)
    column_data = re.search(r"Node `data` is `\{(.*)\}`", text)
    assert column_data is not None
    assert listed("`" + column_data[1] + "`", r"`([^`]*)`") == names(FIELD_DATA)
    assert names(re.search(r"inputFields\[\{([^}]*)\}\]", column_data[1])[1]) == names(INPUT_FIELD)  # type: ignore[index]


def check_marquez_graph(body: dict[str, Any], node_type: str | None = None) -> dict[str, dict[str, Any]]:
    """Assert the Marquez envelope; return the nodes by id."""
    assert set(body) == {"graph", "truncated"}
    ids = [node["id"] for node in body["graph"]]
    assert ids == sorted(ids)
    for node in body["graph"]:
        assert set(node) == NODE_KEYS
        assert node["type"] in ("DATASET", "JOB", "DATASET_FIELD")
        if node_type:
            assert node["type"] == node_type
        for side, end in (("inEdges", "destination"), ("outEdges", "origin")):
            pairs = [(edge["origin"], edge["destination"]) for edge in node[side]]
            assert pairs == sorted(pairs)
            assert all(set(edge) == {"origin", "destination"} for edge in node[side])
            assert all(edge[end] == node["id"] for edge in node[side])
        expected = {"DATASET": DATASET_DATA, "JOB": JOB_DATA, "DATASET_FIELD": FIELD_DATA}[node["type"]]
        assert names(expected) <= set(node["data"])
        for item in node["data"].get("inputFields", []):
            assert names(INPUT_FIELD) <= set(item)
        for item in node["data"].get("fields", []) if node["type"] == "DATASET" else []:
            assert set(item) == {"name", "type", "tags", "description"}
    return {node["id"]: node for node in body["graph"]}


@pytest.fixture
def client(graph: BaseGraph) -> TestClient:
    record_shop(graph)
    with graph.store.engine.begin() as connection:
        record_schemas(
            connection,
            [
                SchemaObservation(
                    REVENUE,
                    (
                        SchemaField("region", "VARCHAR"),
                        SchemaField("revenue", "DECIMAL(18,2)", "sum of amounts"),
                    ),
                    JANUARY,
                    "warehouse",
                )
            ],
            JANUARY,
        )
    runtime = Runtime(Settings(), SystemClock(), graph.store)
    app = create_app(runtime, start_services=False)
    app.state.lineage_graph = graph
    return TestClient(app)


def test_lineage_is_marquez_shaped_and_undirected_by_default(client: TestClient) -> None:
    response = client.get("/api/v1/lineage", params={"nodeId": REVENUE.node_id})
    assert response.status_code == 200
    nodes = check_marquez_graph(response.json())
    assert CUSTOMER_COUNT.node_id in nodes, "Marquez's walk includes siblings"
    revenue = nodes[REVENUE.node_id]
    assert revenue["data"]["fields"] == [
        {"name": "region", "type": "VARCHAR", "tags": [], "description": None},
        {"name": "revenue", "type": "DECIMAL(18,2)", "tags": [], "description": "sum of amounts"},
    ]
    assert {"origin": MART_REVENUE.node_id, "destination": REVENUE.node_id} in revenue["inEdges"]
    job = nodes[MART_REVENUE.node_id]["data"]
    assert job["inputs"] == [
        {"namespace": STG_CUSTOMERS.namespace, "name": STG_CUSTOMERS.name},
        {"namespace": STG_ORDERS.namespace, "name": STG_ORDERS.name},
    ]
    assert job["outputs"] == [{"namespace": REVENUE.namespace, "name": REVENUE.name}]
    assert job["simpleName"] == "mart_revenue" and job["type"] == "BATCH"


def test_lineage_direction_max_nodes_and_as_of(client: TestClient) -> None:
    upstream = client.get("/api/v1/lineage", params={"nodeId": REVENUE.node_id, "direction": "upstream"})
    assert CUSTOMER_COUNT.node_id not in check_marquez_graph(upstream.json())

    cut = client.get(
        "/api/v1/lineage", params={"nodeId": RAW_ORDERS.node_id, "direction": "downstream", "maxNodes": 3}
    )
    assert cut.json()["truncated"] is True and len(cut.json()["graph"]) == 3
    assert cut.headers["X-Observer-Truncated"] == "true"

    past = client.get(
        "/api/v1/lineage",
        params={"nodeId": RAW_ORDERS.node_id, "direction": "downstream", "asOf": FEBRUARY.isoformat()},
    )
    ids = set(check_marquez_graph(past.json()))
    assert VIEW.node_id in ids and CAMPAIGNS.node_id not in ids
    naive = client.get(
        "/api/v1/lineage",
        params={"nodeId": RAW_ORDERS.node_id, "direction": "downstream", "asOf": "2026-02-01T00:00:00"},
    )
    assert set(check_marquez_graph(naive.json())) == ids


def test_column_lineage_walks_upstream_unless_asked(client: TestClient) -> None:
    node_id = REVENUE.field_node_id("revenue")
    body = client.get("/api/v1/column-lineage", params={"nodeId": node_id}).json()
    nodes = check_marquez_graph(body, "DATASET_FIELD")
    assert set(nodes) == {
        node_id,
        STG_ORDERS.field_node_id("amount"),
        STG_ORDERS.field_node_id("customer_id"),
        RAW_ORDERS.field_node_id("amount"),
        RAW_ORDERS.field_node_id("customer_id"),
        RAW_ORDERS.field_node_id("status"),
    }
    data = nodes[node_id]["data"]
    assert data["fieldType"] == "DECIMAL(18,2)"
    inputs = {item["field"]: item for item in data["inputFields"]}
    assert inputs["amount"]["transformationType"] == "DIRECT"
    assert inputs["amount"]["transformations"] == [
        {
            "type": "DIRECT",
            "subtype": "AGGREGATION",
            "description": None,
            "masking": False,
            "source": "openlineage",
        }
    ]
    assert inputs["customer_id"]["transformations"][0]["subtype"] == "JOIN"
    assert {edge["origin"] for edge in nodes[node_id]["inEdges"]} == {
        STG_ORDERS.field_node_id("amount"),
        STG_ORDERS.field_node_id("customer_id"),
    }

    both = client.get("/api/v1/column-lineage", params={"nodeId": node_id, "withDownstream": "true"}).json()
    assert {VIEW.field_node_id("revenue"), CAMPAIGNS.field_node_id("orders")} <= set(
        check_marquez_graph(both)
    )
    down = client.get("/api/v1/column-lineage", params={"nodeId": node_id, "direction": "downstream"}).json()
    assert RAW_ORDERS.field_node_id("amount") not in set(check_marquez_graph(down))

    dataset = client.get("/api/v1/column-lineage", params={"nodeId": CAMPAIGNS.node_id, "depth": 1}).json()
    assert {CAMPAIGNS.field_node_id("orders"), CAMPAIGNS.field_node_id("region")} <= set(
        check_marquez_graph(dataset)
    )


def test_impact_answers_in_observers_shape(client: TestClient) -> None:
    response = client.get("/api/v1/impact", params={"nodeId": RAW_ORDERS.node_id})
    assert response.status_code == 200
    body = response.json()
    assert body["summary"] == {"datasets": 4, "directDatasets": 3, "columns": 9, "jobs": 3, "maxHops": 3}
    assert body["owners"] == ["team:data", "team:finance", "team:marketing"]
    campaigns = next(node for node in body["nodes"] if node["nodeId"] == CAMPAIGNS.node_id)
    assert campaigns == {
        "nodeId": CAMPAIGNS.node_id,
        "type": "DATASET",
        "namespace": CAMPAIGNS.namespace,
        "name": CAMPAIGNS.name,
        "field": None,
        "hops": 3,
        "direct": False,
        "owners": ["team:marketing"],
    }
    assert body["jobs"][-1] == {
        "nodeId": CAMPAIGN_JOB.node_id,
        "namespace": CAMPAIGN_JOB.namespace,
        "name": CAMPAIGN_JOB.name,
        "hops": 3,
        "owners": ["team:marketing"],
    }
    shallow = client.get("/api/v1/impact", params={"nodeId": RAW_ORDERS.node_id, "depth": 1}).json()
    assert shallow["summary"]["maxHops"] == 1


def test_impact_is_documented_with_an_example(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    operation = spec["paths"]["/api/v1/impact"]["get"]
    assert "example" in operation["responses"]["200"]["content"]["application/json"]
    assert {"404", "503"} <= set(operation["responses"])
    assert {parameter["name"] for parameter in spec["paths"]["/api/v1/lineage"]["get"]["parameters"]} == {
        "nodeId",
        "depth",
        "direction",
        "maxNodes",
        "asOf",
    }


def test_path_between_two_nodes(client: TestClient) -> None:
    found = client.get(
        "/api/v1/path", params={"fromNodeId": RAW_ORDERS.node_id, "toNodeId": CAMPAIGNS.node_id}
    )
    assert found.status_code == 200
    assert [node["nodeId"] for node in found.json()["nodes"]][::2] == [
        RAW_ORDERS.node_id,
        STG_ORDERS.node_id,
        REVENUE.node_id,
        CAMPAIGNS.node_id,
    ]
    backwards = client.get(
        "/api/v1/path", params={"fromNodeId": CAMPAIGNS.node_id, "toNodeId": RAW_ORDERS.node_id}
    )
    assert backwards.status_code == 404
    assert "no lineage path" in backwards.json()["message"]


def test_errors_name_the_node(client: TestClient) -> None:
    missing = "dataset:postgres://db.internal:5432:shop.raw.nothing"
    for path in ("/api/v1/lineage", "/api/v1/column-lineage", "/api/v1/impact"):
        response = client.get(path, params={"nodeId": missing})
        assert response.status_code == 404
        assert response.json() == {"code": 404, "message": f"node {missing!r} not found"}
    for bad in ("nonsense", "run:7b5d1f7e-0000-0000-0000-000000000000", f"{REVENUE.node_id}#v1"):
        response = client.get("/api/v1/lineage", params={"nodeId": bad})
        assert response.status_code == 400, bad
        assert bad in response.json()["message"]


def test_an_unreachable_graph_answers_503(tmp_path: Path) -> None:
    from observer.store import Store

    store = Store(f"sqlite:///{tmp_path / 'observer.db'}")
    store.upgrade()
    settings = GraphSettings(
        backend="neo4j", uri=f"bolt://127.0.0.1:{free_bolt_port()}", connect_timeout=timedelta(seconds=1)
    )
    runtime = Runtime(Settings(graph=settings), SystemClock(), store)
    app = create_app(runtime, start_services=False)
    graph = Neo4jGraph(store, settings)
    app.state.lineage_graph = graph
    response = TestClient(app).get("/api/v1/impact", params={"nodeId": REVENUE.node_id})
    assert response.status_code == 503
    assert response.json()["code"] == 503
    assert "lineage graph is unavailable" in response.json()["message"]
    assert settings.uri is not None and settings.uri in response.json()["message"]
    graph.close()
    store.dispose()
