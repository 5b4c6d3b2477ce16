"""The scenario of issue 8: an upstream load fails; five downstream tables then go stale or shrink.

Observer answers with one incident and one Slack message naming the failed load as the cause and
listing the impact, with each later finding as a reply in its thread, not six separate alerts; when
everything passes again, the root message is edited to say it is resolved.

Lineage and the failed run arrive as OpenLineage events through the real ingest endpoint and
projection into the embedded graph backend; Slack is the local stub.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from observer.alerts.outbox import Outbox
from observer.alerts.service import build_incident_service, build_notifiers
from observer.catalog.identity import DatasetRef
from observer.clock import SimulatedClock
from observer.graph.embedded import EmbeddedGraph
from observer.incidents.findings import CheckPass, FindingRecord
from observer.incidents.graph_lineage import GraphLineage
from observer.incidents.queries import get_incident, list_incidents
from observer.incidents.suspects import StoreRunHistory
from observer.ingest.projection import ProjectionWorker
from observer.runtime import Runtime
from observer.store import Store
from tests.alerts.helpers import settings
from tests.slack_stub import SlackStub

T0 = datetime(2026, 5, 4, 6, 0, tzinfo=UTC)
NS = "postgres://warehouse:5432"
RAW = "raw.public.orders"
STAGED = "analytics.staging.orders"
MARTS = [
    "analytics.marts.orders_daily",
    "analytics.marts.revenue",
    "analytics.marts.customers",
    "analytics.marts.fulfilment",
]
PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.54.0/client/python"


def event(
    kind: str, job: str, at: datetime, run_id: str, inputs: list[str], outputs: list[str], **facets: Any
) -> dict[str, Any]:
    return {
        "eventType": kind,
        "eventTime": at.isoformat().replace("+00:00", "Z"),
        "run": {"runId": run_id, "facets": facets},
        "job": {"namespace": "airflow", "name": job, "facets": {}},
        "inputs": [{"namespace": NS, "name": name} for name in inputs],
        "outputs": [{"namespace": NS, "name": name} for name in outputs],
        "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    }


def run(
    client: TestClient,
    job: str,
    start: datetime,
    inputs: list[str],
    outputs: list[str],
    *,
    fail: str | None = None,
) -> None:
    run_id = str(uuid.uuid4())
    client.post(
        "/api/v1/lineage", json=event("START", job, start, run_id, inputs, outputs)
    ).raise_for_status()
    end = start + timedelta(minutes=5)
    if fail is None:
        client.post(
            "/api/v1/lineage", json=event("COMPLETE", job, end, run_id, inputs, outputs)
        ).raise_for_status()
    else:
        error = {"message": fail, "programmingLanguage": "python"}
        client.post(
            "/api/v1/lineage", json=event("FAIL", job, end, run_id, inputs, outputs, errorMessage=error)
        ).raise_for_status()


def pipeline(client: TestClient, day: datetime, *, load_fails: str | None = None) -> None:
    run(client, "load_raw_orders", day, [], [RAW], fail=load_fails)
    if load_fails is None:
        run(client, "stage_orders", day + timedelta(minutes=10), [RAW], [STAGED])
        for index, mart in enumerate(MARTS):
            run(
                client,
                f"build_{mart.rsplit('.', 1)[1]}",
                day + timedelta(minutes=20 + index),
                [STAGED],
                [mart],
            )


def finding(name: str, check: str, at: datetime) -> FindingRecord:
    if check == "freshness":
        return FindingRecord(
            DatasetRef(NS, name),
            "freshness",
            "error",
            at,
            f"{name} was last updated 25h ago; it usually updates every 24h by 05:40",
            direction="late",
        )
    return FindingRecord(
        DatasetRef(NS, name),
        "volume",
        "error",
        at,
        f"{name} got 1,310 rows, expected 9,600-10,500",
        observed=1310,
        lower=9600,
        upper=10500,
        direction="drop",
    )


@pytest.fixture
def world(store: Store, slack_stub: SlackStub) -> Iterator[tuple[Runtime, TestClient, EmbeddedGraph]]:
    config = settings(slack_stub).model_copy(
        update={"ingest": settings(slack_stub).ingest.model_copy(update={"worker": False})}
    )
    runtime = Runtime(settings=config, clock=SimulatedClock(T0), store=store)
    with TestClient(create_app(runtime)) as client:
        yield runtime, client, EmbeddedGraph(store, config.graph)


def test_one_incident_one_message_for_a_failed_load_and_everything_it_starves(
    world: tuple[Runtime, TestClient, EmbeddedGraph], slack_stub: SlackStub
) -> None:
    runtime, client, graph = world
    clock = runtime.clock
    assert isinstance(clock, SimulatedClock)
    worker = ProjectionWorker(runtime.store, clock, graph)
    incidents = build_incident_service(runtime, lineage=GraphLineage(graph), runs=StoreRunHistory())
    outbox = Outbox(runtime.store, clock, runtime.settings.alerts.outbox, build_notifiers(runtime.settings))

    pipeline(client, T0 - timedelta(days=1, minutes=20))
    pipeline(client, T0 - timedelta(minutes=20), load_fails="connection reset by the source database")
    worker.drain()

    five = [
        (STAGED, "freshness", 0),
        (MARTS[1], "volume", 20),
        (MARTS[0], "freshness", 25),
        (MARTS[2], "volume", 40),
        (MARTS[3], "freshness", 45),
    ]
    for name, check, minutes in five:
        clock.set(T0 + timedelta(minutes=minutes))
        incidents.process([finding(name, check, clock.now())])
        outbox.deliver_due()

    with runtime.store.engine.connect() as connection:
        found, total = list_incidents(connection)
        incident = get_incident(connection, found[0].id)
    assert total == 1 and incident is not None
    assert incident.origin == DatasetRef(NS, RAW)
    assert incident.cause is not None and incident.cause["kind"] == "failed_run"
    assert len(incident.checks) == 5

    [root] = slack_stub.top_level()
    assert len(slack_stub.calls("chat.postMessage")) == 5, "one root message and four replies, not six alerts"
    blocks = str(root.blocks)
    assert (
        "*Suspected cause:* run of load_raw_orders writing raw.public.orders failed at 2026-05-04 05:45 UTC"
        in blocks
    )
    assert "connection reset by the source database" in blocks
    assert "5 datasets" in blocks and "downstream of `raw.public.orders`" in blocks
    for name in (STAGED, *MARTS):
        assert f"`{name}`" in blocks
    replies = slack_stub.replies(root.ts)
    assert len(replies) == 4
    assert all("more check failing downstream" in (reply.text or "") for reply in replies)
    assert "*Also failing (4):*" in str(root.blocks), "the root message is kept current"

    clock.set(T0 + timedelta(hours=2))
    pipeline(client, T0 + timedelta(hours=1))
    worker.drain()
    passed = [CheckPass(DatasetRef(NS, name), check, clock.now()) for name, check, _ in five]
    report = incidents.process([], passed)
    outbox.deliver_due()

    assert report.resolved == [incident.id]
    assert len(slack_stub.top_level()) == 1
    assert (root.text or "").startswith("✅ Resolved · Stale data on analytics.staging.orders")
    assert "every check passes again" in str(root.blocks)
    assert all(block["type"] != "actions" for block in root.blocks or [])
    assert "✅ Resolved" in (slack_stub.replies(root.ts)[-1].text or "")


def test_a_failed_load_that_was_rerun_successfully_is_not_blamed(
    world: tuple[Runtime, TestClient, EmbeddedGraph],
) -> None:
    runtime, client, graph = world
    pipeline(client, T0 - timedelta(days=1, minutes=20))
    pipeline(client, T0 - timedelta(minutes=50), load_fails="timeout")
    run(client, "load_raw_orders", T0 - timedelta(minutes=30), [], [RAW])
    ProjectionWorker(runtime.store, runtime.clock, graph).drain()
    incidents = build_incident_service(runtime, lineage=GraphLineage(graph), runs=StoreRunHistory())

    opened = incidents.process([finding(MARTS[0], "freshness", T0)]).opened[0]
    with runtime.store.engine.connect() as connection:
        incident = get_incident(connection, opened)
    assert incident is not None
    assert incident.cause is None
    assert incident.origin == DatasetRef(NS, MARTS[0])


def test_a_load_running_far_longer_than_usual_is_suspected_as_late(
    world: tuple[Runtime, TestClient, EmbeddedGraph],
) -> None:
    runtime, client, graph = world
    for days in (3, 2, 1):
        pipeline(client, T0 - timedelta(days=days, minutes=20))
    stuck = str(uuid.uuid4())
    start = T0 - timedelta(minutes=60)
    client.post(
        "/api/v1/lineage", json=event("START", "load_raw_orders", start, stuck, [], [RAW])
    ).raise_for_status()
    ProjectionWorker(runtime.store, runtime.clock, graph).drain()
    incidents = build_incident_service(runtime, lineage=GraphLineage(graph))

    opened = incidents.process([finding(MARTS[0], "freshness", T0)]).opened[0]
    with runtime.store.engine.connect() as connection:
        incident = get_incident(connection, opened)
    assert incident is not None and incident.cause is not None
    assert incident.cause["kind"] == "late_run"
    assert incident.cause["run_id"] == stuck
    assert incident.cause["text"] == (
        "run of load_raw_orders writing raw.public.orders is late: running for 1h 00m, usually done in 5m"
    )
    assert incident.origin == DatasetRef(NS, RAW)
