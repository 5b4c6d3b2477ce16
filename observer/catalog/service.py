"""Reading and writing the catalog. Every function works on a connection the caller owns, in
batches, so a source can write a whole collection pass or event batch in one transaction."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, or_, select, tuple_, update

from observer.catalog.identity import DatasetRef, JobRef
from observer.catalog.records import (
    Assertion,
    DatasetUpdate,
    MetricPoint,
    SchemaField,
    SchemaObservation,
    SchemaVersion,
)
from observer.catalog.tables import (
    assertions,
    dataset_aliases,
    dataset_updates,
    datasets,
    jobs,
    metric_points,
    schema_versions,
)
from observer.store.upsert import insert_ignoring_conflicts, upsert

_LOOKUP_CHUNK = 5000
"""Names per lookup statement: few statements matter more than short ones (a catalog table without
fresh PostgreSQL statistics is scanned once per statement)."""


def _chunks(items: Sequence[Any], size: int = _LOOKUP_CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def find_dataset_ids(connection: Connection, refs: Iterable[DatasetRef]) -> dict[DatasetRef, int]:
    """Ids of the datasets that exist, through their own identity or a symlinked alias."""
    names_by_namespace: dict[str, list[str]] = {}
    for ref in sorted(set(refs)):
        names_by_namespace.setdefault(ref.namespace, []).append(ref.name)
    found: dict[DatasetRef, int] = {}
    for namespace, names in names_by_namespace.items():
        for chunk in _chunks(names):
            for table in (datasets, dataset_aliases):
                id_column = datasets.c.id if table is datasets else dataset_aliases.c.dataset_id
                rows = connection.execute(
                    select(table.c.name, id_column).where(
                        table.c.namespace == namespace, table.c.name.in_(chunk)
                    )
                )
                for name, dataset_id in rows:
                    found.setdefault(DatasetRef(namespace, name), dataset_id)
    return found


def ensure_datasets(
    connection: Connection, refs: Iterable[DatasetRef], now: datetime
) -> dict[DatasetRef, int]:
    """Ids of ``refs``, creating the datasets that do not exist yet (aliases resolve to their dataset)."""
    wanted = set(refs)
    found = find_dataset_ids(connection, wanted)
    missing = sorted(wanted - found.keys())
    if missing:
        insert_ignoring_conflicts(
            connection,
            datasets,
            [
                {
                    "namespace": ref.namespace,
                    "name": ref.name,
                    "owners": [],
                    "tags": [],
                    "facets": {},
                    "created_at": now,
                    "updated_at": now,
                }
                for ref in missing
            ],
        )
        found.update(find_dataset_ids(connection, missing))
    return found


def add_aliases(
    connection: Connection, dataset_id: int, aliases: Iterable[tuple[DatasetRef, str | None]]
) -> None:
    """Record other identities (symlinks) of a dataset. An alias that already names a dataset of its
    own is folded into this one: its history moves here and the duplicate is removed."""
    for alias, alias_type in aliases:
        duplicate = connection.execute(
            select(datasets.c.id).where(
                datasets.c.namespace == alias.namespace, datasets.c.name == alias.name
            )
        ).scalar_one_or_none()
        if duplicate == dataset_id:
            continue
        if duplicate is not None:
            _merge_dataset(connection, duplicate, into=dataset_id)
        insert_ignoring_conflicts(
            connection,
            dataset_aliases,
            [
                {
                    "namespace": alias.namespace,
                    "name": alias.name,
                    "dataset_id": dataset_id,
                    "alias_type": alias_type,
                }
            ],
        )


def _merge_dataset(connection: Connection, source_id: int, *, into: int) -> None:
    for table in (schema_versions, metric_points, dataset_updates, assertions, dataset_aliases):
        connection.execute(update(table).where(table.c.dataset_id == source_id).values(dataset_id=into))
    connection.execute(datasets.delete().where(datasets.c.id == source_id))


def update_dataset(
    connection: Connection,
    dataset_id: int,
    now: datetime,
    *,
    kind: str | None = None,
    description: str | None = None,
    owners: list[dict[str, Any]] | None = None,
    tags: list[Any] | None = None,
    facets: Mapping[str, Any] | None = None,
    lifecycle_state: str | None = None,
) -> None:
    """Overwrite the given attributes; facets merge by name (a facet with ``_deleted`` is removed)."""
    values: dict[str, Any] = {"updated_at": now}
    for name, value in (
        ("kind", kind),
        ("description", description),
        ("owners", owners),
        ("tags", tags),
        ("lifecycle_state", lifecycle_state),
    ):
        if value is not None:
            values[name] = value
    if facets:
        current = connection.execute(
            select(datasets.c.facets).where(datasets.c.id == dataset_id)
        ).scalar_one()
        merged = dict(current or {})
        for name, facet in facets.items():
            if isinstance(facet, Mapping) and facet.get("_deleted"):
                merged.pop(name, None)
            else:
                merged[name] = facet
        values["facets"] = merged
    connection.execute(update(datasets).where(datasets.c.id == dataset_id).values(**values))


_PLAIN_ATTRIBUTES = frozenset({"kind", "description", "owners", "tags", "lifecycle_state"})


def update_datasets(connection: Connection, changes: Mapping[int, Mapping[str, Any]], now: datetime) -> None:
    """:func:`update_dataset` for many datasets in few statements (``kind``, ``description``,
    ``owners``, ``tags``, ``lifecycle_state``; a None value leaves the attribute as it is)."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for dataset_id, values in changes.items():
        names = tuple(sorted(name for name, value in values.items() if value is not None))
        unknown = set(names) - _PLAIN_ATTRIBUTES
        if unknown:
            raise ValueError(f"update_datasets cannot set {', '.join(sorted(unknown))}")
        groups.setdefault(names, []).append(
            {"b_id": dataset_id, **{f"b_{name}": values[name] for name in names}}
        )
    for names, rows in groups.items():
        statement = (
            update(datasets)
            .where(datasets.c.id == bindparam("b_id"))
            .values(updated_at=now, **{name: bindparam(f"b_{name}") for name in names})
        )
        connection.execute(statement, rows)


