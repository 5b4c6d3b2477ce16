"""The seam to the SQL lineage engine: queries from ``sql`` job facets of events that carry no column
lineage, queued durably (once per job and distinct query) for whoever analyses SQL."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select, update

from observer.catalog.identity import DatasetRef, JobRef
from observer.clock import Clock
from observer.ingest.statements import Statements
from observer.ingest.tables import sql_queue
from observer.store import Store


@dataclass(frozen=True)
class QueuedQuery:
    job: JobRef
    sql: str
    dialect: str | None
    run_uuid: str | None
    event_time: datetime
    inputs: list[DatasetRef]
    outputs: list[DatasetRef]
    default_namespace: str | None
    id: int | None = None


class SqlLineageQueue:
    """``pending()`` hands out queries in arrival order; ``mark_done`` / ``mark_failed`` settle them."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    @staticmethod
    def enqueue(connection: Connection, queries: Sequence[QueuedQuery], now: datetime) -> None:
        sql = Statements(connection)
        sql.many(
            "INSERT INTO sql_queue (job_namespace, job_name, sql_hash, query, dialect, run_uuid, event_time, "
            "inputs, outputs, default_namespace, status, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?) ON CONFLICT DO NOTHING",
            [
                (
                    query.job.namespace,
                    query.job.name,
                    hashlib.sha256(query.sql.encode()).hexdigest(),
                    query.sql,
                    query.dialect,
                    query.run_uuid,
                    sql.time(query.event_time),
                    sql.json([[ref.namespace, ref.name] for ref in query.inputs]),
                    sql.json([[ref.namespace, ref.name] for ref in query.outputs]),
                    query.default_namespace,
                    sql.time(now),
                )
                for query in queries
            ],
        )

    def pending(self, limit: int = 100) -> list[QueuedQuery]:
        with self._store.engine.connect() as connection:
            rows = connection.execute(
                select(sql_queue).where(sql_queue.c.status == "pending").order_by(sql_queue.c.id).limit(limit)
            ).mappings()
            return [
                QueuedQuery(
                    job=JobRef(row["job_namespace"], row["job_name"]),
                    sql=row["query"],
                    dialect=row["dialect"],
                    run_uuid=row["run_uuid"],
                    event_time=row["event_time"],
                    inputs=[DatasetRef(*pair) for pair in row["inputs"]],
                    outputs=[DatasetRef(*pair) for pair in row["outputs"]],
                    default_namespace=row["default_namespace"],
                    id=row["id"],
                )
                for row in rows
            ]

    def mark_done(self, query_id: int) -> None:
        self._settle(query_id, "done", None)

    def mark_failed(self, query_id: int, error: str) -> None:
        self._settle(query_id, "failed", error)

    def _settle(self, query_id: int, status: str, error: str | None) -> None:
        with self._store.engine.begin() as connection:
            connection.execute(
                update(sql_queue)
                .where(sql_queue.c.id == query_id)
                .values(status=status, error=error, done_at=self._clock.now())
            )


def pending_sql(store: Store, clock: Clock, limit: int = 100) -> list[QueuedQuery]:
    return SqlLineageQueue(store, clock).pending(limit)


def mark_sql_done(store: Store, clock: Clock, query_id: int) -> None:
    SqlLineageQueue(store, clock).mark_done(query_id)
