"""Retention: raw events and run history older than the configured ages are deleted in small batches.

Raw events are only deleted once both the projection and the graph have passed them, so retention
never loses an event that was not projected. A dataset keeps its newest version and a job its
current version, whatever their age. ``dry_run`` counts what would go without deleting anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, Table, and_, func, or_, select

from observer.clock import Clock
from observer.config.settings import IngestSettings
from observer.ingest.log import GRAPH_CURSOR, PROJECTION_CURSOR, read_cursor
from observer.ingest.tables import dataset_versions, job_heads, job_versions, lineage_events, runs
from observer.store import Store

_BATCH = 1000


@dataclass(frozen=True)
class RetentionReport:
    dry_run: bool
    events_before: datetime | None
    runs_before: datetime | None
    events: int = 0
    runs: int = 0
    dataset_versions: int = 0
    job_versions: int = 0

    def lines(self) -> list[str]:
        verb = "would delete" if self.dry_run else "deleted"
        found = []
        if self.events_before is not None:
            found.append(f"{verb} {self.events} raw events older than {self.events_before.isoformat()}")
        if self.runs_before is not None:
            found.append(
                f"{verb} {self.runs} runs, {self.dataset_versions} dataset versions and {self.job_versions} "
                f"job versions older than {self.runs_before.isoformat()}"
            )
        return found or ["no retention configured (ingest.retention_events, ingest.retention_runs)"]


def apply_retention(
    store: Store, clock: Clock, settings: IngestSettings, *, dry_run: bool = False
) -> RetentionReport:
    now = clock.now()
    events_before = _cutoff(now, settings.retention_events)
    runs_before = _cutoff(now, settings.retention_runs)
    counts = {"events": 0, "runs": 0, "dataset_versions": 0, "job_versions": 0}
    if events_before is not None:
        with store.engine.connect() as connection:
            projected = min(read_cursor(connection, PROJECTION_CURSOR), read_cursor(connection, GRAPH_CURSOR))
        condition = and_(lineage_events.c.event_time < events_before, lineage_events.c.id <= projected)
        counts["events"] = _delete(store, lineage_events, lineage_events.c.id, condition, dry_run)
    if runs_before is not None:
        counts["runs"] = _delete(store, runs, runs.c.run_uuid, runs.c.updated_at < runs_before, dry_run)
        newest = (
            select(func.max(dataset_versions.c.id)).group_by(dataset_versions.c.dataset_id).scalar_subquery()
        )
        counts["dataset_versions"] = _delete(
            store,
            dataset_versions,
            dataset_versions.c.id,
            and_(dataset_versions.c.created_at < runs_before, dataset_versions.c.id.not_in(newest)),
            dry_run,
        )
        current = select(job_heads.c.current_version_id).where(job_heads.c.current_version_id.is_not(None))
        counts["job_versions"] = _delete(
            store,
            job_versions,
            job_versions.c.id,
            and_(
                job_versions.c.updated_at < runs_before,
                or_(job_versions.c.id.not_in(current.scalar_subquery())),
            ),
            dry_run,
        )
    return RetentionReport(dry_run, events_before, runs_before, **counts)


def _cutoff(now: datetime, age: timedelta | None) -> datetime | None:
    return now - age if age is not None else None


def _delete(
    store: Store, table: Table, key: ColumnElement[object], condition: ColumnElement[bool], dry_run: bool
) -> int:
    if dry_run:
        with store.engine.connect() as connection:
            return int(
                connection.execute(select(func.count()).select_from(table).where(condition)).scalar_one()
            )
    total = 0
    while True:
        with store.engine.begin() as connection:
            batch = _keys(connection, select(key).where(condition).limit(_BATCH))
            if not batch:
                return total
            connection.execute(table.delete().where(key.in_(batch)))
            total += len(batch)


def _keys(connection: Connection, query: Select[Any]) -> list[object]:
    return list(connection.execute(query).scalars())
