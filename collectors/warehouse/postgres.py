"""PostgreSQL: ``pg_class``/``pg_attribute`` for tables and columns, ``pg_stat_user_tables`` for row
estimates and write counters, ``pg_stat_statements`` for the query log. Three catalog queries per pass.

Sizes are the planner's page counts (heap and TOAST) times the block size, as of the last VACUUM or
ANALYZE: exact sizes (``pg_table_size``) would make the server open every table's relation cache
entry and files on each pass, which costs seconds at 10,000 tables. Partitions are folded into
their root table: their sizes and counters add up to the parent's.
"""

from __future__ import annotations

import re
from datetime import datetime
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
)

if TYPE_CHECKING:
    from sqlglot import exp  # imported where SQL is built (see collectors/warehouse/base.py)

_KINDS = {"r": "TABLE", "p": "TABLE", "v": "VIEW", "m": "MATERIALIZED_VIEW", "f": "FOREIGN_TABLE"}
_USER_SCHEMAS = """
      n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg\\_toast%'
      AND n.nspname NOT LIKE 'pg\\_temp\\_%'"""

IDENTITY_SQL = "SELECT current_database(), current_user, current_schema()"

TABLES_SQL = f"""
SELECT c.oid AS oid,
       n.nspname AS schema_name,
       c.relname AS table_name,
       c.relkind AS relkind,
       d.description AS description,
       c.reltuples AS reltuples,
       CASE WHEN c.relkind IN ('r', 'm')
            THEN (c.relpages::bigint + COALESCE(toast.relpages, 0)) * current_setting('block_size')::bigint
       END AS size_bytes,
       s.n_live_tup AS live_rows,
       s.n_tup_ins AS inserted,
       s.n_tup_upd AS updated,
       s.n_tup_del AS deleted,
       CASE WHEN c.relispartition THEN pg_catalog.pg_partition_root(c.oid)::oid END AS root_oid
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_description d
       ON d.objoid = c.oid AND d.classoid = 'pg_catalog.pg_class'::regclass AND d.objsubid = 0
LEFT JOIN pg_catalog.pg_class toast ON toast.oid = c.reltoastrelid
LEFT JOIN pg_catalog.pg_stat_user_tables s ON s.relid = c.oid
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND {_USER_SCHEMAS}
"""

COLUMNS_SQL = f"""
SELECT n.nspname AS schema_name,
       c.relname AS table_name,
       a.attname AS column_name,
       pg_catalog.format_type(a.atttypid, a.atttypmod) AS data_type,
       a.attnotnull AS not_null,
       d.description AS description
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_description d
       ON d.objoid = a.attrelid AND d.classoid = 'pg_catalog.pg_class'::regclass AND d.objsubid = a.attnum
WHERE a.attnum > 0 AND NOT a.attisdropped
  AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT c.relispartition AND {_USER_SCHEMAS}
ORDER BY n.nspname, c.relname, a.attnum
"""

EXTENSION_SQL = """
SELECT n.nspname FROM pg_catalog.pg_extension e
JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
WHERE e.extname = 'pg_stat_statements'
"""

STATEMENTS_SQL = """
SELECT s.queryid::text AS query_id, s.query AS query, s.calls AS calls, r.rolname AS user_name
FROM {schema}.pg_stat_statements s
LEFT JOIN pg_catalog.pg_roles r ON r.oid = s.userid
WHERE s.dbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())
  AND s.query ~* '^\\s*(insert|update|delete|merge|create|with|truncate|copy|refresh|select[^;]*\\sinto\\s)'
"""

_PERMISSION = re.compile(
    r"permission denied for (table|view|materialized view|schema|database|relation) (\S+)"
)


