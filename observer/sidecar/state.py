"""Saving and restoring the sidecar's state in the store (SQLite by default, beside the sidecar)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import and_, delete, select, tuple_

from observer.catalog.identity import DatasetRef
from observer.catalog.records import DatasetUpdate
from observer.catalog.service import record_updates
from observer.checks.history import update_histories
from observer.sidecar.tables import sidecar_open_problems, sidecar_watermarks
from observer.sidecar.tracker import Watermark
from observer.store import Store
from observer.store.upsert import insert_ignoring_conflicts, upsert

ProblemKey = tuple[str, DatasetRef]


class SidecarState:
    def __init__(self, store: Store) -> None:
        self.store = store

    def load_watermarks(self) -> dict[DatasetRef, Watermark]:
        with self.store.engine.connect() as connection:
            rows = connection.execute(select(sidecar_watermarks)).mappings()
            return {
                DatasetRef(row["namespace"], row["name"]): Watermark(
                    row["write_counter"], row["last_modified"], row["watched_since"]
                )
                for row in rows
            }

    def load_histories(self, since: datetime) -> dict[DatasetRef, list[datetime]]:
        """Every dataset's observed updates since ``since``, in one query."""
        with self.store.engine.connect() as connection:
            return update_histories(connection, since)

    def save(self, changed: dict[DatasetRef, Watermark], updates: list[DatasetUpdate], now: datetime) -> None:
        if not changed and not updates:
            return
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
                    }
                    for ref, mark in changed.items()
                ],
                keys=("namespace", "name"),
                update=("write_counter", "last_modified", "observed_at"),
            )
            if updates:
                record_updates(connection, updates, now)

    def load_open_problems(self) -> set[ProblemKey]:
        with self.store.engine.connect() as connection:
            rows = connection.execute(
                select(
                    sidecar_open_problems.c.check_name,
                    sidecar_open_problems.c.namespace,
                    sidecar_open_problems.c.name,
                )
            )
            return {(check, DatasetRef(namespace, name)) for check, namespace, name in rows}

    def mark_problems(
        self, opened: Iterable[ProblemKey], cleared: Iterable[ProblemKey], now: datetime
    ) -> None:
        opened, cleared = list(opened), list(cleared)
        if not opened and not cleared:
            return
        table = sidecar_open_problems
        with self.store.engine.begin() as connection:
            insert_ignoring_conflicts(
                connection,
                table,
                [
                    {"check_name": check, "namespace": ref.namespace, "name": ref.name, "opened_at": now}
                    for check, ref in opened
                ],
            )
            for start in range(0, len(cleared), 400):
                chunk = cleared[start : start + 400]
                connection.execute(
                    delete(table).where(
                        and_(
                            tuple_(table.c.check_name, table.c.namespace, table.c.name).in_(
                                [(check, ref.namespace, ref.name) for check, ref in chunk]
                            )
                        )
                    )
                )
