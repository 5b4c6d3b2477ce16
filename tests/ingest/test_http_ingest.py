"""POST /api/v1/lineage and /lineage/batch: lenient on what producers really send, precise 4xx on
what cannot be used, durable before the 2xx, and 503 + Retry-After instead of unbounded growth."""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from observer.ingest.tables import lineage_events
from tests.ingest.conftest import Ingest, dataset, run_event


def events_stored(ingest: Ingest) -> int:
    with ingest.store.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(lineage_events)).scalar_one())


def corpus(shared_dir: Path, kind: str) -> list[Path]:
    return sorted((shared_dir / "data" / "openlineage" / "events" / kind).rglob("*.json"))


def test_every_concrete_corpus_event_is_accepted(ingest: Ingest, shared_dir: Path) -> None:
    files = corpus(shared_dir, "concrete")
    assert len(files) == 88
    for path in files:
        response = ingest.client.post("/api/v1/lineage", content=path.read_bytes())
        assert response.status_code == 201, f"{path.name}: {response.text}"
        assert response.content == b""
    assert events_stored(ingest) >= 110
    assert ingest.project() == events_stored(ingest)
    jobs = ingest.client.get("/api/v1/jobs", params={"limit": 1000}).json()
    assert jobs["totalCount"] >= 40
    assert ingest.client.get("/api/v1/namespaces").json()["namespaces"]


@pytest.mark.parametrize(
    ("name", "named"),
    [
        ("event_no_run_id.json", "$.run.runId: required"),
        ("event_invalid_run_facet.json", "$.run.facets.parent.run.runId"),
        ("event_invalid_job_facet.json", "$.job.facets.ownership.owners[0].name"),
        ("event_invalid_dataset_facet.json", "$.outputs[0].facets.ownership.owners[0].name"),
        (
            "event_invalid_input_dataset_facet.json",
            "$.inputs[0].inputFacets.dataQualityMetrics.columnMetrics",
        ),
        ("event_invalid_output_dataset_facet.json", "$.outputs[0].outputFacets.outputStatistics.rowCount"),
    ],
)
def test_every_invalid_corpus_event_gets_a_4xx_naming_the_problem(
    ingest: Ingest, shared_dir: Path, name: str, named: str
) -> None:
    path = shared_dir / "data" / "openlineage" / "events" / "invalid" / "openlineage-fluentd-proxy" / name
    response = ingest.client.post("/api/v1/lineage", content=path.read_bytes())
    assert response.status_code == 422
    assert named in response.json()["message"]
    assert events_stored(ingest) == 0


def test_a_bad_facet_can_be_ignored_instead_of_rejecting_the_event(
    make_ingest: Callable[..., Ingest], shared_dir: Path
) -> None:
    ingest = make_ingest("  invalid_facets: ignore\n")
    for path in corpus(shared_dir, "invalid"):
        expected = 422 if path.name == "event_no_run_id.json" else 201
        assert ingest.client.post("/api/v1/lineage", content=path.read_bytes()).status_code == expected
    assert ingest.project() == 5
    job = ingest.client.get("/api/v1/namespaces/my-scheduler-namespace/jobs/myjob").json()
    assert "ownership" not in job["facets"]
    stored = ingest.client.get("/api/v1/events/lineage").json()["events"]
    assert any("ownership" in event["job"].get("facets", {}) for event in stored)


def test_malformed_json_is_a_400_naming_line_and_column(ingest: Ingest) -> None:
    response = ingest.client.post(
        "/api/v1/lineage", content=b'{\n  "eventTime": "2026-01-01T00:00:00Z",\n  "run": }'
    )
    assert response.status_code == 400
    assert "line 3, column 10" in response.json()["message"]


def test_an_unusable_event_lists_every_problem_with_its_path(ingest: Ingest) -> None:
    event = run_event(inputs=[{"namespace": "db"}])
    del event["eventTime"]
    event["job"] = {"namespace": "airflow"}
    response = ingest.post(event)
    assert response.status_code == 422
    assert response.json()["errors"] == [
        "$.eventTime: required",
        "$.job.name: required",
        "$.inputs[0].name: required",
    ]


def test_an_array_of_events_is_accepted_and_problems_carry_the_index(ingest: Ingest) -> None:
    good, bad = run_event("START"), run_event("COMPLETE")
    del bad["run"]["runId"]
    assert ingest.post([run_event("START"), run_event("COMPLETE")]).status_code == 201
    response = ingest.post([good, bad])
    assert response.status_code == 422
    assert response.json()["errors"] == ["$[1].run.runId: required"]
    assert events_stored(ingest) == 2


