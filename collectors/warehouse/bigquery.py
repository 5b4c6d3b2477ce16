"""BigQuery (parse-checked against the documented views, not run against a live project): the
region-qualified ``INFORMATION_SCHEMA`` of the URL's project — ``TABLES`` with ``TABLE_OPTIONS``
descriptions and ``TABLE_STORAGE`` (``TOTAL_ROWS``, ``TOTAL_LOGICAL_BYTES``,
``STORAGE_LAST_MODIFIED_TIME``), ``COLUMNS`` with ``COLUMN_FIELD_PATHS`` descriptions, and
``JOBS_BY_PROJECT`` for write statements. The region comes from the URL's ``location`` (default US).

BigQuery sessions have no read-only mode or statement timeout settable here: use a service account
with BigQuery Data Viewer, Metadata Viewer and Resource Viewer roles only.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from sqlglot import exp  # imported where SQL is built (see collectors/warehouse/base.py)

JOBS_LATENCY = timedelta(minutes=5)

TABLES_SQL = """
SELECT t.table_schema, t.table_name, t.table_type, o.option_value AS description,
       s.total_rows, s.total_logical_bytes, s.storage_last_modified_time
FROM `{project}`.`region-{region}`.INFORMATION_SCHEMA.TABLES AS t
LEFT JOIN `{project}`.`region-{region}`.INFORMATION_SCHEMA.TABLE_OPTIONS AS o
       ON o.table_schema = t.table_schema AND o.table_name = t.table_name AND o.option_name = 'description'
LEFT JOIN `{project}`.`region-{region}`.INFORMATION_SCHEMA.TABLE_STORAGE AS s
       ON s.table_schema = t.table_schema AND s.table_name = t.table_name
"""

COLUMNS_SQL = """
SELECT c.table_schema, c.table_name, c.column_name, c.data_type, c.is_nullable, p.description
FROM `{project}`.`region-{region}`.INFORMATION_SCHEMA.COLUMNS AS c
LEFT JOIN `{project}`.`region-{region}`.INFORMATION_SCHEMA.COLUMN_FIELD_PATHS AS p
       ON p.table_schema = c.table_schema AND p.table_name = c.table_name AND p.field_path = c.column_name
ORDER BY c.table_schema, c.table_name, c.ordinal_position
"""

JOBS_SQL = """
SELECT job_id, query, user_email, end_time
FROM `{project}`.`region-{region}`.INFORMATION_SCHEMA.JOBS_BY_PROJECT
WHERE creation_time > TIMESTAMP_SUB(:since, INTERVAL 1 DAY)
  AND end_time > :since AND end_time <= :until
  AND job_type = 'QUERY' AND state = 'DONE' AND error_result IS NULL
  AND statement_type IN ('INSERT', 'UPDATE', 'DELETE', 'MERGE', 'CREATE_TABLE_AS_SELECT', 'CREATE_VIEW',
                         'CREATE_MATERIALIZED_VIEW', 'CREATE_TABLE')
ORDER BY end_time
"""

_KINDS = {
    "BASE TABLE": "TABLE",
    "CLONE": "TABLE",
    "SNAPSHOT": "TABLE",
    "VIEW": "VIEW",
    "MATERIALIZED VIEW": "MATERIALIZED_VIEW",
    "EXTERNAL": "EXTERNAL_TABLE",
}


class BigQueryAdapter(Adapter):
    dialect = "bigquery"
    tracks_writes = True

    @property
    def project(self) -> str:
        return self.url.host or ""

    @property
    def region(self) -> str:
        location = self.url.query.get("location") or "us"
        return str(location if isinstance(location, str) else location[0]).lower()

    def sql(self, template: str) -> str:
        return template.format(project=self.project, region=self.region)

    def snapshot(self, connection: Connection, *, columns: bool = True) -> Snapshot:
        if not self.project:
            raise WarehouseProblem("the BigQuery URL names no project: use bigquery://PROJECT?location=US")
        tables = snapshot_tables(
            connection.execute(text(self.sql(TABLES_SQL))),
            connection.execute(text(self.sql(COLUMNS_SQL))) if columns else (),
        )
        return Snapshot(database=self.project, default_schema=None, user=None, tables=tables)

    def query_log(self, connection: Connection, since: datetime | None, now: datetime) -> QueryLog:
        start, until = log_window(since, now, latency=JOBS_LATENCY)
        rows = connection.execute(text(self.sql(JOBS_SQL)), {"since": start, "until": until})
        queries = [
            LoggedQuery(
                sql=query,
                key=job_id,
                finished_at=ensure_utc(end_time),
                default_database=self.project,
                user=user,
            )
            for job_id, query, user, end_time in rows
        ]
        return QueryLog(queries=queries, read_until=until)

    def table_expression(self, database: str, table: TableInfo) -> exp.Table:
        from sqlglot import exp

        return exp.table_(table.name, db=table.schema, catalog=database, quoted=True)

    def describe(self, error: BaseException, doing: str, user: str | None = None) -> WarehouseProblem:
        message = first_line(error)
        if "Access Denied" in message or "permission" in message.lower():
            principal = user or "serviceAccount:<collector>"
            if "jobs" in message.lower() or "query history" in doing:
                role = "roles/bigquery.resourceViewer"
            elif doing.startswith("profiling") or doing.startswith("counting"):
                role = "roles/bigquery.dataViewer"
            else:
                role = "roles/bigquery.metadataViewer"
            grant = (
                f"gcloud projects add-iam-policy-binding {self.project} --member={principal} --role={role}"
            )
            return WarehouseProblem(f"{doing}: {message}", grant=grant)
        return WarehouseProblem(f"{doing}: {message}")


def snapshot_tables(table_rows: Any, column_rows: Any) -> list[TableInfo]:
    columns: dict[tuple[str, str], list[ColumnInfo]] = {}
    for schema, table, column, data_type, nullable, description in column_rows:
        columns.setdefault((schema, table), []).append(
            ColumnInfo(column, data_type, nullable == "YES", description)
        )
    tables = []
    for schema, name, table_type, description, rows, size, modified in table_rows:
        tables.append(
            TableInfo(
                schema=schema,
                name=name,
                kind=_KINDS.get(table_type, "TABLE"),
                columns=tuple(columns.get((schema, name), ())),
                description=_unquote(description),
                row_count=None if rows is None else int(rows),
                size_bytes=None if size is None else int(size),
                last_modified=ensure_utc(modified) if modified else None,
            )
        )
    return tables


def _unquote(option_value: str | None) -> str | None:
    """TABLE_OPTIONS values are SQL literals: ``"text"`` → ``text``."""
    if option_value is None:
        return None
    from sqlglot import exp

    try:
        literal: exp.Expression = exp.maybe_parse(option_value, dialect="bigquery")
    except Exception:
        return option_value
    return literal.name if isinstance(literal, exp.Literal) else option_value
