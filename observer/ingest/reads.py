"""Reads of what ingestion produced, in Marquez's JSON shapes (api/src/main/java/marquez/api/*):
namespaces, datasets and their versions, jobs and their versions and runs, runs and their facets,
raw lineage events and search. Every function takes a connection and returns plain JSON-ready data;
``None`` means "not found". Lists are paged with ``limit``/``offset`` and ordered deterministically.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Literal

import orjson
from sqlalchemy import ColumnElement, Connection, Select, and_, func, literal, select, true

from observer.catalog.tables import datasets, jobs, schema_versions
from observer.ingest.tables import (
    dataset_versions,
    job_heads,
    job_versions,
    lineage_events,
    namespaces,
    run_datasets,
    runs,
)

Json = dict[str, Any]
_RUN_STATES = {"NEW", "RUNNING", "COMPLETED", "FAILED", "ABORTED"}
_LATEST_RUNS = 10


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


# namespaces ------------------------------------------------------------------------------------


def _namespace_json(row: Any) -> Json:
    return {
        "name": row.name,
        "createdAt": iso(row.created_at),
        "updatedAt": iso(row.updated_at),
        "ownerName": row.owner_name or "anonymous",
        "description": row.description,
        "isHidden": False,
    }


def list_namespaces(connection: Connection, limit: int, offset: int) -> Json:
    rows = connection.execute(select(namespaces).order_by(namespaces.c.name).limit(limit).offset(offset))
    return {"namespaces": [_namespace_json(row) for row in rows]}


def get_namespace(connection: Connection, name: str) -> Json | None:
    row = connection.execute(select(namespaces).where(namespaces.c.name == name)).first()
    return _namespace_json(row) if row is not None else None


# datasets --------------------------------------------------------------------------------------


def _fields(stored: Iterable[Any] | None) -> list[Json]:
    return [
        {"name": item["name"], "type": item.get("type"), "tags": [], "description": item.get("description")}
        for item in stored or []
    ]


def _tags(stored: Iterable[Any] | None) -> list[str]:
    return [str(tag.get("key") if isinstance(tag, dict) else tag) for tag in stored or []]


def _source_name(facets: dict[str, Any], namespace: str) -> str:
    source = facets.get("dataSource")
    if isinstance(source, dict) and isinstance(source.get("name"), str):
        return str(source["name"])
    return namespace


def _dataset_type(kind: str | None) -> str:
    return "STREAM" if (kind or "").upper() in ("STREAM", "TOPIC") else "DB_TABLE"


def column_lineage(facets: dict[str, Any]) -> list[Json] | None:
    """Marquez's ``columnLineage`` of a dataset, from its ``lineage`` (preferred) or ``columnLineage``
    facet, keeping each input's ``transformations``."""
    declared = facets.get("lineage")
    if isinstance(declared, dict) and isinstance(declared.get("fields"), dict):
        return [
            {
                "name": name,
                "inputFields": [
                    _input_field(item, None)
                    for item in (entry or {}).get("inputs") or []
                    if isinstance(item, dict) and "field" in item
                ],
            }
            for name, entry in declared["fields"].items()
        ]
    facet = facets.get("columnLineage")
    if not isinstance(facet, dict) or not isinstance(facet.get("fields"), dict):
        return None
    return [
        {
            "name": name,
            "inputFields": [_input_field(item, entry) for item in (entry or {}).get("inputFields") or []],
        }
        for name, entry in facet["fields"].items()
    ]


def _input_field(item: dict[str, Any], entry: dict[str, Any] | None) -> Json:
    transformations = item.get("transformations") or []
    first = transformations[0] if transformations and isinstance(transformations[0], dict) else {}
    return {
        "namespace": item.get("namespace"),
        "dataset": item.get("name"),
        "field": item.get("field"),
        "transformationDescription": (entry or {}).get("transformationDescription")
        or first.get("description"),
        "transformationType": (entry or {}).get("transformationType") or first.get("type"),
        "transformations": transformations,
    }


def _dataset_query() -> Select[Any]:
    latest = (
        select(func.max(dataset_versions.c.id))
        .where(dataset_versions.c.dataset_id == datasets.c.id)
        .scalar_subquery()
        .label("latest_version_id")
    )
    return select(datasets, schema_versions.c.fields.label("schema_fields"), latest).outerjoin(
        schema_versions, schema_versions.c.id == datasets.c.current_schema_version_id
    )