def test_the_batch_endpoint_reports_per_event(ingest: Ingest) -> None:
    assert ingest.post([run_event("START")], "/api/v1/lineage/batch").status_code == 204
    bad = run_event()
    bad["eventTime"] = "yesterday"
    response = ingest.post([run_event("COMPLETE"), bad], "/api/v1/lineage/batch")
    assert response.status_code == 200
    report = response.json()
    assert report["status"] == "partial_success"
    assert report["summary"] == {
        "received": 2,
        "successful": 1,
        "failed": 1,
        "retriable": 0,
        "non_retriable": 1,
    }
    assert report["failed_events"][0]["index"] == 1
    assert "$[1].eventTime: not a timestamp" in report["failed_events"][0]["reason"]
    assert ingest.post(run_event(), "/api/v1/lineage/batch").status_code == 400


def test_gzip_bodies_are_accepted_and_broken_gzip_is_a_400(ingest: Ingest) -> None:
    body = gzip.compress(json.dumps(run_event()).encode(), compresslevel=3)
    headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
    assert ingest.client.post("/api/v1/lineage", content=body, headers=headers).status_code == 201
    broken = ingest.client.post("/api/v1/lineage", content=body[:-9], headers=headers)
    assert broken.status_code == 400
    assert "gzip" in broken.json()["message"]


def test_bodies_over_the_limit_are_413_before_and_after_gunzip(make_ingest: Callable[..., Ingest]) -> None:
    ingest = make_ingest("  max_body_bytes: 4096\n")
    big = run_event(job_facets={"padding": {"text": "x" * 8000}})
    assert ingest.post(big).status_code == 413
    bomb = gzip.compress(json.dumps(big).encode())
    assert len(bomb) < 4096
    response = ingest.client.post("/api/v1/lineage", content=bomb, headers={"Content-Encoding": "gzip"})
    assert response.status_code == 413
    assert events_stored(ingest) == 0


def test_resent_events_are_stored_once(ingest: Ingest) -> None:
    event = run_event("START")
    for _ in range(3):
        assert ingest.post(event).status_code == 201
    reordered = dict(reversed(list(event.items())))
    assert ingest.post([reordered, event]).status_code == 201
    assert events_stored(ingest) == 1
    metrics = ingest.client.get("/metrics").text
    assert 'observer_ingest_events_total{outcome="duplicate"}' in metrics
    assert "observer_projection_lag_events 1.0" in metrics


def test_bearer_tokens_need_the_ingest_scope(make_ingest: Callable[..., Ingest]) -> None:
    digest = hashlib.sha256(b"reader-secret").hexdigest()
    config = f"""api:
  tokens:
    - name: airflow
      token: ${{OL_TOKEN}}
      scopes: [ingest]
    - name: dashboards
      sha256: {digest}
      scopes: [read]
"""
    ingest = make_ingest(config, env={"OL_TOKEN": "airflow-secret"})
    assert ingest.post(run_event()).status_code == 401
    assert ingest.post(run_event(), headers={"Authorization": "Bearer reader-secret"}).status_code == 403
    assert ingest.post(run_event(), headers={"Authorization": "Bearer airflow-secret"}).status_code == 201


def test_a_lagging_projection_answers_503_with_retry_after(make_ingest: Callable[..., Ingest]) -> None:
    ingest = make_ingest("  max_projection_lag: 2\n  retry_after: 7\n")
    assert ingest.post([run_event(), run_event(), run_event()]).status_code == 201
    response = ingest.post(run_event())
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "7"
    ingest.project()
    assert ingest.post(run_event()).status_code == 503  # the cursor is re-read at most once a second
    service = next(service for service in ingest.runtime.services if service.name == "ingest")
    service.progress.load()  # type: ignore[attr-defined]
    assert ingest.post(run_event()).status_code == 201


def test_lenient_inputs_are_accepted_and_recorded(ingest: Ingest) -> None:
    event = run_event(
        run_id="scheduled__2026-05-01", time="2026-05-01T05:00:00", outputs=[dataset("my table 🍎")]
    )
    del event["schemaURL"]
    del event["eventType"]
    event["job"]["namespace"] = "team a?&#/ünï"
    event["job"]["facets"]["acme_custom"] = {"anything": [1, {"goes": True}]}
    assert ingest.post(event).status_code == 201
    stored = ingest.client.get("/api/v1/events/lineage").json()["events"]
    assert stored[0]["job"]["facets"]["acme_custom"] == {"anything": [1, {"goes": True}]}
    with ingest.store.engine.connect() as connection:
        notes = connection.execute(select(lineage_events.c.notes)).scalar_one()
    assert any("read as UTC" in note for note in notes)
    assert any("not a UUID" in note for note in notes)
