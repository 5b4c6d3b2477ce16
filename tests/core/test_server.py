"""``observer serve`` as a whole: events in, the check loop notices a stale table, an incident opens,
the alert goes out through the outbox, and a fresh write resolves it."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import httpx

from tests.conftest import LiveServer
from tests.slack_stub import SlackStub, slack_stub  # noqa: F401

NAMESPACE = "postgres://db.internal:5432"
TABLE = "shop.public.orders"


def complete_run(server: LiveServer) -> None:
    event = {
        "eventType": "COMPLETE",
        "eventTime": datetime.now(UTC).isoformat(),
        "producer": "https://example.com/loader",
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": "loader", "name": "load_orders"},
        "inputs": [],
        "outputs": [{"namespace": NAMESPACE, "name": TABLE}],
    }
    assert httpx.post(f"{server.url}/api/v1/lineage", json=event).status_code == 201


def wait_for(condition: Callable[[], object], timeout: float = 60) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError("the condition did not hold in time")


def incidents(server: LiveServer, state: str) -> list[dict[str, object]]:
    body = httpx.get(f"{server.url}/api/v1/incidents", params={"state": state}).json()
    return list(body["incidents"])


def test_the_server_notices_a_stale_table_alerts_and_resolves(
    start_server: Callable[..., LiveServer],
    slack_stub: SlackStub,  # noqa: F811
) -> None:
    config = f"""
checks:
  interval: 1s
  rules:
    - dataset: "shop.public.*"
      freshness:
        max_age: 3s
alerts:
  webhooks:
    - name: pager
      url: {slack_stub.webhook_url("pager")}
  routes:
    - notify: [pager]
"""
    server = start_server(config)
    complete_run(server)

    opened = wait_for(lambda: incidents(server, "open"))
    assert isinstance(opened, list) and len(opened) == 1
    assert TABLE in str(opened[0])
    wait_for(lambda: slack_stub.calls("webhook:pager"))

    complete_run(server)
    wait_for(lambda: incidents(server, "resolved"))
    assert incidents(server, "open") == []