def _dataset_json(row: Any, version: str | None) -> Json:
    facets = dict(row.facets or {})
    return {
        "id": {"namespace": row.namespace, "name": row.name},
        "type": _dataset_type(row.kind),
        "name": row.name,
        "physicalName": row.name,
        "createdAt": iso(row.created_at),
        "updatedAt": iso(row.updated_at),
        "namespace": row.namespace,
        "sourceName": _source_name(facets, row.namespace),
        "fields": _fields(row.schema_fields),
        "tags": _tags(row.tags),
        "lastModifiedAt": iso(row.last_updated_at),
        "lastLifecycleState": row.lifecycle_state,
        "description": row.description,
        "currentVersion": version,
        "columnLineage": column_lineage(facets),
        "facets": facets,
        "deleted": False,
    }


def _versions_of(connection: Connection, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = sorted({value for value in ids if value is not None})
    if not wanted:
        return {}
    rows = connection.execute(
        select(dataset_versions.c.id, dataset_versions.c.version).where(dataset_versions.c.id.in_(wanted))
    )
    return {row.id: row.version for row in rows}


def list_datasets(connection: Connection, namespace: str, limit: int, offset: int) -> Json:
    condition = datasets.c.namespace == namespace
    rows = connection.execute(
        _dataset_query().where(condition).order_by(datasets.c.name).limit(limit).offset(offset)
    ).all()
    versions = _versions_of(connection, (row.latest_version_id for row in rows))
    total = connection.execute(select(func.count()).select_from(datasets).where(condition)).scalar_one()
    return {
        "datasets": [_dataset_json(row, versions.get(row.latest_version_id)) for row in rows],
        "totalCount": total,
    }


def _dataset_row(connection: Connection, namespace: str, name: str) -> Any:
    return connection.execute(
        _dataset_query().where(datasets.c.namespace == namespace, datasets.c.name == name)
    ).first()


def get_dataset(connection: Connection, namespace: str, name: str) -> Json | None:
    row = _dataset_row(connection, namespace, name)
    if row is None:
        return None
    return _dataset_json(row, _versions_of(connection, [row.latest_version_id]).get(row.latest_version_id))


def _dataset_version_json(connection: Connection, dataset: Any, row: Any) -> Json:
    facets = dict(row.facets or {})
    run = get_run(connection, row.run_uuid) if row.run_uuid else None
    return {
        "id": {"namespace": dataset.namespace, "name": dataset.name, "version": row.version},
        "version": row.version,
        "type": _dataset_type(dataset.kind),
        "name": dataset.name,
        "physicalName": dataset.name,
        "createdAt": iso(row.created_at),
        "namespace": dataset.namespace,
        "sourceName": _source_name(facets, dataset.namespace),
        "fields": _fields(row.fields),
        "tags": _tags(dataset.tags),
        "lifecycleState": row.lifecycle_state,
        "description": dataset.description,
        "createdByRun": run,
        "columnLineage": column_lineage(facets),
        "facets": facets,
    }


def list_dataset_versions(
    connection: Connection, namespace: str, name: str, limit: int, offset: int
) -> Json | None:
    dataset = _dataset_row(connection, namespace, name)
    if dataset is None:
        return None
    condition = dataset_versions.c.dataset_id == dataset.id
    rows = connection.execute(
        select(dataset_versions)
        .where(condition)
        .order_by(dataset_versions.c.created_at.desc(), dataset_versions.c.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    total = connection.execute(
        select(func.count()).select_from(dataset_versions).where(condition)
    ).scalar_one()
    return {
        "versions": [_dataset_version_json(connection, dataset, row) for row in rows],
        "totalCount": total,
    }


def get_dataset_version(connection: Connection, namespace: str, name: str, version: str) -> Json | None:
    dataset = _dataset_row(connection, namespace, name)
    if dataset is None:
        return None
    row = connection.execute(
        select(dataset_versions).where(
            dataset_versions.c.dataset_id == dataset.id, dataset_versions.c.version == version
        )
    ).first()
    return _dataset_version_json(connection, dataset, row) if row is not None else None


# runs ------------------------------------------------------------------------------------------


def _run_query() -> Select[Any]:
    return (
        select(
            runs,
            jobs.c.namespace.label("job_namespace"),
            jobs.c.name.label("job_name"),
            job_versions.c.version,
        )
        .join(jobs, jobs.c.id == runs.c.job_id)
        .outerjoin(job_versions, job_versions.c.id == runs.c.job_version_id)
    )


def _runs_json(connection: Connection, rows: Sequence[Any]) -> list[Json]:
    if not rows:
        return []
    uuids = [row.run_uuid for row in rows]
    io: dict[str, dict[str, list[Json]]] = {uuid: {"input": [], "output": []} for uuid in uuids}
    query = (
        select(
            run_datasets.c.run_uuid,
            run_datasets.c.direction,
            run_datasets.c.facets,
            run_datasets.c.dataset_version_id,
            run_datasets.c.dataset_id,
            datasets.c.namespace,
            datasets.c.name,
        )
        .join(datasets, datasets.c.id == run_datasets.c.dataset_id)
        .where(run_datasets.c.run_uuid.in_(uuids))
        .order_by(datasets.c.namespace, datasets.c.name)
    )
    found = connection.execute(query).all()
    versions = _versions_of(connection, (item.dataset_version_id for item in found))
    latest = _latest_versions(
        connection, {item.dataset_id for item in found if item.dataset_version_id is None}
    )
    for item in found:
        version = versions.get(item.dataset_version_id) or latest.get(item.dataset_id)
        io[item.run_uuid][item.direction].append(
            {
                "datasetVersionId": {"namespace": item.namespace, "name": item.name, "version": version},
                "facets": item.facets or {},
            }
        )
    return [_run_json(row, io[row.run_uuid]) for row in rows]


def _latest_versions(connection: Connection, dataset_ids: set[int]) -> dict[int, str]:
    if not dataset_ids:
        return {}
    newest = (
        select(func.max(dataset_versions.c.id))
        .where(dataset_versions.c.dataset_id.in_(sorted(dataset_ids)))
        .group_by(dataset_versions.c.dataset_id)
    )
    rows = connection.execute(
        select(dataset_versions.c.dataset_id, dataset_versions.c.version).where(
            dataset_versions.c.id.in_(newest)
        )
    )
    return {row.dataset_id: row.version for row in rows}


def _run_json(row: Any, io: dict[str, list[Json]]) -> Json:
    duration = None
    if row.started_at is not None and row.ended_at is not None:
        duration = int((row.ended_at - row.started_at).total_seconds() * 1000)
    return {
        "id": row.run_uuid,
        "createdAt": iso(row.created_at),
        "updatedAt": iso(row.updated_at),
        "nominalStartTime": iso(row.nominal_start_time),
        "nominalEndTime": iso(row.nominal_end_time),
        "state": row.state,
        "startedAt": iso(row.started_at),
        "endedAt": iso(row.ended_at),
        "durationMs": duration,
        "args": {},
        "jobVersion": (
            {"namespace": row.job_namespace, "name": row.job_name, "version": row.version}
            if row.version is not None
            else None
        ),
        "inputDatasetVersions": io["input"],
        "outputDatasetVersions": io["output"],
        "context": {},
        "facets": row.facets or {},
        "externalId": row.external_id,
        "parentRunId": row.parent_run_uuid,
        "rootRunId": row.root_run_uuid,
        "errorMessage": row.error_message,
    }


def get_run(connection: Connection, run_uuid: str) -> Json | None:
    row = connection.execute(_run_query().where(runs.c.run_uuid == run_uuid)).first()
    return _runs_json(connection, [row])[0] if row is not None else None


def get_run_facets(connection: Connection, run_uuid: str, kind: Literal["run", "job"]) -> Json | None:
    row = connection.execute(
        select(runs.c.facets, runs.c.job_facets).where(runs.c.run_uuid == run_uuid)
    ).first()
    if row is None:
        return None
    return {"runId": run_uuid, "facets": (row.facets if kind == "run" else row.job_facets) or {}}


def list_runs(connection: Connection, namespace: str, job: str, limit: int, offset: int) -> Json | None:
    job_id = _job_id(connection, namespace, job)
    if job_id is None:
        return None
    rows = connection.execute(
        _run_query()
        .where(runs.c.job_id == job_id)
        .order_by(runs.c.created_at.desc(), runs.c.run_uuid)
        .limit(limit)
        .offset(offset)
    ).all()
    total = connection.execute(
        select(func.count()).select_from(runs).where(runs.c.job_id == job_id)
    ).scalar_one()
    return {"runs": _runs_json(connection, rows), "totalCount": total}


# jobs ------------------------------------------------------------------------------------------


def _job_id(connection: Connection, namespace: str, name: str) -> int | None:
    return connection.execute(
        select(jobs.c.id).where(jobs.c.namespace == namespace, jobs.c.name == name)
    ).scalar()


def _job_type(processing: str | None) -> str:
    return {"STREAMING": "STREAM", "STREAM": "STREAM", "SERVICE": "SERVICE"}.get(
        (processing or "").upper(), "BATCH"
    )


def _io_json(pairs: Iterable[Sequence[str]]) -> list[Json]:
    return [{"namespace": pair[0], "name": pair[1]} for pair in pairs]


def _jobs_json(connection: Connection, rows: Sequence[Any]) -> list[Json]:
    if not rows:
        return []
    job_ids = [row.id for row in rows]
    heads = {
        row.job_id: row
        for row in connection.execute(
            select(job_heads, job_versions.c.version, job_versions.c.inputs, job_versions.c.outputs)
            .outerjoin(job_versions, job_versions.c.id == job_heads.c.current_version_id)
            .where(job_heads.c.job_id.in_(job_ids))
        )
    }
    parent_ids = {head.parent_job_id for head in heads.values() if head.parent_job_id is not None}
    parents = dict(
        connection.execute(select(jobs.c.id, jobs.c.name).where(jobs.c.id.in_(sorted(parent_ids)))).all()
    )
    recent = _recent_runs(connection, job_ids)
    found = []
    for row in rows:
        head = heads.get(row.id)
        latest_runs = recent.get(row.id, [])
        inputs, outputs = _job_io(connection, head, latest_runs)
        found.append(
            {
                "id": {"namespace": row.namespace, "name": row.name},
                "type": _job_type(row.job_type),
                "name": row.name,
                "simpleName": row.name,
                "parentJobName": parents.get(head.parent_job_id) if head is not None else None,
                "parentJobUuid": None,
                "createdAt": iso(row.created_at),
                "updatedAt": iso(row.updated_at),
                "namespace": row.namespace,
                "inputs": inputs,
                "outputs": outputs,
                "location": head.location if head is not None else None,
                "description": row.description,
                "latestRun": latest_runs[0] if latest_runs else None,
                "latestRuns": latest_runs,
                "facets": row.facets or {},
                "currentVersion": head.version if head is not None else None,
                "labels": [],
                "tags": [],
            }
        )
    return found


def _job_io(connection: Connection, head: Any, latest_runs: list[Json]) -> tuple[list[Json], list[Json]]:
    """The current version's inputs and outputs; before any run finished, the latest run's."""
    if head is not None and head.version is not None:
        return _io_json(head.inputs), _io_json(head.outputs)
    if not latest_runs:
        return [], []
    run = latest_runs[0]
    return (
        [_identity(item) for item in run["inputDatasetVersions"]],
        [_identity(item) for item in run["outputDatasetVersions"]],
    )


def _identity(item: Json) -> Json:
    version = item["datasetVersionId"]
    return {"namespace": version["namespace"], "name": version["name"]}


def _recent_runs(connection: Connection, job_ids: list[int]) -> dict[int, list[Json]]:
    ranked = (
        select(
            runs.c.run_uuid,
            func.row_number()
            .over(partition_by=runs.c.job_id, order_by=(runs.c.created_at.desc(), runs.c.run_uuid))
            .label("rank"),
        )
        .where(runs.c.job_id.in_(job_ids))
        .subquery()
    )
    rows = connection.execute(
        _run_query()
        .join(ranked, ranked.c.run_uuid == runs.c.run_uuid)
        .where(ranked.c.rank <= _LATEST_RUNS)
        .order_by(runs.c.job_id, runs.c.created_at.desc(), runs.c.run_uuid)
    ).all()
    by_job: dict[int, list[Json]] = {}
    for row, run in zip(rows, _runs_json(connection, rows), strict=True):
        by_job.setdefault(row.job_id, []).append(run)
    return by_job


def list_jobs(
    connection: Connection, namespace: str | None, last_run_states: Sequence[str], limit: int, offset: int
) -> Json:
    conditions = []
    if namespace is not None:
        conditions.append(jobs.c.namespace == namespace)
    if last_run_states:
        latest_state = (
            select(runs.c.state)
            .join(job_heads, job_heads.c.latest_run_uuid == runs.c.run_uuid)
            .where(job_heads.c.job_id == jobs.c.id)
            .scalar_subquery()
        )
        conditions.append(latest_state.in_([state for state in last_run_states if state in _RUN_STATES]))
    where = and_(*conditions) if conditions else true()
    rows = connection.execute(
        select(jobs).where(where).order_by(jobs.c.namespace, jobs.c.name).limit(limit).offset(offset)
    ).all()
    total = connection.execute(select(func.count()).select_from(jobs).where(where)).scalar_one()
    return {"jobs": _jobs_json(connection, rows), "totalCount": total}


def get_job(connection: Connection, namespace: str, name: str) -> Json | None:
    row = connection.execute(select(jobs).where(jobs.c.namespace == namespace, jobs.c.name == name)).first()
    return _jobs_json(connection, [row])[0] if row is not None else None


def _job_version_json(connection: Connection, namespace: str, name: str, row: Any) -> Json:
    latest = get_run(connection, row.latest_run_uuid) if row.latest_run_uuid else None
    return {
        "id": {"namespace": namespace, "name": name, "version": row.version},
        "version": row.version,
        "name": name,
        "createdAt": iso(row.created_at),
        "updatedAt": iso(row.updated_at),
        "namespace": namespace,
        "inputs": _io_json(row.inputs),
        "outputs": _io_json(row.outputs),
        "location": row.location,
        "latestRun": latest,
        "facets": latest["facets"] if latest else {},
    }


def list_job_versions(
    connection: Connection, namespace: str, name: str, limit: int, offset: int
) -> Json | None:
    job_id = _job_id(connection, namespace, name)
    if job_id is None:
        return None
    rows = connection.execute(
        select(job_versions)
        .where(job_versions.c.job_id == job_id)
        .order_by(job_versions.c.updated_at.desc(), job_versions.c.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return {"versions": [_job_version_json(connection, namespace, name, row) for row in rows]}


def get_job_version(connection: Connection, namespace: str, name: str, version: str) -> Json | None:
    job_id = _job_id(connection, namespace, name)
    if job_id is None:
        return None
    row = connection.execute(
        select(job_versions).where(job_versions.c.job_id == job_id, job_versions.c.version == version)
    ).first()
    return _job_version_json(connection, namespace, name, row) if row is not None else None


# raw events and search -------------------------------------------------------------------------


def list_events(
    connection: Connection, before: datetime, after: datetime, ascending: bool, limit: int, offset: int
) -> Json:
    condition = and_(lineage_events.c.event_time <= before, lineage_events.c.event_time >= after)
    order = (
        (lineage_events.c.event_time.asc(), lineage_events.c.id.asc())
        if ascending
        else (
            lineage_events.c.event_time.desc(),
            lineage_events.c.id.desc(),
        )
    )
    payloads = connection.execute(
        select(lineage_events.c.payload).where(condition).order_by(*order).limit(limit).offset(offset)
    ).scalars()
    total = connection.execute(select(func.count()).select_from(lineage_events).where(condition)).scalar_one()
    return {"events": [orjson.loads(payload) for payload in payloads], "totalCount": total}


def search(
    connection: Connection,
    q: str,
    *,
    kind: Literal["dataset", "job"] | None,
    sort: Literal["name", "updated_at"],
    limit: int,
    namespace: str | None,
    before: datetime | None,
    after: datetime | None,
) -> Json:
    """Datasets and jobs whose name contains ``q`` (case-insensitive), as Marquez's search."""
    pattern = f"%{q.lower()}%"
    parts = []
    for entity, table in (("dataset", datasets), ("job", jobs)):
        if kind is not None and kind != entity:
            continue
        conditions: list[ColumnElement[bool]] = [func.lower(table.c.name).like(pattern, escape="\\")]
        if namespace is not None:
            conditions.append(table.c.namespace == namespace)
        if before is not None:
            conditions.append(table.c.updated_at < before)
        if after is not None:
            conditions.append(table.c.updated_at >= after)
        parts.append(
            select(
                literal(entity.upper()).label("type"),
                table.c.name,
                table.c.namespace,
                table.c.updated_at,
            ).where(and_(*conditions))
        )
    if not parts:
        return {"totalCount": 0, "results": []}
    union = parts[0].union_all(*parts[1:]).subquery() if len(parts) > 1 else parts[0].subquery()
    order = (union.c.name, union.c.namespace) if sort == "name" else (union.c.updated_at.desc(), union.c.name)
    rows = connection.execute(select(union).order_by(*order).limit(limit)).all()
    total = connection.execute(select(func.count()).select_from(union)).scalar_one()
    return {
        "totalCount": total,
        "results": [
            {
                "type": row.type,
                "name": row.name,
                "updatedAt": iso(row.updated_at),
                "namespace": row.namespace,
                "nodeId": f"{row.type.lower()}:{row.namespace}:{row.name}",
            }
            for row in rows
        ],
    }
