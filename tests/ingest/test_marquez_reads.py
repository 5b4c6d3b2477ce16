"""The Marquez-compatible reads: paths, parameters, shapes and pagination as Marquez answers them."""

from __future__ import annotations

from urllib.parse import quote

from tests.ingest.conftest import Ingest, dataset, run_event

NAMESPACE = "s3://lake/raw zone"


def seeded(ingest: Ingest) -> Ingest:
    for index in range(3):
        run_id = f"0190f3b6-0000-7000-8000-00000000000{index}"
        state = "FAIL" if index == 2 else "COMPLETE"
        job_facets = {"sourceCodeLocation": {"type": "git", "url": f"https://git/etl@v{index // 2}"}}
        ingest.post(run_event("START", run_id=run_id, time=f"2026-05-0{index + 1}T05:00:00Z", job="load"))
        ingest.post(
            run_event(
                state,
                run_id=run_id,
                time=f"2026-05-0{index + 1}T05:10:00Z",
                job="load",
                inputs=[dataset("events/2026", NAMESPACE)],
                outputs=[dataset("warehouse.events", schema={"fields": [{"name": "id", "type": "BIGINT"}]})],
                job_facets=job_facets,
            )
        )
    ingest.post(run_event("START", job="stream", job_facets={"jobType": {"processingType": "STREAMING"}}))
    ingest.project()
    return ingest


def test_jobs_paginate_and_filter_on_the_last_run_state(ingest: Ingest) -> None:
    seeded(ingest)
    page = ingest.client.get("/api/v1/namespaces/airflow/jobs", params={"limit": 1, "offset": 1}).json()
    assert page["totalCount"] == 2 and [job["name"] for job in page["jobs"]] == ["stream"]
    failed = ingest.client.get("/api/v1/jobs", params=[("lastRunStates", "FAILED")]).json()
    assert [job["name"] for job in failed["jobs"]] == ["load"]
    running = ingest.client.get("/api/v1/jobs", params=[("lastRunStates", "RUNNING")]).json()
    assert [(job["name"], job["type"]) for job in running["jobs"]] == [("stream", "STREAM")]


def test_job_versions_follow_inputs_outputs_and_location(ingest: Ingest) -> None:
    seeded(ingest)
    job = ingest.client.get("/api/v1/namespaces/airflow/jobs/load").json()
    assert job["latestRun"]["state"] == "FAILED"
    assert len(job["latestRuns"]) == 3
    assert job["location"] == "https://git/etl@v1"
    versions = ingest.client.get("/api/v1/namespaces/airflow/jobs/load/versions").json()["versions"]
    assert len(versions) == 2 and versions[0]["version"] == job["currentVersion"]
    assert versions[0]["inputs"] == [{"namespace": NAMESPACE, "name": "events/2026"}]
    one = ingest.client.get(f"/api/v1/namespaces/airflow/jobs/load/versions/{versions[1]['version']}").json()
    assert one["location"] == "https://git/etl@v0"
    runs = ingest.client.get("/api/v1/namespaces/airflow/jobs/load/runs", params={"limit": 2}).json()
    assert runs["totalCount"] == 3 and [run["state"] for run in runs["runs"]] == ["FAILED", "COMPLETED"]


def test_names_with_slashes_and_spaces_are_read_through_percent_encoding(ingest: Ingest) -> None:
    seeded(ingest)
    path = f"/api/v1/namespaces/{quote(NAMESPACE, safe='')}/datasets/{quote('events/2026', safe='')}"
    body = ingest.client.get(path).json()
    assert body["id"] == {"namespace": NAMESPACE, "name": "events/2026"}
    assert ingest.client.get(f"/api/v1/namespaces/{quote(NAMESPACE, safe='')}").json()["name"] == NAMESPACE


def test_dataset_versions_one_per_writing_run(ingest: Ingest) -> None:
    seeded(ingest)
    base = f"/api/v1/namespaces/{quote('postgres://db:5432', safe='')}/datasets/warehouse.events"
    versions = ingest.client.get(f"{base}/versions").json()
    assert versions["totalCount"] == 3
    newest = versions["versions"][0]
    assert newest["fields"] == [{"name": "id", "type": "BIGINT", "tags": [], "description": None}]
    assert newest["createdByRun"]["state"] == "FAILED"
    assert ingest.client.get(base).json()["currentVersion"] == newest["version"]
    assert ingest.client.get(f"{base}/versions/{newest['version']}").json()["version"] == newest["version"]


def test_run_facets_by_type(ingest: Ingest) -> None:
    seeded(ingest)
    run_id = "0190f3b6-0000-7000-8000-000000000000"
    job_facets = ingest.client.get(f"/api/v1/jobs/runs/{run_id}/facets", params={"type": "job"}).json()
    assert job_facets["runId"] == run_id
    assert job_facets["facets"]["sourceCodeLocation"]["url"] == "https://git/etl@v0"
    assert ingest.client.get(f"/api/v1/jobs/runs/{run_id}/facets", params={"type": "both"}).status_code == 422


def test_search_filters_sorts_and_limits(ingest: Ingest) -> None:
    seeded(ingest)
    found = ingest.client.get("/api/v1/search", params={"q": "EVENTS"}).json()
    assert [result["name"] for result in found["results"]] == ["events/2026", "warehouse.events"]
    jobs = ingest.client.get("/api/v1/search", params={"q": "a", "filter": "job", "limit": 1}).json()
    assert jobs["totalCount"] == 2 and len(jobs["results"]) == 1
    assert jobs["results"][0]["nodeId"] == "job:airflow:load"
