"""The schema check: breaking changes between the schema versions the catalog recorded.

A dataset whose schema changed in ``(since, now]`` is judged by comparing its schema as of ``since``
(or its first recorded one, for a dataset first seen since then) with its newest one: each dropped,
renamed or narrowed column is a finding, raised to critical when the lineage graph shows a direct
downstream use. A schema change is an event, not a state, so nothing clears it: its incident stays
open until someone resolves it. ``observer check`` looks back over a window; the server's check loop
looks back to its previous pass, so each change is reported once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from detectors.schema import detect_schema
from observer.catalog import service as catalog
from observer.catalog.identity import DatasetRef
from observer.catalog.records import SchemaField, SchemaVersion
from observer.catalog.tables import schema_versions
from observer.checks.results import CheckResult, Status
from observer.incidents.lineage import LineageView


def breaking_changes(
    connection: Connection,
    lineage: LineageView,
    since: datetime,
    now: datetime,
    *,
    include: Callable[[DatasetRef], bool] = lambda ref: True,
) -> list[CheckResult]:
    """A PROBLEM result per breaking change of the included datasets' schemas in ``(since, now]``."""
    changed = connection.execute(
        select(schema_versions.c.dataset_id)
        .where(schema_versions.c.observed_at > since, schema_versions.c.observed_at <= now)
        .distinct()
    ).scalars()
    refs = catalog.dataset_refs(connection, changed)
    results = []
    for dataset_id, ref in sorted(refs.items(), key=lambda item: item[1]):
        if not include(ref):
            continue
        history = [
            version
            for version in catalog.schema_history(connection, dataset_id)
            if version.observed_at <= now
        ]
        reported: set[tuple[Any, ...]] = set()
        for old, new, changed_at in _changes_per_source(history, since):
            used = _used_directly(lineage, ref, [name for name in old if name not in new])
            for finding in detect_schema(old, new, key=ref.name, at=changed_at, used_downstream=used):
                seen = tuple(finding.details.get(name) for name in ("change", "column", "new_name"))
                if finding.direction == "breaking" and seen not in reported:
                    reported.add(seen)
                    results.append(
                        CheckResult("schema", ref, Status.PROBLEM, now, finding.explanation, finding=finding)
                    )
    return results


def _changes_per_source(
    history: Sequence[SchemaVersion], since: datetime
) -> list[tuple[dict[str, str], dict[str, str], datetime]]:
    """``(old columns, new columns, when they changed)`` for each source that recorded a version
    after ``since``. A source is compared with its own earlier versions (sources spell types their
    own way); a source's first versions are compared with what the dataset looked like before them."""
    compared = []
    for source in dict.fromkeys(version.source for version in history if version.observed_at > since):
        own = [version for version in history if version.source == source]
        recent = [version for version in own if version.observed_at > since]
        before = [version for version in own if version.observed_at <= since] or [
            version for version in history if version.observed_at < recent[0].observed_at
        ]
        baseline = before[-1] if before else recent[0]
        old, new = _columns(baseline.fields), _columns(recent[-1].fields)
        changed_at = next(
            (version.observed_at for version in recent if _columns(version.fields) != old), None
        )
        if changed_at is not None:
            compared.append((old, new, changed_at))
    return compared


def _used_directly(lineage: LineageView, ref: DatasetRef, columns: Sequence[str]) -> list[str]:
    used = []
    for column in columns:
        downstream = lineage.downstream(ref, depth=20, columns=[column])
        if any(node.kind == "column" and node.direct for node in downstream):
            used.append(column)
    return used


def _columns(fields: Sequence[SchemaField]) -> dict[str, str]:
    return {field.name: field.type or "" for field in fields}
