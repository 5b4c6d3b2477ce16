"""Reads the web UI needs beyond the Marquez-compatible API (``/api/v1/ui/...``).

* ``overview``: counts, datasets that need attention, recently updated datasets;
* ``status``: the datasets with a problem (open incidents, the checks failing in them, stale), for
  badges on the lineage graph;
* ``columns``: search over the current schemas' column names;
* ``dataset``: one dataset's health: freshness against its learned rhythm, volume against the
  detector's expected band, schema history with what changed, open incidents, recent tests;
* ``series``: one metric of a dataset with the expected band and the anomalies.

Bands and anomalies come from the same pure detectors and check rules the live checks use
(``detectors.series.judge``, ``detectors.freshness.freshness_status``, ``observer.checks.rules``),
so the charts show what the checks judge. Stale means an open freshness check in an incident, or
(on the dataset page) that the detector finds the table overdue right now.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import Connection, String, cast, func, select

from api.auth import require
from api.errors import ApiError
from detectors.freshness import Rhythm, freshness_status
from detectors.series import SeriesInput, infer_metric_kind, judge
from detectors.settings import MetricKind, SeriesSettings
from observer.catalog.identity import DatasetRef
from observer.catalog.records import SchemaVersion
from observer.catalog.service import find_dataset_ids, metric_series, schema_history, update_history
from observer.catalog.tables import (
    assertions,
    dataset_aliases,
    datasets,
    jobs,
    metric_points,
    schema_versions,
)
from observer.checks.rules import CheckRules
from observer.incidents.tables import incident_checks, incidents
from observer.runtime import Runtime

router = APIRouter(prefix="/api/v1/ui", tags=["ui"], dependencies=[Depends(require("read"))])

UNRESOLVED = ("open", "acknowledged", "muted")
SERIES_SPAN = timedelta(days=120)
FRESHNESS_SPAN = timedelta(days=35)
COUNT_METRICS = {"row_count", "rows_written", "rows", "null_count", "distinct_count", "bytes", "file_count"}
MAX_UPDATES_SHOWN = 400


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


# ---- problems: open incidents and stale datasets ------------------------------------------------


def _problems(connection: Connection, only: DatasetRef | None = None) -> dict[DatasetRef, dict[str, Any]]:
    """Datasets that take part in an unresolved incident, with the incidents and freshness state."""
    query = (
        select(
            incident_checks.c.namespace,
            incident_checks.c.name,
            incident_checks.c.check_kind,
            incident_checks.c.cleared_at,
            incidents.c.id,
            incidents.c.title,
            incidents.c.severity,
            incidents.c.state,
        )
        .join(incidents, incidents.c.id == incident_checks.c.incident_id)
        .where(incidents.c.state.in_(UNRESOLVED))
        .order_by(incidents.c.id.desc())
    )
    if only is not None:
        query = query.where(
            incident_checks.c.namespace == only.namespace, incident_checks.c.name == only.name
        )
    problems: dict[DatasetRef, dict[str, Any]] = {}
    for namespace, name, kind, cleared_at, incident_id, title, severity, state in connection.execute(query):
        entry = problems.setdefault(
            DatasetRef(namespace, name), {"freshness": None, "failing": [], "openIncidents": []}
        )
        if not any(item["id"] == incident_id for item in entry["openIncidents"]):
            entry["openIncidents"].append(
                {"id": incident_id, "title": title, "severity": severity, "state": state}
            )
        if cleared_at is None and kind not in entry["failing"]:
            entry["failing"].append(kind)
        if kind == "freshness" and cleared_at is None:
            entry["freshness"] = "late"
    return problems


def _last_updates(connection: Connection, refs: Sequence[DatasetRef]) -> dict[DatasetRef, datetime | None]:
    ids = find_dataset_ids(connection, refs)
    if not ids:
        return {}
    rows = connection.execute(
        select(datasets.c.id, datasets.c.last_updated_at).where(datasets.c.id.in_(list(set(ids.values()))))
    )
    by_id: dict[int, datetime | None] = {dataset_id: last for dataset_id, last in rows}
    return {ref: by_id.get(dataset_id) for ref, dataset_id in ids.items()}


@router.get("/status", summary="Datasets with open incidents or stale, keyed by node id")
def status(request: Request) -> dict[str, Any]:
    with _runtime(request).store.engine.connect() as connection:
        problems = _problems(connection)
        updated = _last_updates(connection, list(problems))
    return {
        "datasets": {
            ref.node_id: {**entry, "lastUpdatedAt": _iso(updated.get(ref))} for ref, entry in problems.items()
        }
    }


@router.get("/overview", summary="Counts, datasets needing attention and recently updated datasets")
def overview(request: Request, limit: int = Query(8, ge=1, le=50)) -> dict[str, Any]:
    with _runtime(request).store.engine.connect() as connection:
        problems = _problems(connection)
        updated = _last_updates(connection, list(problems))
        dataset_count = connection.execute(select(func.count()).select_from(datasets)).scalar_one()
        job_count = connection.execute(select(func.count()).select_from(jobs)).scalar_one()
        open_count = connection.execute(
            select(func.count()).select_from(incidents).where(incidents.c.state.in_(UNRESOLVED))
        ).scalar_one()
        recent = connection.execute(
            select(datasets.c.namespace, datasets.c.name, datasets.c.last_updated_at)
            .where(datasets.c.last_updated_at.is_not(None))
            .order_by(datasets.c.last_updated_at.desc(), datasets.c.id)
            .limit(limit)
        ).all()

    def entry(ref: DatasetRef, last: datetime | None, problem: dict[str, Any] | None) -> dict[str, Any]:
        return {
            "namespace": ref.namespace,
            "name": ref.name,
            "nodeId": ref.node_id,
            "lastUpdatedAt": _iso(last),
            "freshness": (problem or {}).get("freshness"),
            "failing": (problem or {}).get("failing", []),
            "openIncidents": (problem or {}).get("openIncidents", []),
        }

    attention = sorted(
        problems.items(),
        key=lambda item: (-len(item[1]["openIncidents"]), item[1]["freshness"] != "late", item[0]),
    )
    return {
        "counts": {
            "datasets": dataset_count,
            "jobs": job_count,
            "openIncidents": open_count,
            "stale": sum(1 for problem in problems.values() if problem["freshness"] == "late"),
        },
        "attention": [entry(ref, updated.get(ref), problem) for ref, problem in attention[: limit * 2]],
        "recentlyUpdated": [
            entry(DatasetRef(namespace, name), last, problems.get(DatasetRef(namespace, name)))
            for namespace, name, last in recent
        ],
    }


# ---- column search ------------------------------------------------------------------------------


@router.get("/columns", summary="Columns of the current schemas whose name contains q")
def columns(
    request: Request,
    q: str = Query(..., min_length=1, max_length=200),
    limit: int = Query(20, ge=1, le=200),
) -> dict[str, Any]:
    needle = q.strip().lower()
    pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    with _runtime(request).store.engine.connect() as connection:
        rows = connection.execute(
            select(datasets.c.namespace, datasets.c.name, schema_versions.c.fields)
            .join(schema_versions, schema_versions.c.id == datasets.c.current_schema_version_id)
            .where(func.lower(cast(schema_versions.c.fields, String)).like(pattern, escape="\\"))
            .order_by(datasets.c.name, datasets.c.namespace)
        )
        found = []
        for namespace, name, fields in rows:
            for field in fields or []:
                field_name = str(field.get("name", ""))
                position = field_name.lower().find(needle)
                if position < 0:
                    continue
                rank = 0 if field_name.lower() == needle else 1 if position == 0 else 2
                found.append((rank, len(field_name), name, namespace, field_name, field.get("type")))
    found.sort()
    results = [
        {
            "namespace": namespace,
            "dataset": name,
            "field": field_name,
            "type": field_type,
            "nodeId": DatasetRef(namespace, name).field_node_id(field_name),
        }
        for _rank, _length, name, namespace, field_name, field_type in found[:limit]
    ]
    return {"totalCount": len(found), "results": results}


# ---- one dataset --------------------------------------------------------------------------------


def _dataset_id(connection: Connection, ref: DatasetRef) -> int:
    dataset_id = find_dataset_ids(connection, [ref]).get(ref)
    if dataset_id is None:
        raise ApiError(404, f"no dataset {ref.name!r} in namespace {ref.namespace!r}")
    return dataset_id


def _schema_versions(history: list[SchemaVersion]) -> list[dict[str, Any]]:
    """Newest first, each with what changed against the version before it."""
    versions = []
    previous: dict[str, str | None] = {}
    for version in history:
        current = {field.name: field.type for field in version.fields}
        versions.append(
            {
                "id": version.id,
                "observedAt": version.observed_at.isoformat(),
                "source": version.source,
                "runId": version.run_id,
                "fields": [field.as_json() for field in version.fields],
                "added": [name for name in current if name not in previous],
                "removed": [name for name in previous if name not in current],
                "changed": [
                    {"name": name, "from": previous[name], "to": kind}
                    for name, kind in current.items()
                    if name in previous and previous[name] != kind
                ],
            }
        )
        previous = current
    return versions[::-1]


def _series_settings(metric: str, values: pd.Series, volume: SeriesSettings | None) -> SeriesSettings:
    base = volume or SeriesSettings()
    if metric in COUNT_METRICS:
        return base.with_kind(MetricKind.COUNT)
    return base.with_kind(infer_metric_kind(values.to_numpy(dtype=float)))


def judged_points(
    points: list[tuple[datetime, float]], metric: str, volume: SeriesSettings | None
) -> list[dict[str, Any]]:
    """Each point (last value per hour, as the volume check sees it) with the walk-forward expected
    band and whether the detector calls it an anomaly; points it cannot judge yet have null bounds."""
    if not points:
        return []
    index = pd.DatetimeIndex([moment for moment, _ in points])
    values = pd.Series([value for _, value in points], index=index, dtype=float)
    hourly = values.groupby(index.floor("h")).last()
    try:
        judgement = judge(
            [SeriesInput(key=metric, values=hourly, settings=_series_settings(metric, hourly, volume))]
        )[0]
    except ValueError:  # too irregular to place on a grid: show the points without a band
        return [
            {"t": moment.isoformat(), "value": float(value)}
            | {"expected": None, "lower": None, "upper": None, "anomaly": False}
            for moment, value in zip(hourly.index, hourly.to_numpy(), strict=True)
        ]
    return [
        {
            "t": moment.isoformat(),
            "value": float(judgement.values[i]),
            "expected": _number(judgement.expected[i]),
            "lower": _number(judgement.lower[i]),
            "upper": _number(judgement.upper[i]),
            "anomaly": bool(judgement.anomaly[i]),
        }
        for i, moment in enumerate(judgement.timestamps)
    ]


def _series(
    connection: Connection,
    dataset_id: int,
    metric: str,
    column: str,
    now: datetime,
    rules: CheckRules,
    ref: DatasetRef,
) -> dict[str, Any]:
    points = metric_series(connection, dataset_id, metric, column=column, since=now - SERIES_SPAN)
    return {
        "metric": metric,
        "column": column,
        "points": judged_points(points, metric, rules.for_dataset(ref).volume),
    }


def _available_metrics(connection: Connection, dataset_id: int) -> list[dict[str, Any]]:
    rows = connection.execute(
        select(metric_points.c.metric, metric_points.c.column_name, func.count())
        .where(metric_points.c.dataset_id == dataset_id)
        .group_by(metric_points.c.metric, metric_points.c.column_name)
        .order_by(metric_points.c.column_name, metric_points.c.metric)
    )
    return [{"metric": metric, "column": column, "points": count} for metric, column, count in rows]


def _freshness(
    updates: list[datetime], now: datetime, rules: CheckRules, ref: DatasetRef, stale: bool
) -> dict[str, Any]:
    settings = rules.for_dataset(ref).freshness
    judged = freshness_status(updates, now, settings) if settings is not None and updates else None
    expected_gap = None
    if judged and judged.due_by and judged.last_update and judged.model:
        model = judged.model
        typical = model.period if model.rhythm is Rhythm.SCHEDULED else 0
        expected_gap = {
            "lower": typical / 1e9 if typical else None,
            "upper": (judged.due_by - judged.last_update).total_seconds(),
        }
    overdue = bool(judged and judged.overdue)
    return {
        "state": "late" if stale or overdue else "fresh" if updates else "unknown",
        "checked": settings is not None,
        "checkedAt": now.isoformat(),
        "lastUpdatedAt": _iso(updates[-1] if updates else None),
        "expectedBy": _iso(judged.due_by if judged else None),
        "rhythm": judged.model.describe() if judged and judged.model else None,
        "expectedGap": expected_gap,
        "updates": [moment.isoformat() for moment in updates[-MAX_UPDATES_SHOWN:]],
    }


@router.get("/dataset", summary="One dataset's health: freshness, volume, schema history, incidents")
def dataset(
    request: Request,
    namespace: str = Query(..., min_length=1),
    name: str = Query(..., min_length=1),
) -> dict[str, Any]:
    runtime = _runtime(request)
    now = runtime.clock.now()
    rules = CheckRules(runtime.settings.checks)
    with runtime.store.engine.connect() as connection:
        dataset_id = _dataset_id(connection, DatasetRef(namespace, name))
        row = connection.execute(select(datasets).where(datasets.c.id == dataset_id)).mappings().one()
        ref = DatasetRef(row["namespace"], row["name"])
        aliases = connection.execute(
            select(dataset_aliases.c.namespace, dataset_aliases.c.name, dataset_aliases.c.alias_type).where(
                dataset_aliases.c.dataset_id == dataset_id
            )
        ).all()
        versions = _schema_versions(schema_history(connection, dataset_id))
        metrics = _available_metrics(connection, dataset_id)
        table_metrics = [item["metric"] for item in metrics if item["column"] == ""]
        volume_metric = "row_count" if "row_count" in table_metrics else next(iter(table_metrics), None)
        volume = (
            _series(connection, dataset_id, volume_metric, "", now, rules, ref) if volume_metric else None
        )
        problem = _problems_of(connection, ref)
        updates = update_history(connection, dataset_id, since=now - FRESHNESS_SPAN)
        tests = connection.execute(
            select(assertions)
            .where(assertions.c.dataset_id == dataset_id)
            .order_by(assertions.c.observed_at.desc(), assertions.c.id.desc())
            .limit(20)
        ).mappings()
        recent_tests = [
            {
                "name": test["name"],
                "column": test["column_name"] or None,
                "success": test["success"],
                "severity": test["severity"],
                "observedAt": test["observed_at"].isoformat(),
            }
            for test in tests
        ]
    return {
        "dataset": {
            "nodeId": ref.node_id,
            "namespace": ref.namespace,
            "name": ref.name,
            "kind": row["kind"],
            "description": row["description"],
            "owners": row["owners"] or [],
            "tags": row["tags"] or [],
            "createdAt": _iso(row["created_at"]),
            "updatedAt": _iso(row["updated_at"]),
            "lastUpdatedAt": _iso(row["last_updated_at"]),
            "lifecycleState": row["lifecycle_state"],
        },
        "aliases": [{"namespace": ns, "name": alias, "type": kind} for ns, alias, kind in aliases],
        "schema": {"current": versions[0]["fields"] if versions else [], "versions": versions},
        "metrics": metrics,
        "volume": volume,
        "freshness": _freshness(updates, now, rules, ref, problem["freshness"] == "late"),
        "incidents": problem["openIncidents"],
        "failing": problem["failing"],
        "assertions": recent_tests,
    }


def _problems_of(connection: Connection, ref: DatasetRef) -> dict[str, Any]:
    return _problems(connection, ref).get(ref, {"freshness": None, "failing": [], "openIncidents": []})


@router.get("/series", summary="One metric of a dataset with its expected band and anomalies")
def series(
    request: Request,
    namespace: str = Query(..., min_length=1),
    name: str = Query(..., min_length=1),
    metric: str = Query(..., min_length=1),
    column: str = Query(""),
) -> dict[str, Any]:
    runtime = _runtime(request)
    with runtime.store.engine.connect() as connection:
        ref = DatasetRef(namespace, name)
        dataset_id = _dataset_id(connection, ref)
        return _series(
            connection,
            dataset_id,
            metric,
            column,
            runtime.clock.now(),
            CheckRules(runtime.settings.checks),
            ref,
        )
