"""Snowflake (parse-checked against the documented views, not run against a live account):
``INFORMATION_SCHEMA.TABLES`` (``ROW_COUNT``, ``BYTES``, ``LAST_ALTERED``) and ``.COLUMNS`` of the URL's
database, and ``SNOWFLAKE.ACCOUNT_USAGE.QUERY_HISTORY`` for write statements.

The session gets ``STATEMENT_TIMEOUT_IN_SECONDS``, ``TIMEZONE = 'UTC'`` and a query tag. Snowflake has
no read-only session: give the collector a role with only USAGE, SELECT and MONITOR grants.
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

ACCOUNT_USAGE_LATENCY = timedelta(minutes=45)
"""ACCOUNT_USAGE.QUERY_HISTORY lags up to 45 minutes; the log is read up to that far behind."""

IDENTITY_SQL = "SELECT CURRENT_DATABASE(), CURRENT_SCHEMA(), CURRENT_USER(), CURRENT_ROLE()"

TABLES_SQL = """
SELECT table_schema, table_name, table_type, comment, row_count, bytes, last_altered
FROM information_schema.tables
WHERE table_schema <> 'INFORMATION_SCHEMA'
"""

COLUMNS_SQL = """
SELECT table_schema, table_name, column_name, data_type, is_nullable, comment
FROM information_schema.columns
WHERE table_schema <> 'INFORMATION_SCHEMA'
ORDER BY table_schema, table_name, ordinal_position
"""

QUERY_HISTORY_SQL = """
SELECT query_id, query_text, database_name, schema_name, user_name, end_time
FROM snowflake.account_usage.query_history
WHERE end_time > :since AND end_time <= :until
  AND execution_status = 'SUCCESS'
  AND query_type IN ('INSERT', 'MERGE', 'UPDATE', 'DELETE', 'CREATE_TABLE_AS_SELECT', 'CREATE_VIEW',
                     'MULTI_TABLE_INSERT', 'COPY', 'CREATE_TABLE')
ORDER BY end_time
"""

_KINDS = {
    "BASE TABLE": "TABLE",
    "VIEW": "VIEW",
    "MATERIALIZED VIEW": "MATERIALIZED_VIEW",
    "EXTERNAL TABLE": "EXTERNAL_TABLE",
    "DYNAMIC TABLE": "TABLE",
    "EVENT TABLE": "TABLE",
}


class SnowflakeAdapter(Adapter):
    dialect = "snowflake"
    tracks_writes = True

    def engine_options(self) -> dict[str, Any]:
        parameters = {
            "STATEMENT_TIMEOUT_IN_SECONDS": self.timeout_seconds(),
            "TIMEZONE": "UTC",
            "QUERY_TAG": "observer-collector",
        }
        return {"connect_args": {"session_parameters": parameters}}

    def snapshot(self, connection: Connection, *, columns: bool = True) -> Snapshot:
        database, default_schema, user, _role = connection.execute(text(IDENTITY_SQL)).one()
        if database is None:
            raise WarehouseProblem(
                "the Snowflake URL names no database: use snowflake://user@account/DATABASE/SCHEMA"
            )
        return Snapshot(
            database=database,
            default_schema=default_schema,
            user=user,
            tables=snapshot_tables(
                connection.execute(text(TABLES_SQL)), connection.execute(text(COLUMNS_SQL)) if columns else ()
            ),
        )

    def query_log(self, connection: Connection, since: datetime | None, now: datetime) -> QueryLog:
        start, until = log_window(since, now, latency=ACCOUNT_USAGE_LATENCY)
        rows = connection.execute(text(QUERY_HISTORY_SQL), {"since": start, "until": until})
        return QueryLog(queries=logged_queries(rows), read_until=until)

    def describe(self, error: BaseException, doing: str, user: str | None = None) -> WarehouseProblem:
        message = first_line(error)
        role = self.url.query.get("role") or "<collector role>"
        if "ACCOUNT_USAGE" in message.upper() or "account_usage" in doing:
            return WarehouseProblem(
                f"{doing}: {message}", grant=f"GRANT IMPORTED PRIVILEGES ON DATABASE SNOWFLAKE TO ROLE {role}"
            )
        if "does not exist or not authorized" in message or "Insufficient privileges" in message:
            table = doing.rsplit(" ", 1)[-1] if doing.startswith("profiling table") else "<table>"
            database = self.url.database.split("/")[0] if self.url.database else "<database>"
            return WarehouseProblem(
                f"{doing}: {message}", grant=f"GRANT SELECT ON TABLE {database}.{table} TO ROLE {role}"
            )
        return WarehouseProblem(f"{doing}: {message}")


def snapshot_tables(table_rows: Any, column_rows: Any) -> list[TableInfo]:
    """TableInfo records from the rows of :data:`TABLES_SQL` and :data:`COLUMNS_SQL`."""
    columns: dict[tuple[str, str], list[ColumnInfo]] = {}
    for schema, table, column, data_type, nullable, comment in column_rows:
        columns.setdefault((schema, table), []).append(
            ColumnInfo(column, data_type, nullable == "YES", comment)
        )
    tables = []
    for schema, name, table_type, comment, row_count, size, last_altered in table_rows:
        kind = _KINDS.get(table_type, "TABLE")
        tables.append(
            TableInfo(
                schema=schema,
                name=name,
                kind=kind,
                columns=tuple(columns.get((schema, name), ())),
                description=comment,
                row_count=None if row_count is None else int(row_count),
                size_bytes=None if size is None else int(size),
                last_modified=ensure_utc(last_altered) if last_altered and kind != "VIEW" else None,
            )
        )
    return tables


def logged_queries(rows: Any) -> list[LoggedQuery]:
    return [
        LoggedQuery(
            sql=query_text,
            key=query_id,
            finished_at=ensure_utc(end_time),
            default_database=database,
            default_schema=schema,
            user=user,
        )
        for query_id, query_text, database, schema, user, end_time in rows
    ]
