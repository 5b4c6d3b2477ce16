"""End to end: OpenLineage events sent to a live ``observer serve`` reach the lineage graph and are
answered by its reads, on the embedded backend and on Neo4j (over Bolt)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer
from tests.graph.conftest import BOLT_MESSAGE_LIMIT, BoltServer, wipe

NAMESPACE = "postgres://db.internal:5432"


def event(job: str, inputs: list[str], output: str) -> dict[str, Any]:
    return {
        "eventType": "COMPLETE",
        "eventTime": "2026-05-01T05:00:00.000Z",
        "producer": "https://example.com/test",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": "airflow", "name": job},
        "inputs": [{"namespace": NAMESPACE, "name": name} for name in inputs],
        "outputs": [
            {
                "namespace": NAMESPACE,
                "name": output,
                "facets": {
                    "columnLineage": {
                        "_producer": "https://example.com/test",
                        "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json",
                        "fields": {
                            "amount": {
                                "inputFields": [
                                    {
                                        "namespace": NAMESPACE,
                                        "name": inputs[0],
                                        "field": "amount",
                                        "transformations": [{"type": "DIRECT", "subtype": "IDENTITY"}],
                                    }
                                ]
                            }
                        },
                    }
                },
            }
        ],
    }


def wait_for(server: LiveServer, path: str, params: dict[str, Any], timeout: float = 60) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        response = httpx.get(f"{server.url}{path}", params=params, timeout=30)
        if response.status_code == 200 or time.monotonic() > deadline:
            return response
        time.sleep(0.3)


@pytest.mark.parametrize("backend", ["embedded", "neo4j"])
def test_events_reach_the_graph(
    backend: str, start_server: Callable[..., LiveServer], request: pytest.FixtureRequest
) -> None:
    config = ""
    if backend == "neo4j":
        bolt_server: BoltServer = request.getfixturevalue("bolt_server")
        wipe(request.getfixturevalue("shared_bolt"))
        config = (
            f"graph:\n  backend: neo4j\n  uri: {bolt_server.uri}\n  user: falkordb\n"
            f"  max_message_bytes: {BOLT_MESSAGE_LIMIT}\n  connect_timeout: 2s\n  retry_interval: 1s\n"
        )
    server = start_server(config_text=config)
    for item in (
        event("shop.stage_orders", ["shop.raw.orders"], "shop.stg.orders"),
        event("shop.revenue", ["shop.stg.orders"], "shop.mart.revenue"),
    ):
        response = httpx.post(f"{server.url}/api/v1/lineage", json=item, timeout=30)
        assert response.status_code in (200, 201), response.text

    revenue = f"dataset:{NAMESPACE}:shop.mart.revenue"
    upstream = wait_for(server, "/api/v1/lineage", {"nodeId": revenue, "direction": "upstream"})
    assert upstream.status_code == 200, server.log()
    ids = {node["id"] for node in upstream.json()["graph"]}
    assert f"dataset:{NAMESPACE}:shop.raw.orders" in ids
    assert "job:airflow:shop.revenue" in ids

    impact = httpx.get(
        f"{server.url}/api/v1/impact", params={"nodeId": f"dataset:{NAMESPACE}:shop.raw.orders"}
    )
    assert impact.status_code == 200
    assert {node["nodeId"] for node in impact.json()["nodes"]} >= {
        f"dataset:{NAMESPACE}:shop.stg.orders",
        f"datasetField:{NAMESPACE}:shop.mart.revenue:amount",
    }
