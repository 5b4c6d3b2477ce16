"""Saving and restoring the sidecar's state in the store (SQLite by default, beside the sidecar).

Besides its own tables (watermarks, open problems, the forward queue) the sidecar writes what it
observed into the store's catalog tables, as the collectors do: observed writes
(``dataset_updates``), row counts of volume-checked tables (``metric_points``) and schema versions of
schema-checked tables (``schema_versions``), so the shared checks (``observer/checks``) judge them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, tuple_

from observer.catalog.identity import DatasetRef
from observer.catalog.records import DatasetUpdate, MetricPoint, SchemaObservation
from observer.catalog.service import find_dataset_ids, record_metrics, record_schemas, record_updates
from observer.checks.history import update_histories
from observer.sidecar.tables import sidecar_forwards, sidecar_open_problems, sidecar_watermarks
from observer.sidecar.tracker import Watermark
from observer.store import Store
from observer.store.upsert import insert_ignoring_conflicts, upsert

ProblemKey = tuple[str, DatasetRef]
FORWARD_LIMIT = 10_000
"""Findings kept for the central server while it cannot be reached; the oldest are dropped beyond."""


class SidecarState:
    def __init__(self, store: Store) -> None:
        self.store = store

    def load_watermarks(self) -> dict[DatasetRef, Watermark]:
        with self.store.engine.connect() as connection:
            rows = connection.execute(select(sidecar_watermarks)).mappings()
            return {
                DatasetRef(row["namespace"], row["name"]): Watermark(
                    row["write_counter"],
                    row["last_modified"],
                    row["watched_since"],
                    row["row_count"],
                    row["size_bytes"],
                )
                for row in rows
            }

    def load_histories(self, since: datetime) -> dict[DatasetRef, list[datetime]]:
        """Every dataset's observed updates since ``since``, in one query."""
        with self.store.engine.connect() as connection:
            return update_histories(connection, since)

    def save(
        self,
        now: datetime,
        *,
        changed: dict[DatasetRef, Watermark],
        updates: Sequence[DatasetUpdate] = (),
        points: Sequence[MetricPoint] = (),
        schemas: Sequence[SchemaObservation] = (),
    ) -> set[DatasetRef]:
        """Everything one cycle observed, in one transaction; returns the datasets whose schema
        changed (a new version was recorded)."""
        if not (changed or updates or points or schemas):
            return set()
        with self.store.engine.begin() as connection:
            upsert(
                connection,
                sidecar_watermarks,
                [
                    {
                        "namespace": ref.namespace,
                        "name": ref.name,
                        "write_counter": mark.write_counter,
                        "last_modified": mark.last_modified,
                        "watched_since": mark.watched_since,
                        "observed_at": now,
                        "row_count": mark.row_count,
                        "size_bytes": mark.size_bytes,
                    }
                    for ref, mark in changed.items()
                ],
                keys=("namespace", "name"),
                update=("write_counter", "last_modified", "observed_at", "row_count", "size_bytes"),
            )
            if updates:
                record_updates(connection, updates, now)
            if points:
                record_metrics(connection, points, now)
            if not schemas:
                return set()
            versioned = {version.dataset_id for version in record_schemas(connection, schemas, now)}
            ids = find_dataset_ids(connection, [observation.dataset for observation in schemas])
        return {ref for ref, dataset_id in ids.items() if dataset_id in versioned}

    def load_open_problems(self) -> dict[ProblemKey, datetime]:
        """The problems alerted on and not cleared yet, with the time each was opened."""
        table = sidecar_open_problems
        with self.store.engine.connect() as connection:
            rows = connection.execute(
                select(table.c.check_name, table.c.namespace, table.c.name, table.c.opened_at)
            )
            return {(check, DatasetRef(namespace, name)): opened for check, namespace, name, opened in rows}

    def mark_problems(
        self, opened: Iterable[ProblemKey], cleared: Iterable[ProblemKey], now: datetime
    ) -> None:
        """Forget ``cleared``, then record ``opened`` at ``now`` (a key in both starts over)."""
        opened, cleared = list(opened), list(cleared)
        if not opened and not cleared:
            return
        table = sidecar_open_problems
        with self.store.engine.begin() as connection:
            for start in range(0, len(cleared), 400):
                chunk = cleared[start : start + 400]
                connection.execute(
                    delete(table).where(
                        tuple_(table.c.check_name, table.c.namespace, table.c.name).in_(
                            [(check, ref.namespace, ref.name) for check, ref in chunk]
                        )
                    )
                )
            insert_ignoring_conflicts(
                connection,
                table,
                [
                    {"check_name": check, "namespace": ref.namespace, "name": ref.name, "opened_at": now}
                    for check, ref in opened
                ],
            )

    # The forward queue ----------------------------------------------------------------------

    def queue_forwards(self, items: Sequence[tuple[str, dict[str, Any]]], now: datetime) -> int:
        """Append ``(state, item)`` pairs; returns how many of the oldest were dropped beyond the limit."""
        table = sidecar_forwards
        with self.store.engine.begin() as connection:
            if items:
                connection.execute(
                    table.insert(),
                    [{"state": state, "item": item, "created_at": now} for state, item in items],
                )
            count = int(connection.execute(select(func.count()).select_from(table)).scalar_one())
            excess = count - FORWARD_LIMIT
            if excess > 0:
                cutoff = connection.execute(
                    select(table.c.id).order_by(table.c.id).offset(excess - 1).limit(1)
                ).scalar_one()
                connection.execute(delete(table).where(table.c.id <= cutoff))
            return max(excess, 0)

    def pending_forwards(self, limit: int = FORWARD_LIMIT) -> list[tuple[int, str, dict[str, Any]]]:
        """``(id, state, item)`` of the queued findings and passes, oldest first."""
        table = sidecar_forwards
        with self.store.engine.connect() as connection:
            rows = connection.execute(
                select(table.c.id, table.c.state, table.c.item).order_by(table.c.id).limit(limit)
            )
            return [(row_id, state, item) for row_id, state, item in rows]

    def drop_forwards(self, up_to: int) -> None:
        """Forget the queued items up to id ``up_to`` (they were delivered)."""
        with self.store.engine.begin() as connection:
            connection.execute(delete(sidecar_forwards).where(sidecar_forwards.c.id <= up_to))
