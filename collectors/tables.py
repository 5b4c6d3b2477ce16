"""What collectors remember between passes: per-table counters and signatures (to turn cumulative
counters into deltas and to write only what changed), statement run counts and log cursors."""

from __future__ import annotations

from sqlalchemy import JSON, Column, String, Table

from observer.store.metadata import UtcDateTime, metadata

collector_state = Table(
    "collector_state",
    metadata,
    Column("collector", String(200), primary_key=True, comment="warehouse:<name> or dbt:<name>"),
    Column("kind", String(40), primary_key=True, comment="table, statement, cursor, artifacts"),
    Column("key", String(1000), primary_key=True),
    Column("value", JSON, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    comment="Collector memory between passes; losing it only costs one pass of deltas.",
)
