"""Plain DB-API statements for the projection's hot paths, on SQLite and PostgreSQL.

A projection step writes a few hundred rows into a dozen tables. Going through SQLAlchemy Core
costs a statement compilation lookup per statement and a bind processor per value; here rows are
tuples of plain values handed to the driver's ``executemany`` (SQLite's prepared-statement cache
and psycopg's pipeline do the rest). Values are stored exactly as the SQLAlchemy column types
store them, so everything else keeps reading these tables through SQLAlchemy: timestamps as
SQLAlchemy's naive-UTC text on SQLite and ``timestamptz`` on PostgreSQL, JSON as its text.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection

from observer.store.database import json_text

_SQLITE_IN = 500
"""Values per ``IN (?, …)`` list on SQLite."""


class Statements:
    """Runs ``?``-style SQL on a SQLAlchemy connection's driver connection (inside its transaction)."""

    def __init__(self, connection: Connection) -> None:
        self.postgres = connection.dialect.name == "postgresql"
        self._driver: Any = connection.connection

    # values -----------------------------------------------------------------------------------

    def time(self, value: datetime | None) -> Any:
        """A timestamp as the ``UtcDateTime`` column stores it."""
        if value is None or self.postgres:
            return value
        if value.tzinfo is not UTC:
            value = value.astimezone(UTC)
        return value.isoformat(" ", "microseconds")[:26]

    def read_time(self, value: Any) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            return datetime.fromisoformat(value).replace(tzinfo=UTC)
        assert isinstance(value, datetime)
        return value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)

    @staticmethod
    def json(value: Any) -> str | None:
        """A JSON column's text (None stays SQL NULL)."""
        return None if value is None else json_text(value)

    @staticmethod
    def read_json(value: Any) -> Any:
        """A JSON column's value: text on SQLite, already decoded by psycopg on PostgreSQL."""
        return orjson.loads(value) if isinstance(value, str | bytes) else value

    # statements -------------------------------------------------------------------------------

    def _sql(self, statement: str) -> str:
        return statement.replace("?", "%s") if self.postgres else statement

    def many(self, statement: str, rows: Sequence[Sequence[Any]]) -> None:
        """``statement`` once per row (nothing when there are no rows)."""
        if not rows:
            return
        cursor = self._driver.cursor()
        try:
            cursor.executemany(self._sql(statement), rows)
        finally:
            cursor.close()

    def rows(self, statement: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cursor = self._driver.cursor()
        try:
            cursor.execute(self._sql(statement), parameters)
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def rows_in(
        self, statement: str, values: Iterable[Any], before: Sequence[Any] = ()
    ) -> list[tuple[Any, ...]]:
        """Rows of ``statement``, whose ``IN ?`` is a list of ``values`` (chunked on SQLite,
        ``= ANY(array)`` on PostgreSQL); ``before``: the parameters ahead of it."""
        wanted = list(values)
        if not wanted:
            return []
        if self.postgres:
            return self.rows(statement.replace("IN ?", f"= ANY(?::{_array_type(wanted)})"), [*before, wanted])
        found: list[tuple[Any, ...]] = []
        for start in range(0, len(wanted), _SQLITE_IN):
            chunk = wanted[start : start + _SQLITE_IN]
            found += self.rows(
                statement.replace("IN ?", f"IN ({', '.join('?' * len(chunk))})"), [*before, *chunk]
            )
        return found

    def rows_in_pairs(self, statement: str, pairs: Iterable[tuple[Any, Any]]) -> list[tuple[Any, ...]]:
        """Rows of ``statement``, whose ``(a, b) IN ?`` is a list of two-value keys (``VALUES`` rows
        on SQLite, two arrays ``unnest``-ed side by side on PostgreSQL)."""
        wanted = list(pairs)
        if not wanted:
            return []
        if self.postgres:
            firsts, seconds = (list(column) for column in zip(*wanted, strict=True))
            arrays = f"unnest(?::{_array_type(firsts)}, ?::{_array_type(seconds)})"
            return self.rows(statement.replace("IN ?", f"IN (SELECT * FROM {arrays})"), [firsts, seconds])
        found: list[tuple[Any, ...]] = []
        for start in range(0, len(wanted), _SQLITE_IN):
            chunk = wanted[start : start + _SQLITE_IN]
            keys = ", ".join(["(?, ?)"] * len(chunk))
            parameters = [value for pair in chunk for value in pair]
            found += self.rows(statement.replace("IN ?", f"IN (VALUES {keys})"), parameters)
        return found


def _array_type(values: Sequence[Any]) -> str:
    """The PostgreSQL array type of a list of keys (ids or names)."""
    return "bigint[]" if isinstance(values[0], int) else "text[]"
