"""Helpers for the ingest tests: events, an API client over a real store, a recording graph writer."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from observer.clock import SimulatedClock
from observer.config import load_config
from observer.graph.model import GraphUnavailable, LineageBatch
from observer.ingest.projection import ProjectionWorker
from observer.runtime import Runtime
from observer.store import Store

NOW = datetime(2026, 5, 1, 6, 0, tzinfo=UTC)
PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.54.0/client/python"


def run_event(
    event_type: str | None = "COMPLETE",
    *,
    run_id: str | None = None,
    job: str = "etl_orders",
    namespace: str = "airflow",
    time: str = "2026-05-01T05:00:00Z",
    inputs: list[dict[str, Any]] | None = None,
    outputs: list[dict[str, Any]] | None = None,
    run_facets: dict[str, Any] | None = None,
    job_facets: dict[str, Any] | None = None,
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "eventTime": time,
        "run": {"runId": run_id or str(uuid.uuid4()), "facets": run_facets or {}},
        "job": {"namespace": namespace, "name": job, "facets": job_facets or {}},
        "inputs": copy.deepcopy(inputs or []),
        "outputs": copy.deepcopy(outputs or []),
        "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    }
    if event_type is not None:
        event["eventType"] = event_type
    return event


def dataset(name: str, namespace: str = "postgres://db:5432", **facets: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"namespace": namespace, "name": name, "facets": {}}
    for key, value in facets.items():
        if key in ("inputFacets", "outputFacets"):
            item[key] = value
        else:
            item["facets"][key] = value
    return item


class RecordingWriter:
    """A GraphWriter that keeps what it was given, and can pretend to be down."""

    def __init__(self) -> None:
        self.batches: list[LineageBatch] = []
        self.down = False

    def record(self, batch: LineageBatch) -> None:
        if self.down:
            raise GraphUnavailable("graph is down (test)")
        self.batches.append(batch)


class Ingest:
    """An API client over a migrated store with the in-server worker off; ``project()`` drains."""

    def __init__(self, client: TestClient, runtime: Runtime, writer: RecordingWriter) -> None:
        self.client = client
        self.runtime = runtime
        self.writer = writer
        self.worker = ProjectionWorker(runtime.store, runtime.clock, writer)

    @property
    def store(self) -> Store:
        return self.runtime.store

    def post(self, body: Any, path: str = "/api/v1/lineage", **kwargs: Any) -> Any:
        return self.client.post(path, json=body, **kwargs)

    def project(self) -> int:
        return self.worker.drain()


@pytest.fixture
def make_ingest(tmp_path: Path) -> Iterator[Callable[..., Ingest]]:
    clients: list[TestClient] = []

    def make(config: str = "", store_url: str | None = None, env: dict[str, str] | None = None) -> Ingest:
        path = tmp_path / f"observer-{len(clients)}.yaml"
        url = store_url or f"sqlite:///{tmp_path}/observer-{len(clients)}.db"
        path.write_text(f"store:\n  url: {url}\ningest:\n  worker: false\n{config}")
        loaded = load_config(path, environ=env or {})
        runtime = Runtime.build(loaded.settings, clock=SimulatedClock(NOW), secrets=loaded.secrets)
        runtime.store.upgrade()
        client = TestClient(create_app(runtime))
        client.__enter__()
        clients.append(client)
        return Ingest(client, runtime, RecordingWriter())

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def ingest(make_ingest: Callable[..., Ingest]) -> Ingest:
    return make_ingest()


@pytest.fixture
def ingest_on_store(make_ingest: Callable[..., Ingest], store_url: str) -> Ingest:
    """The same, once on SQLite and once on PostgreSQL."""
    return make_ingest(store_url=store_url)
