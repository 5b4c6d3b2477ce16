"""Amazon Redshift (parse-checked against the documented views, not run against a live cluster):
``SVV_TABLES`` with ``SVV_TABLE_INFO`` (``ESTIMATED_VISIBLE_ROWS``, ``SIZE`` in 1 MB blocks) and
``SVV_COLUMNS`` of the current database, and ``SYS_QUERY_HISTORY`` for write statements (its
``QUERY_TEXT`` holds the first 4,000 characters). Redshift keeps no last-modified time; writes come from
the query log, a profile's ``timestamp_column`` or a changed row count.

The session gets ``statement_timeout`` and UTC. Redshift has no read-only session setting: give the
collector a user with only USAGE and SELECT grants (and ``sys:monitor`` for other users' queries).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, text

from collectors.warehouse.base import (
    Adapter,
    ColumnInfo,
    LoggedQuery,
    QueryLog,
    Snapshot,
    TableInfo,
    WarehouseProblem,
    first_line,
    log_window,
)
from observer.clock import ensure_utc

QUERY_LOG_LATENCY = timedelta(minutes=1)
MEGABYTE = 1024 * 1024
_SYSTEM_SCHEMAS = "('pg_catalog', 'information_schema', 'pg_internal', 'pg_automv', 'pg_auto_copy')"

IDENTITY_SQL = "SELECT current_database(), current_schema(), current_user"

TABLES_SQL = f"""
SELECT t.table_schema, t.table_name, t.table_type, t.remarks, i.estimated_visible_rows, i.size
FROM svv_tables AS t
LEFT JOIN svv_table_info AS i ON i.schema = t.table_schema AND i."table" = t.table_name
WHERE t.table_catalog = current_database() AND t.table_schema NOT IN {_SYSTEM_SCHEMAS}
"""

COLUMNS_SQL = f"""
SELECT table_schema, table_name, column_name, data_type, is_nullable, remarks
FROM svv_columns
WHERE table_catalog = current_database() AND table_schema NOT IN {_SYSTEM_SCHEMAS}
ORDER BY table_schema, table_name, ordinal_position
"""

QUERY_HISTORY_SQL = """
SELECT query_id, query_text, database_name, end_time
FROM sys_query_history
WHERE end_time > :since AND end_time <= :until
  AND status = 'success' AND database_name = current_database()
  AND query_type IN ('INSERT', 'UPDATE', 'DELETE', 'CTAS', 'COPY', 'MERGE')
ORDER BY end_time
"""

_KINDS = {"BASE TABLE": "TABLE", "VIEW": "VIEW", "EXTERNAL TABLE": "EXTERNAL_TABLE"}


class RedshiftAdapter(Adapter):
    dialect = "redshift"

    def session_statements(self) -> list[str]:
        return [f"SET statement_timeout TO {self.timeout_seconds() * 1000}", "SET timezone TO 'UTC'"]

    def snapshot(self, connection: Connection, *, columns: bool = True) -> Snapshot:
        database, default_schema, user = connection.execute(text(IDENTITY_SQL)).one()
        tables = snapshot_tables(
            connection.execute(text(TABLES_SQL)), connection.execute(text(COLUMNS_SQL)) if columns else ()
        )
        return Snapshot(database=database, default_schema=default_schema, user=user, tables=tables)

    def query_log(self, connection: Connection, since: datetime | None, now: datetime) -> QueryLog:
        start, until = log_window(since, now, latency=QUERY_LOG_LATENCY)
        schema = connection.execute(text("SELECT current_schema()")).scalar_one()
        rows = connection.execute(text(QUERY_HISTORY_SQL), {"since": start, "until": until})
        queries = [
            LoggedQuery(
                sql=query_text.strip(),
                key=str(query_id),
                finished_at=ensure_utc(end_time),
                default_database=database,
                default_schema=schema,
            )
            for query_id, query_text, database, end_time in rows
        ]
        return QueryLog(queries=queries, read_until=until)

    def describe(self, error: BaseException, doing: str, user: str | None = None) -> WarehouseProblem:
        message = first_line(error)
        who = user or self.url.username or "<collector user>"
        if "permission denied" in message.lower():
            if "query history" in doing:
                return WarehouseProblem(f"{doing}: {message}", grant=f'GRANT ROLE "sys:monitor" TO {who}')
            if "schema" in message.lower():
                schema = message.rsplit(" ", 1)[-1]
                return WarehouseProblem(
                    f"{doing}: {message}", grant=f"GRANT USAGE ON SCHEMA {schema} TO {who}"
                )
            table = doing.rsplit(" ", 1)[-1] if doing.startswith("profiling table") else "<table>"
            return WarehouseProblem(f"{doing}: {message}", grant=f"GRANT SELECT ON {table} TO {who}")
        return WarehouseProblem(f"{doing}: {message}")


def snapshot_tables(table_rows: Any, column_rows: Any) -> list[TableInfo]:
    columns: dict[tuple[str, str], list[ColumnInfo]] = {}
    for schema, table, column, data_type, nullable, remarks in column_rows:
        columns.setdefault((schema, table), []).append(
            ColumnInfo(column, data_type, nullable == "YES", remarks)
        )
    tables = []
    for schema, name, table_type, remarks, rows, blocks in table_rows:
        kind = _KINDS.get(table_type, "TABLE")
        has_data = kind == "TABLE"
        tables.append(
            TableInfo(
                schema=schema,
                name=name,
                kind=kind,
                columns=tuple(columns.get((schema, name), ())),
                description=remarks,
                row_count=(int(rows) if rows is not None else 0) if has_data else None,
                size_bytes=(int(blocks) * MEGABYTE if blocks is not None else 0) if has_data else None,
            )
        )
    return tables
