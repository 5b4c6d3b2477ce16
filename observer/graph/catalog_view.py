"""What the graph reads from the catalog: owners for impact analysis, attributes for Marquez shapes.

Graph nodes carry canonical identities already, so these look datasets up by their own
(namespace, name) with one indexed ``namespace = … AND name IN (…)`` query per namespace chunk.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, Table, select

from observer.catalog.identity import DatasetRef, JobRef
from observer.catalog.tables import datasets, jobs, schema_versions
from observer.graph.reader import chunked

_CHUNK = 400
Ref = TypeVar("Ref", DatasetRef, JobRef)


def _by_identity(
    connection: Connection, table: Table, refs: Iterable[Ref], columns: Sequence[Any], make: type[Ref]
) -> dict[Ref, Any]:
    by_namespace: dict[str, set[str]] = {}
    for ref in refs:
        by_namespace.setdefault(ref.namespace, set()).add(ref.name)
    found: dict[Ref, Any] = {}
    for namespace, names in by_namespace.items():
        for chunk in chunked(sorted(names), _CHUNK):
            rows = connection.execute(
                select(table.c.name, *columns).where(table.c.namespace == namespace, table.c.name.in_(chunk))
            )
            for row in rows:
                found[make(namespace, row[0])] = row
    return found


def _owner_names(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = json.loads(value)
    return tuple(owner["name"] for owner in value or [] if isinstance(owner, dict) and "name" in owner)


def _owners(
    connection: Connection, table: str, refs: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], tuple[str, ...]]:
    """Owner names by (namespace, name): plain SQL on the driver, impact analysis asks for thousands."""
    mark = "%s" if connection.dialect.name == "postgresql" else "?"
    by_namespace: dict[str, set[str]] = {}
    for namespace, name in refs:
        by_namespace.setdefault(namespace, set()).add(name)
    found: dict[tuple[str, str], tuple[str, ...]] = {}
    cursor = connection.connection.cursor()
    try:
        for namespace, names in by_namespace.items():
            for chunk in chunked(sorted(names), 900):
                cursor.execute(
                    f"SELECT name, owners FROM {table} WHERE namespace = {mark} "
                    f"AND name IN ({', '.join([mark] * len(chunk))})",
                    [namespace, *chunk],
                )
                for name, owners in cursor.fetchall():
                    found[(namespace, name)] = _owner_names(owners)
    finally:
        cursor.close()
    return found


def dataset_owners(connection: Connection, refs: Iterable[DatasetRef]) -> dict[DatasetRef, tuple[str, ...]]:
    found = _owners(connection, "datasets", ((ref.namespace, ref.name) for ref in refs))
    return {DatasetRef(*pair): owners for pair, owners in found.items()}


def job_owners(connection: Connection, refs: Iterable[JobRef]) -> dict[JobRef, tuple[str, ...]]:
    found = _owners(connection, "jobs", ((ref.namespace, ref.name) for ref in refs))
    return {JobRef(*pair): owners for pair, owners in found.items()}


@dataclass(frozen=True)
class DatasetDetails:
    kind: str | None
    description: str | None
    tags: list[Any]
    fields: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime
    last_modified_at: datetime | None
    lifecycle_state: str | None


@dataclass(frozen=True)
class JobDetails:
    job_type: str | None
    description: str | None
    created_at: datetime
    updated_at: datetime


def dataset_details(connection: Connection, refs: Iterable[DatasetRef]) -> dict[DatasetRef, DatasetDetails]:
    columns = [
        datasets.c.kind,
        datasets.c.description,
        datasets.c.tags,
        datasets.c.created_at,
        datasets.c.updated_at,
        datasets.c.last_updated_at,
        datasets.c.lifecycle_state,
        datasets.c.current_schema_version_id,
    ]
    rows = _by_identity(connection, datasets, refs, columns, DatasetRef)
    version_ids = sorted({row[8] for row in rows.values() if row[8] is not None})
    fields: dict[int, list[dict[str, Any]]] = {}
    for chunk in chunked(version_ids, _CHUNK):
        query = select(schema_versions.c.id, schema_versions.c.fields).where(schema_versions.c.id.in_(chunk))
        fields.update({version: value or [] for version, value in connection.execute(query)})
    return {
        ref: DatasetDetails(
            kind=row[1],
            description=row[2],
            tags=list(row[3] or []),
            fields=fields.get(row[8], []) if row[8] is not None else [],
            created_at=row[4],
            updated_at=row[5],
            last_modified_at=row[6],
            lifecycle_state=row[7],
        )
        for ref, row in rows.items()
    }


def job_details(connection: Connection, refs: Iterable[JobRef]) -> dict[JobRef, JobDetails]:
    columns = [jobs.c.job_type, jobs.c.description, jobs.c.created_at, jobs.c.updated_at]
    rows = _by_identity(connection, jobs, refs, columns, JobRef)
    return {ref: JobDetails(row[1], row[2], row[3], row[4]) for ref, row in rows.items()}
