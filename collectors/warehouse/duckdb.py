"""DuckDB: ``duckdb_tables()``, ``duckdb_views()`` and ``duckdb_columns()`` of the attached file,
opened read-only. DuckDB keeps no write counters or modification times and no query log, so writes are
inferred from a profile's ``timestamp_column`` or a changed row count."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import Connection, Engine, event, text

from collectors.warehouse.base import Adapter, ColumnInfo, Snapshot, TableInfo, WarehouseProblem, first_line

IDENTITY_SQL = "SELECT current_database(), current_schema()"

TABLES_SQL = """
SELECT schema_name, table_name, 'TABLE' AS kind, comment, estimated_size AS row_count
FROM duckdb_tables()
WHERE database_name = current_database() AND NOT internal AND NOT temporary
UNION ALL
SELECT schema_name, view_name, 'VIEW', comment, NULL
FROM duckdb_views()
WHERE database_name = current_database() AND NOT internal AND NOT temporary
"""

COLUMNS_SQL = """
SELECT schema_name, table_name, column_name, data_type, is_nullable, comment
FROM duckdb_columns()
WHERE database_name = current_database() AND NOT internal
ORDER BY schema_name, table_name, column_index
"""


class DuckDBAdapter(Adapter):
    dialect = "duckdb"

    def engine_options(self) -> dict[str, Any]:
        return {"connect_args": {"read_only": True}}

    def create_engine(self) -> Engine:
        engine = super().create_engine()
        _interrupt_after(engine, self.timeout_seconds())
        return engine

    def session_statements(self) -> list[str]:
        return ["SET TimeZone = 'UTC'"]

    def snapshot(self, connection: Connection, *, columns: bool = True) -> Snapshot:
        database, default_schema = connection.execute(text(IDENTITY_SQL)).one()
        found: dict[tuple[str, str], list[ColumnInfo]] = {}
        rows = connection.execute(text(COLUMNS_SQL)) if columns else ()
        for schema, table, column, data_type, nullable, comment in rows:
            found.setdefault((schema, table), []).append(ColumnInfo(column, data_type, nullable, comment))
        tables = [
            TableInfo(
                schema=schema,
                name=name,
                kind=kind,
                columns=tuple(found.get((schema, name), ())),
                description=comment,
                row_count=None if row_count is None else int(row_count),
            )
            for schema, name, kind, comment, row_count in connection.execute(text(TABLES_SQL))
        ]
        return Snapshot(database=database, default_schema=default_schema, user=None, tables=tables)

    def describe(self, error: BaseException, doing: str, user: str | None = None) -> WarehouseProblem:
        message = first_line(error)
        if "lock" in message.lower():
            return WarehouseProblem(
                f"{doing}: {self.url.database} is open for writing in another process, and DuckDB lets "
                f"readers in only when no process writes ({message})"
            )
        if "interrupt" in message.lower():
            return WarehouseProblem(f"{doing}: stopped after statement_timeout ({self.timeout_seconds()}s)")
        return WarehouseProblem(f"{doing}: {message}")


def _interrupt_after(engine: Engine, seconds: int) -> None:
    """DuckDB has no statement timeout of its own: interrupt a statement that runs longer."""
    timers: dict[int, threading.Timer] = {}

    def start(conn: Any, _cursor: Any, _statement: Any, _parameters: Any, _context: Any, _many: Any) -> None:
        raw = conn.connection.dbapi_connection
        timer = threading.Timer(seconds, raw.interrupt)
        timer.daemon = True
        timers[id(conn)] = timer
        timer.start()

    def finish(conn: Any, *_args: Any) -> None:
        timer = timers.pop(id(conn), None)
        if timer is not None:
            timer.cancel()

    def failed(context: Any) -> None:
        finish(context.connection)

    event.listen(engine, "before_cursor_execute", start)
    event.listen(engine, "after_cursor_execute", finish)
    event.listen(engine, "handle_error", failed)
