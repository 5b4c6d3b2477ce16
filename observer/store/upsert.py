"""Dialect-aware ``INSERT … ON CONFLICT`` for the two store backends."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection


def insert_ignoring_conflicts(connection: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows``, skipping those that collide with an existing unique key."""
    if not rows:
        return
    statement = _dialect_insert(connection, table).on_conflict_do_nothing()
    connection.execute(statement, list(rows))


def upsert(
    connection: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    keys: Sequence[str],
    update: Sequence[str],
) -> None:
    """Insert ``rows``; where ``keys`` collide, overwrite the columns in ``update``."""
    if not rows:
        return
    statement = _dialect_insert(connection, table)
    statement = statement.on_conflict_do_update(
        index_elements=list(keys), set_={name: statement.excluded[name] for name in update}
    )
    connection.execute(statement, list(rows))


def _dialect_insert(connection: Connection, table: Table) -> Any:
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    if connection.dialect.name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"the store does not support {connection.dialect.name}")
