"""Against a real ``observer serve``: the official openlineage-python client posts (plain, gzip, API
key), and a server killed with SIGKILL mid-stream loses no acknowledged event and stores none twice."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import schema_dataset
from openlineage.client.transport.http import ApiKeyTokenProvider, HttpCompression, HttpConfig, HttpTransport
from sqlalchemy import create_engine, text

from tests.conftest import LiveServer
from tests.ingest.conftest import run_event

TOKENS = """api:
  tokens:
    - name: airflow
      token: airflow-key
      scopes: [ingest]
    - name: reader
      token: reader-key
      scopes: [read]
"""


def client_event(job: str, state: RunState = RunState.COMPLETE) -> RunEvent:
    fields = [schema_dataset.SchemaDatasetFacetFields(name="id", type="INTEGER")]
    return RunEvent(
        eventType=state,
        eventTime=datetime.now(UTC).isoformat(),
        run=Run(runId=str(uuid.uuid4())),
        job=Job(namespace="client-tests", name=job),
        producer="https://github.com/OpenLineage/OpenLineage/tree/1.54.0/client/python",
        inputs=[InputDataset(namespace="postgres://db:5432", name="shop.public.orders")],
        outputs=[
            OutputDataset(
                namespace="postgres://db:5432",
                name=f"shop.public.{job}",
                facets={"schema": schema_dataset.SchemaDatasetFacet(fields=fields)},
            )
        ],
    )


def wait_for(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


@pytest.mark.slow
def test_the_official_python_client_posts_plain_gzip_and_with_an_api_key(
    start_server: Callable[..., LiveServer],
) -> None:
    server = start_server(TOKENS)
    configs = {
        "plain": HttpConfig(url=server.url, auth=ApiKeyTokenProvider({"apiKey": "airflow-key"})),
        "gzip": HttpConfig(
            url=server.url,
            compression=HttpCompression.GZIP,
            auth=ApiKeyTokenProvider({"apiKey": "airflow-key"}),
        ),
    }
    for job, config in configs.items():
        OpenLineageClient(transport=HttpTransport(config)).emit(client_event(job))
    without_key = OpenLineageClient(transport=HttpTransport(HttpConfig(url=server.url, retry={"total": 0})))
    with pytest.raises(Exception, match="401"):
        without_key.emit(client_event("anonymous"))
    reader = {"Authorization": "Bearer reader-key"}

    def projected() -> bool:
        body = httpx.get(f"{server.url}/api/v1/namespaces/client-tests/jobs", headers=reader).json()
        return body.get("totalCount") == 2 and all(job["latestRun"] for job in body["jobs"])

    wait_for(projected)
    gzip_job = httpx.get(f"{server.url}/api/v1/namespaces/client-tests/jobs/gzip", headers=reader).json()
    assert gzip_job["latestRun"]["state"] == "COMPLETED"
    assert gzip_job["outputs"] == [{"namespace": "postgres://db:5432", "name": "shop.public.gzip"}]


@pytest.mark.slow
def test_acknowledged_events_survive_sigkill_exactly_once(
    start_server: Callable[..., LiveServer], tmp_path: Path
) -> None:
    home = tmp_path / "home"
    config = "ingest:\n  commit_max_events: 50\n"
    server = start_server(config, home=home)
    url = {"base": server.url}
    acknowledged: set[str] = set()
    lock = threading.Lock()
    events = [run_event("COMPLETE", run_id=str(uuid.uuid4()), job=f"job-{index % 7}") for index in range(240)]

    def send(batch: list[dict]) -> None:
        with httpx.Client(timeout=5) as client:
            for event in batch:
                while True:
                    try:
                        response = client.post(f"{url['base']}/api/v1/lineage", json=event)
                    except httpx.HTTPError:
                        time.sleep(0.05)
                        continue
                    if response.status_code == 201:
                        with lock:
                            acknowledged.add(event["run"]["runId"])
                        break
                    assert response.status_code == 503, response.text
                    time.sleep(0.05)

    senders = [threading.Thread(target=send, args=(events[offset::4],)) for offset in range(4)]
    for sender in senders:
        sender.start()
    wait_for(lambda: len(acknowledged) >= 60)
    server.process.kill()
    server.process.wait()
    before_restart = set(acknowledged)
    restarted = start_server(config, home=home)
    url["base"] = restarted.url
    for sender in senders:
        sender.join(timeout=120)
    assert len(acknowledged) == len(events)
    assert 60 <= len(before_restart) < len(events)
    engine = create_engine(f"sqlite:///{home / 'observer.db'}")
    with engine.connect() as connection:
        counts = dict(
            connection.execute(text("SELECT run_uuid, count(*) FROM lineage_events GROUP BY run_uuid")).all()
        )
    engine.dispose()
    assert set(counts) == acknowledged
    assert set(counts.values()) == {1}

    def all_projected() -> bool:
        body = httpx.get(f"{restarted.url}/api/v1/jobs", params={"limit": 20}).json()
        return (
            sum(len(job["latestRuns"]) and 1 for job in body["jobs"]) == 7
            and _run_total(restarted.url) == 240
        )

    wait_for(all_projected, timeout=60)


def _run_total(base: str) -> int:
    return sum(
        httpx.get(f"{base}/api/v1/namespaces/airflow/jobs/job-{index}/runs").json()["totalCount"]
        for index in range(7)
    )