def fields_hash(fields: Sequence[SchemaField]) -> str:
    canonical = json.dumps([field.as_json() for field in fields], sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def record_schemas(
    connection: Connection, observations: Sequence[SchemaObservation], now: datetime
) -> list[SchemaVersion]:
    """Store each observation that differs from its source's latest version of the dataset's schema
    (from the dataset's current one when the source has none yet); return the new versions.

    Sources describe the same table in their own words (Spark's ``string`` is the warehouse's
    ``character varying``; only a warehouse knows nullability), so a source is compared with itself:
    two sources observing an unchanged table in turn do not make a new version each time."""
    ids = ensure_datasets(connection, (observation.dataset for observation in observations), now)
    current, latest = _current_hashes(connection, set(ids.values()))
    changed: list[tuple[int, str, SchemaObservation]] = []
    for observation in sorted(observations, key=lambda item: item.observed_at):
        dataset_id = ids[observation.dataset]
        digest = fields_hash(observation.fields)
        if latest.get((dataset_id, observation.source), current.get(dataset_id)) == digest:
            continue
        current[dataset_id] = latest[dataset_id, observation.source] = digest
        changed.append((dataset_id, digest, observation))
    if not changed:
        return []
    version_ids = (
        connection.execute(
            schema_versions.insert().returning(schema_versions.c.id, sort_by_parameter_order=True),
            [
                {
                    "dataset_id": dataset_id,
                    "fields_hash": digest,
                    "fields": [field.as_json() for field in observation.fields],
                    "observed_at": observation.observed_at,
                    "source": observation.source,
                    "run_id": observation.run_id,
                }
                for dataset_id, digest, observation in changed
            ],
        )
        .scalars()
        .all()
    )
    newest = {
        dataset_id: version_id for (dataset_id, _, _), version_id in zip(changed, version_ids, strict=True)
    }
    connection.execute(
        update(datasets)
        .where(datasets.c.id == bindparam("b_id"))
        .values(current_schema_version_id=bindparam("b_version")),
        [{"b_id": dataset_id, "b_version": version_id} for dataset_id, version_id in newest.items()],
    )
    return [
        SchemaVersion(
            version_id,
            dataset_id,
            observation.fields,
            observation.observed_at,
            observation.source,
            observation.run_id,
        )
        for (dataset_id, _, observation), version_id in zip(changed, version_ids, strict=True)
    ]


def _current_hashes(
    connection: Connection, dataset_ids: set[int]
) -> tuple[dict[int, str], dict[tuple[int, str], str]]:
    """The hash of each dataset's current schema version, and of each source's latest version."""
    current: dict[int, str] = {}
    latest: dict[tuple[int, str], str] = {}
    for chunk in _chunks(sorted(dataset_ids)):
        rows = connection.execute(
            select(datasets.c.id, schema_versions.c.fields_hash)
            .join(schema_versions, schema_versions.c.id == datasets.c.current_schema_version_id)
            .where(datasets.c.id.in_(chunk))
        )
        current.update({dataset_id: digest for dataset_id, digest in rows})
        newest_per_source = (
            select(func.max(schema_versions.c.id))
            .where(schema_versions.c.dataset_id.in_(chunk))
            .group_by(schema_versions.c.dataset_id, schema_versions.c.source)
        )
        newest = connection.execute(
            select(
                schema_versions.c.dataset_id, schema_versions.c.source, schema_versions.c.fields_hash
            ).where(schema_versions.c.id.in_(newest_per_source))
        )
        latest.update({(dataset_id, source): digest for dataset_id, source, digest in newest})
    return current, latest


def record_metrics(
    connection: Connection, points: Sequence[MetricPoint], now: datetime, *, replace: bool = False
) -> None:
    """Append metric points; a point already stored (same series, time and source) is kept as it was,
    or with ``replace`` overwritten (a re-measured bucket: rows per day while the day fills up)."""
    ids = ensure_datasets(connection, (point.dataset for point in points), now)
    rows = [
        {
            "dataset_id": ids[point.dataset],
            "column_name": point.column,
            "metric": point.metric,
            "measured_at": point.measured_at,
            "value": point.value,
            "source": point.source,
            "run_id": point.run_id,
        }
        for point in points
    ]
    if replace:
        keys = ["dataset_id", "column_name", "metric", "measured_at", "source"]
        upsert(connection, metric_points, rows, keys=keys, update=["value", "run_id"])
    else:
        insert_ignoring_conflicts(connection, metric_points, rows)


def record_updates(connection: Connection, updates: Sequence[DatasetUpdate], now: datetime) -> None:
    """Append observed writes and move each dataset's ``last_updated_at`` forward."""
    ids = ensure_datasets(connection, (item.dataset for item in updates), now)
    insert_ignoring_conflicts(
        connection,
        dataset_updates,
        [
            {
                "dataset_id": ids[item.dataset],
                "updated_at": item.updated_at,
                "source": item.source,
                "run_id": item.run_id,
            }
            for item in updates
        ],
    )
    newest: dict[int, datetime] = {}
    for item in updates:
        dataset_id = ids[item.dataset]
        newest[dataset_id] = max(item.updated_at, newest.get(dataset_id, item.updated_at))
    for dataset_id, moment in newest.items():
        connection.execute(
            update(datasets)
            .where(
                datasets.c.id == dataset_id,
                or_(datasets.c.last_updated_at.is_(None), datasets.c.last_updated_at < moment),
            )
            .values(last_updated_at=moment)
        )


def record_assertions(connection: Connection, items: Sequence[Assertion], now: datetime) -> None:
    ids = ensure_datasets(connection, (item.dataset for item in items), now)
    if not items:
        return
    connection.execute(
        assertions.insert(),
        [
            {
                "dataset_id": ids[item.dataset],
                "column_name": item.column,
                "name": item.name,
                "success": item.success,
                "observed_at": item.observed_at,
                "severity": item.severity,
                "details": item.details,
                "source": item.source,
                "run_id": item.run_id,
            }
            for item in items
        ],
    )


def ensure_jobs(connection: Connection, refs: Iterable[JobRef], now: datetime) -> dict[JobRef, int]:
    wanted = sorted(set(refs))
    if not wanted:
        return {}
    insert_ignoring_conflicts(
        connection,
        jobs,
        [
            {
                "namespace": ref.namespace,
                "name": ref.name,
                "owners": [],
                "facets": {},
                "created_at": now,
                "updated_at": now,
            }
            for ref in wanted
        ],
    )
    found: dict[JobRef, int] = {}
    for chunk in _chunks(wanted):
        rows = connection.execute(
            select(jobs.c.namespace, jobs.c.name, jobs.c.id).where(
                tuple_(jobs.c.namespace, jobs.c.name).in_([(ref.namespace, ref.name) for ref in chunk])
            )
        )
        found.update({JobRef(namespace, name): job_id for namespace, name, job_id in rows})
    return found


def update_job(
    connection: Connection,
    job_id: int,
    now: datetime,
    *,
    job_type: str | None = None,
    description: str | None = None,
    owners: list[dict[str, Any]] | None = None,
    facets: Mapping[str, Any] | None = None,
) -> None:
    """Overwrite the given attributes of a job; facets merge by name (as :func:`update_dataset`)."""
    values: dict[str, Any] = {"updated_at": now}
    for name, value in (("job_type", job_type), ("description", description), ("owners", owners)):
        if value is not None:
            values[name] = value
    if facets:
        current = connection.execute(select(jobs.c.facets).where(jobs.c.id == job_id)).scalar_one()
        values["facets"] = {**(current or {}), **facets}
    connection.execute(update(jobs).where(jobs.c.id == job_id).values(**values))


# Readers --------------------------------------------------------------------------------------


def metric_series(
    connection: Connection,
    dataset_id: int,
    metric: str,
    *,
    column: str = "",
    since: datetime | None = None,
) -> list[tuple[datetime, float]]:
    """One metric's points, oldest first (several sources at one time: the newest row wins)."""
    conditions = [
        metric_points.c.dataset_id == dataset_id,
        metric_points.c.metric == metric,
        metric_points.c.column_name == column,
    ]
    if since is not None:
        conditions.append(metric_points.c.measured_at >= since)
    rows = connection.execute(
        select(metric_points.c.measured_at, metric_points.c.value)
        .where(and_(*conditions))
        .order_by(metric_points.c.measured_at, metric_points.c.id)
    )
    series: dict[datetime, float] = {}
    for measured_at, value in rows:
        series[measured_at] = value
    return list(series.items())


def update_history(
    connection: Connection, dataset_id: int, *, since: datetime | None = None
) -> list[datetime]:
    """Distinct observed write times of a dataset, oldest first."""
    query = select(dataset_updates.c.updated_at).where(dataset_updates.c.dataset_id == dataset_id)
    if since is not None:
        query = query.where(dataset_updates.c.updated_at >= since)
    return sorted({row[0] for row in connection.execute(query)})


def schema_history(connection: Connection, dataset_id: int) -> list[SchemaVersion]:
    rows = connection.execute(
        select(schema_versions)
        .where(schema_versions.c.dataset_id == dataset_id)
        .order_by(schema_versions.c.id)
    ).mappings()
    return [
        SchemaVersion(
            row["id"],
            row["dataset_id"],
            tuple(SchemaField(**field) for field in row["fields"]),
            row["observed_at"],
            row["source"],
            row["run_id"],
        )
        for row in rows
    ]


def dataset_refs(connection: Connection, dataset_ids: Iterable[int]) -> dict[int, DatasetRef]:
    found: dict[int, DatasetRef] = {}
    for chunk in _chunks(sorted(set(dataset_ids))):
        rows = connection.execute(
            select(datasets.c.id, datasets.c.namespace, datasets.c.name).where(datasets.c.id.in_(chunk))
        )
        found.update({dataset_id: DatasetRef(namespace, name) for dataset_id, namespace, name in rows})
    return found


def owners_of(connection: Connection, refs: Iterable[DatasetRef]) -> dict[DatasetRef, list[str]]:
    """Owner names recorded for each dataset (``ownership`` facets, dbt ``meta``), alias-aware."""
    ids = find_dataset_ids(connection, refs)
    owners: dict[DatasetRef, list[str]] = {}
    by_id: dict[int, list[str]] = {}
    for chunk in _chunks(sorted(set(ids.values()))):
        rows = connection.execute(select(datasets.c.id, datasets.c.owners).where(datasets.c.id.in_(chunk)))
        by_id.update(
            {
                dataset_id: [owner["name"] for owner in value or [] if "name" in owner]
                for dataset_id, value in rows
            }
        )
    for ref, dataset_id in ids.items():
        owners[ref] = by_id.get(dataset_id, [])
    return owners


def dataset_count(connection: Connection) -> int:
    return int(connection.execute(select(func.count()).select_from(datasets)).scalar_one())