class PostgresAdapter(Adapter):
    dialect = "postgres"
    tracks_writes = True

    def engine_options(self) -> dict[str, Any]:
        timeout_ms = self.timeout_seconds() * 1000
        options = f"-c default_transaction_read_only=on -c statement_timeout={timeout_ms} -c TimeZone=UTC"
        return {
            "connect_args": {
                "options": options,
                "application_name": "observer-collector",
                "connect_timeout": self.timeout_seconds(),  # a host that does not answer is an error too
            }
        }

    def snapshot(self, connection: Connection, *, columns: bool = True) -> Snapshot:
        database, user, default_schema = connection.execute(text(IDENTITY_SQL)).one()
        tables: dict[int, dict[str, Any]] = {}
        names: dict[int, tuple[str, str]] = {}
        partitions: list[Any] = []
        for row in connection.execute(text(TABLES_SQL)).mappings():
            if row["root_oid"] is not None:
                partitions.append(row)
                continue
            tables[row["oid"]] = _table_fields(row)
            names[row["oid"]] = (row["schema_name"], row["table_name"])
        for row in partitions:
            root = tables.get(row["root_oid"])
            if root is not None:
                _fold_partition(root, row)
        found: dict[tuple[str, str], list[ColumnInfo]] = {}
        for row in connection.execute(text(COLUMNS_SQL)).mappings() if columns else ():
            found.setdefault((row["schema_name"], row["table_name"]), []).append(
                ColumnInfo(row["column_name"], row["data_type"], not row["not_null"], row["description"])
            )
        return Snapshot(
            database=database,
            default_schema=default_schema,
            user=user,
            tables=[
                TableInfo(schema=schema, name=name, columns=tuple(found.get((schema, name), ())), **fields)
                for (schema, name), fields in ((names[oid], fields) for oid, fields in tables.items())
            ],
        )

    def query_log(self, connection: Connection, since: datetime | None, now: datetime) -> QueryLog:
        schema = connection.execute(text(EXTENSION_SQL)).scalar_one_or_none()
        database, default_schema = connection.execute(
            text("SELECT current_database(), current_schema()")
        ).one()
        if schema is None:
            return QueryLog(
                warnings=[
                    f"query history: pg_stat_statements is not installed in database {database}; "
                    "run CREATE EXTENSION pg_stat_statements (the server needs "
                    "shared_preload_libraries = 'pg_stat_statements')"
                ]
            )
        from sqlglot import exp

        rows = connection.execute(
            text(STATEMENTS_SQL.format(schema=exp.to_identifier(schema, quoted=True).sql("postgres")))
        ).mappings()
        log = QueryLog()
        hidden = 0
        for row in rows:
            if row["query"] == "<insufficient privilege>":
                hidden += 1
                continue
            log.queries.append(
                LoggedQuery(
                    sql=row["query"],
                    key=row["query_id"],
                    runs=int(row["calls"]),
                    cumulative=True,
                    default_database=database,
                    default_schema=default_schema,
                    user=row["user_name"],
                )
            )
        if hidden:
            user = connection.execute(text("SELECT current_user")).scalar_one()
            log.warnings.append(
                f"query history: {hidden} statements of other users are hidden; "
                f"missing privilege, run: GRANT pg_read_all_stats TO {_ident(user)}"
            )
        return log

    def table_expression(self, database: str, table: TableInfo) -> exp.Table:
        from sqlglot import exp

        return exp.table_(table.name, db=table.schema, quoted=True)

    def describe(self, error: BaseException, doing: str, user: str | None = None) -> WarehouseProblem:
        original = getattr(error, "orig", None)
        message = first_line(error)
        sqlstate = getattr(original, "sqlstate", None)
        if "shared_preload_libraries" in str(original or error):
            return WarehouseProblem(
                f"{doing}: pg_stat_statements is installed but not loaded; the server needs "
                "shared_preload_libraries = 'pg_stat_statements' (and a restart)"
            )
        if sqlstate == "42501" or "permission denied" in message:
            return WarehouseProblem(f"{doing}: {message}", grant=self._grant_for(message, doing, user))
        if "connection refused" in message.lower() or "could not connect" in message.lower():
            where = f"{self.url.host or 'localhost'}:{self.url.port or 5432}"
            return WarehouseProblem(f"{doing}: cannot connect to PostgreSQL at {where}: {message}")
        return WarehouseProblem(f"{doing}: {message}")

    def _grant_for(self, message: str, doing: str, user: str | None) -> str:
        who = _ident(user or self.url.username or "CURRENT_USER")
        if "CONNECT privilege" in message:
            return f"GRANT CONNECT ON DATABASE {_ident(self.url.database or '')} TO {who}"
        if "pg_stat_statements" in doing:
            return f"GRANT pg_read_all_stats TO {who}"
        match = _PERMISSION.search(message)
        if match is None:
            return f"GRANT SELECT ON <the table named above> TO {who}"
        kind, name = match.groups()
        if kind == "schema":
            return f"GRANT USAGE ON SCHEMA {name} TO {who}"
        if kind == "database":
            return f"GRANT CONNECT ON DATABASE {name} TO {who}"
        qualified = _table_in(doing) or name
        return f"GRANT SELECT ON {qualified} TO {who}"


def _table_fields(row: Any) -> dict[str, Any]:
    reltuples = row["reltuples"]
    live = row["live_rows"]
    row_count: int | None = None
    if row["relkind"] in ("r", "m", "p"):
        if live is not None and (live > 0 or reltuples is None or reltuples <= 0):
            row_count = int(live)
        elif reltuples is not None and reltuples >= 0:
            row_count = int(reltuples)
    counters = {}
    if row["inserted"] is not None:
        counters = {"inserted": row["inserted"], "updated": row["updated"], "deleted": row["deleted"]}
    return {
        "kind": _KINDS[row["relkind"]],
        "description": row["description"],
        "row_count": row_count,
        "size_bytes": row["size_bytes"] if row["relkind"] != "p" else 0,
        "write_counters": counters,
    }


def _fold_partition(root: dict[str, Any], row: Any) -> None:
    partition = _table_fields(row)
    if partition["row_count"] is not None:
        root["row_count"] = (root["row_count"] or 0) + partition["row_count"]
    root["size_bytes"] = (root["size_bytes"] or 0) + (partition["size_bytes"] or 0)
    counters = dict(root["write_counters"])
    for name, value in partition["write_counters"].items():
        counters[name] = counters.get(name, 0) + value
    root["write_counters"] = counters


def _ident(name: str) -> str:
    from sqlglot import exp

    return exp.to_identifier(name).sql("postgres")


def _table_in(doing: str) -> str | None:
    match = re.search(r"\btable (\S+)", doing)
    return match.group(1) if match else None
