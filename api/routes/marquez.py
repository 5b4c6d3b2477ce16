"""Marquez-compatible reads of what ingestion produced: the same paths, parameters and JSON shapes as
Marquez's ``/api/v1`` (namespaces, datasets and versions, jobs, versions and runs, runs and their
facets, raw lineage events, search), so existing Marquez clients and scripts keep working.

Namespace, dataset and job names may contain ``/`` (``s3://bucket``, file paths): clients send them
percent-encoded, so the ``/api/v1/namespaces/…`` paths are split on the raw, still-encoded path
before each segment is decoded.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, Literal
from urllib.parse import unquote

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import Connection

from api.auth import require
from api.errors import ApiError
from observer.ingest import reads
from observer.ingest.parse import normal_run_uuid

router = APIRouter(prefix="/api/v1", tags=["marquez"], dependencies=[Depends(require("read"))])

Json = dict[str, Any]
_EVENTS_BEFORE = datetime(2030, 1, 1, tzinfo=UTC)
_EVENTS_AFTER = datetime(1970, 1, 1, tzinfo=UTC)


def _read(request: Request, work: Callable[[Connection], Json | None], missing: str) -> Json:
    with request.app.state.runtime.store.engine.connect() as connection:
        found = work(connection)
    if found is None:
        raise ApiError(404, missing)
    return found


Limit = Query(100, ge=0, description="page size")
Offset = Query(0, ge=0, description="rows to skip")


@router.get("/namespaces", summary="Namespaces seen in events")
def namespaces(request: Request, limit: int = Limit, offset: int = Offset) -> Json:
    return _read(request, lambda connection: reads.list_namespaces(connection, limit, offset), "")


@router.get("/namespaces/{rest:path}", summary="A namespace, its datasets and jobs, their versions and runs")
def namespace_paths(request: Request, rest: str, limit: int = Limit, offset: int = Offset) -> Json:
    raw = request.scope.get("raw_path", b"").decode("latin-1")
    tail = raw.split("/api/v1/namespaces/", 1)[1] if "/api/v1/namespaces/" in raw else rest
    parts = [unquote(part) for part in tail.rstrip("/").split("/")]
    namespace, route = parts[0], parts[1:]
    match route:
        case []:
            return _read(
                request, lambda c: reads.get_namespace(c, namespace), f"Namespace '{namespace}' not found."
            )
        case ["datasets"]:
            return _read(request, lambda c: reads.list_datasets(c, namespace, limit, offset), "")
        case ["datasets", name]:
            return _read(
                request, lambda c: reads.get_dataset(c, namespace, name), f"Dataset '{name}' not found."
            )
        case ["datasets", name, "versions"]:
            return _read(
                request,
                lambda c: reads.list_dataset_versions(c, namespace, name, limit, offset),
                f"Dataset '{name}' not found.",
            )
        case ["datasets", name, "versions", version]:
            return _read(
                request,
                lambda c: reads.get_dataset_version(c, namespace, name, version),
                f"Dataset version '{version}' not found.",
            )
        case ["jobs"]:
            return _read(
                request, lambda c: reads.list_jobs(c, namespace, _states(request), limit, offset), ""
            )
        case ["jobs", name]:
            return _read(request, lambda c: reads.get_job(c, namespace, name), f"Job '{name}' not found.")
        case ["jobs", name, "versions"]:
            return _read(
                request,
                lambda c: reads.list_job_versions(c, namespace, name, limit, offset),
                f"Job '{name}' not found.",
            )
        case ["jobs", name, "versions", version]:
            return _read(
                request,
                lambda c: reads.get_job_version(c, namespace, name, version),
                f"Job version '{version}' not found.",
            )
        case ["jobs", name, "runs"]:
            return _read(
                request,
                lambda c: reads.list_runs(c, namespace, name, limit, offset),
                f"Job '{name}' not found.",
            )
    raise ApiError(404, "no such endpoint")


def _states(request: Request) -> list[str]:
    return [state.upper() for state in request.query_params.getlist("lastRunStates")]


@router.get("/jobs", summary="Jobs of every namespace")
def all_jobs(request: Request, limit: int = Limit, offset: int = Offset) -> Json:
    return _read(request, lambda c: reads.list_jobs(c, None, _states(request), limit, offset), "")


@router.get("/jobs/runs/{run_id}", summary="A run")
def run(request: Request, run_id: str) -> Json:
    return _read(request, lambda c: reads.get_run(c, _run_uuid(run_id)), f"Run '{run_id}' not found.")


@router.get("/jobs/runs/{run_id}/facets", summary="A run's run or job facets")
def run_facets(request: Request, run_id: str, type: Literal["run", "job"] = Query("run")) -> Json:
    return _read(
        request, lambda c: reads.get_run_facets(c, _run_uuid(run_id), type), f"Run '{run_id}' not found."
    )


def _run_uuid(run_id: str) -> str:
    return normal_run_uuid(run_id)[0]


@router.get("/events/lineage", summary="Raw lineage events, newest first")
def events(
    request: Request,
    before: datetime = Query(_EVENTS_BEFORE),
    after: datetime = Query(_EVENTS_AFTER),
    sortDirection: str = Query("desc"),
    limit: int = Limit,
    offset: int = Offset,
) -> Json:
    if sortDirection not in ("asc", "desc"):
        raise ApiError(400, f"sortDirection must be asc or desc, not {sortDirection!r}")
    return _read(
        request,
        lambda c: reads.list_events(c, _utc(before), _utc(after), sortDirection == "asc", limit, offset),
        "",
    )


@router.get("/search", summary="Datasets and jobs whose name contains q")
def search(
    request: Request,
    q: str = Query(..., min_length=1),
    filter: Literal["dataset", "job", "DATASET", "JOB"] | None = Query(None),
    sort: Literal["name", "updated_at", "NAME", "UPDATE_AT", "UPDATED_AT"] = Query("name"),
    limit: int = Query(10, ge=0),
    namespace: str | None = Query(None),
    before: date | None = Query(None),
    after: date | None = Query(None),
) -> Json:
    kind: Literal["dataset", "job"] | None = (
        "dataset" if filter in ("dataset", "DATASET") else ("job" if filter in ("job", "JOB") else None)
    )
    return _read(
        request,
        lambda c: reads.search(
            c,
            q,
            kind=kind,
            sort="name" if sort.lower() == "name" else "updated_at",
            limit=limit,
            namespace=namespace,
            before=_midnight(before),
            after=_midnight(after),
        ),
        "",
    )


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _midnight(day: date | None) -> datetime | None:
    return datetime(day.year, day.month, day.day, tzinfo=UTC) if day is not None else None
