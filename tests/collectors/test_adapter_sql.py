"""The Snowflake, BigQuery and Redshift adapters were written against their documented catalog views and
never ran against a live system. Their SQL is checked here: it parses in its own dialect, and it runs
on DuckDB over fixture tables that have the documented views' columns, feeding the adapter's own row
reader, so column names, joins and filters are exercised."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import duckdb
import pytest
import sqlglot

from collectors.warehouse import bigquery, redshift, snowflake
from collectors.warehouse.base import TableInfo
from tests.collectors.helpers import on_duckdb

SINCE = "CAST('2026-03-09 00:00:00' AS TIMESTAMP)"
UNTIL = "CAST('2026-03-10 00:00:00' AS TIMESTAMP)"


def _bound(sql: str, style: str = ":") -> str:
    return sql.replace(f"{style}since", SINCE).replace(f"{style}until", UNTIL)


@pytest.fixture
def views() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    yield connection
    connection.close()


def _by_key(tables: list[TableInfo]) -> dict[str, TableInfo]:
    return {table.key: table for table in tables}


@pytest.mark.parametrize(
    ("dialect", "statements"),
    [
        (
            "snowflake",
            [
                snowflake.IDENTITY_SQL,
                snowflake.TABLES_SQL,
                snowflake.COLUMNS_SQL,
                snowflake.QUERY_HISTORY_SQL,
            ],
        ),
        (
            "bigquery",
            [
                statement.format(project="my-project", region="eu")
                for statement in (bigquery.TABLES_SQL, bigquery.COLUMNS_SQL, bigquery.JOBS_SQL)
            ],
        ),
        (
            "redshift",
            [redshift.IDENTITY_SQL, redshift.TABLES_SQL, redshift.COLUMNS_SQL, redshift.QUERY_HISTORY_SQL],
        ),
    ],
)
def test_catalog_sql_parses_in_its_dialect(dialect: str, statements: list[str]) -> None:
    for statement in statements:
        sqlglot.parse_one(statement, read=dialect, error_level=sqlglot.ErrorLevel.RAISE)


def test_snowflake_catalog_queries_describe_tables_with_counts_sizes_and_last_altered(
    views: duckdb.DuckDBPyConnection,
) -> None:
    views.execute(
        """CREATE TABLE sf_tables AS SELECT * FROM (VALUES
             ('ANALYTICS', 'PUBLIC', 'ORDERS', 'BASE TABLE', 'all orders', 1200, 65536,
              TIMESTAMPTZ '2026-03-10 06:00:00+00'),
             ('ANALYTICS', 'MARTS', 'PAID', 'VIEW', NULL, NULL, NULL, TIMESTAMPTZ '2026-01-01 00:00:00+00'),
             ('ANALYTICS', 'INFORMATION_SCHEMA', 'TABLES', 'VIEW', NULL, NULL, NULL, NULL))
           AS t(table_catalog, table_schema, table_name, table_type, comment, row_count, bytes, last_altered)"""
    )
    views.execute(
        """CREATE TABLE sf_columns AS SELECT * FROM (VALUES
             ('PUBLIC', 'ORDERS', 'AMOUNT', 'NUMBER', 'YES', 'in EUR', 2),
             ('PUBLIC', 'ORDERS', 'ID', 'NUMBER', 'NO', NULL, 1),
             ('MARTS', 'PAID', 'ID', 'NUMBER', 'YES', NULL, 1))
           AS t(table_schema, table_name, column_name, data_type, is_nullable, comment, ordinal_position)"""
    )
    mapping = {"information_schema.tables": "sf_tables", "information_schema.columns": "sf_columns"}
    tables = _by_key(
        snowflake.snapshot_tables(
            on_duckdb(snowflake.TABLES_SQL, "snowflake", mapping, views),
            on_duckdb(snowflake.COLUMNS_SQL, "snowflake", mapping, views),
        )
    )
    assert set(tables) == {"PUBLIC.ORDERS", "MARTS.PAID"}
    orders = tables["PUBLIC.ORDERS"]
    assert [column.name for column in orders.columns] == ["ID", "AMOUNT"]
    assert orders.columns[0].nullable is False and orders.columns[1].description == "in EUR"
    assert (orders.row_count, orders.size_bytes) == (1200, 65536)
    assert orders.last_modified == datetime(2026, 3, 10, 6, tzinfo=UTC)
    assert tables["MARTS.PAID"].kind == "VIEW" and tables["MARTS.PAID"].last_modified is None


def test_snowflake_query_history_selects_successful_writes_in_the_window(
    views: duckdb.DuckDBPyConnection,
) -> None:
    views.execute(
        """CREATE TABLE sf_history AS SELECT * FROM (VALUES
             ('q1', 'INSERT INTO marts.daily SELECT * FROM public.orders', 'ANALYTICS', 'PUBLIC', 'ETL',
              TIMESTAMPTZ '2026-03-09 10:00:00+00', 'SUCCESS', 'INSERT'),
             ('q2', 'SELECT 1', 'ANALYTICS', 'PUBLIC', 'BI', TIMESTAMPTZ '2026-03-09 10:00:00+00', 'SUCCESS', 'SELECT'),
             ('q3', 'MERGE INTO t USING s ON 1=1', 'ANALYTICS', 'PUBLIC', 'ETL',
              TIMESTAMPTZ '2026-03-09 11:00:00+00', 'FAIL', 'MERGE'),
             ('q4', 'INSERT INTO t VALUES (1)', 'ANALYTICS', 'PUBLIC', 'ETL',
              TIMESTAMPTZ '2026-03-08 11:00:00+00', 'SUCCESS', 'INSERT'))
           AS t(query_id, query_text, database_name, schema_name, user_name, end_time, execution_status, query_type)"""
    )
    rows = on_duckdb(
        _bound(snowflake.QUERY_HISTORY_SQL), "snowflake", {"account_usage.query_history": "sf_history"}, views
    )
    queries = snowflake.logged_queries(rows)
    assert [(query.key, query.default_database, query.default_schema) for query in queries] == [
        ("q1", "ANALYTICS", "PUBLIC")
    ]
    assert queries[0].finished_at == datetime(2026, 3, 9, 10, tzinfo=UTC)


def test_bigquery_catalog_queries_join_descriptions_and_storage(views: duckdb.DuckDBPyConnection) -> None:
    views.execute(
        """CREATE TABLE bq_tables AS SELECT * FROM (VALUES
             ('sales', 'orders', 'BASE TABLE'), ('sales', 'paid', 'VIEW'))
           AS t(table_schema, table_name, table_type)"""
    )
    views.execute(
        """CREATE TABLE bq_options AS SELECT * FROM (VALUES
             ('sales', 'orders', 'description', '"All orders"'), ('sales', 'orders', 'labels', '[]'))
           AS t(table_schema, table_name, option_name, option_value)"""
    )
    views.execute(
        """CREATE TABLE bq_storage AS SELECT * FROM (VALUES
             ('sales', 'orders', 5000, 1048576, TIMESTAMPTZ '2026-03-10 05:00:00+00'))
           AS t(table_schema, table_name, total_rows, total_logical_bytes, storage_last_modified_time)"""
    )
    views.execute(
        """CREATE TABLE bq_columns AS SELECT * FROM (VALUES
             ('sales', 'orders', 'id', 'INT64', 'NO', 1), ('sales', 'orders', 'amount', 'NUMERIC', 'YES', 2),
             ('sales', 'paid', 'id', 'INT64', 'YES', 1))
           AS t(table_schema, table_name, column_name, data_type, is_nullable, ordinal_position)"""
    )
    views.execute(
        """CREATE TABLE bq_paths AS SELECT * FROM (VALUES ('sales', 'orders', 'amount', 'gross, EUR'))
           AS t(table_schema, table_name, field_path, description)"""
    )
    mapping = {
        "information_schema.tables": "bq_tables",
        "information_schema.table_options": "bq_options",
        "information_schema.table_storage": "bq_storage",
        "information_schema.columns": "bq_columns",
        "information_schema.column_field_paths": "bq_paths",
    }
    tables_sql = bigquery.TABLES_SQL.format(project="my-project", region="eu")
    columns_sql = bigquery.COLUMNS_SQL.format(project="my-project", region="eu")
    tables = _by_key(
        bigquery.snapshot_tables(
            on_duckdb(tables_sql, "bigquery", mapping, views),
            on_duckdb(columns_sql, "bigquery", mapping, views),
        )
    )
    orders = tables["sales.orders"]
    assert orders.description == "All orders"
    assert (orders.row_count, orders.size_bytes) == (5000, 1048576)
    assert orders.last_modified == datetime(2026, 3, 10, 5, tzinfo=UTC)
    assert [(c.name, c.type, c.nullable, c.description) for c in orders.columns] == [
        ("id", "INT64", False, None),
        ("amount", "NUMERIC", True, "gross, EUR"),
    ]
    assert tables["sales.paid"].kind == "VIEW"


def test_bigquery_jobs_query_keeps_successful_write_statements(views: duckdb.DuckDBPyConnection) -> None:
    views.execute(
        """CREATE TABLE bq_jobs AS SELECT * FROM (VALUES
             ('j1', 'INSERT INTO sales.daily SELECT 1', 'etl@p.iam', TIMESTAMPTZ '2026-03-09 10:00:00+00',
              TIMESTAMPTZ '2026-03-09 09:59:00+00', 'QUERY', 'DONE', NULL, 'INSERT'),
             ('j2', 'SELECT 1', 'bi@p.iam', TIMESTAMPTZ '2026-03-09 10:00:00+00',
              TIMESTAMPTZ '2026-03-09 09:59:00+00', 'QUERY', 'DONE', NULL, 'SELECT'),
             ('j3', 'INSERT INTO x SELECT 1', 'etl@p.iam', TIMESTAMPTZ '2026-03-09 10:00:00+00',
              TIMESTAMPTZ '2026-03-09 09:59:00+00', 'QUERY', 'DONE', 'quota', 'INSERT'))
           AS t(job_id, query, user_email, end_time, creation_time, job_type, state, error_result, statement_type)"""
    )
    sql = _bound(bigquery.JOBS_SQL.format(project="my-project", region="eu"))
    rows = on_duckdb(sql, "bigquery", {"information_schema.jobs_by_project": "bq_jobs"}, views)
    assert [row[0] for row in rows] == ["j1"]


def test_redshift_catalog_queries_read_svv_views(views: duckdb.DuckDBPyConnection) -> None:
    views.execute(
        """CREATE TABLE rs_tables AS SELECT * FROM (VALUES
             ('dev', 'public', 'orders', 'BASE TABLE', 'orders'), ('dev', 'public', 'empty', 'BASE TABLE', NULL),
             ('dev', 'public', 'paid', 'VIEW', NULL), ('dev', 'pg_catalog', 'pg_class', 'BASE TABLE', NULL),
             ('other', 'public', 'orders', 'BASE TABLE', NULL))
           AS t(table_catalog, table_schema, table_name, table_type, remarks)"""
    )
    views.execute(
        """CREATE TABLE rs_info AS SELECT * FROM (VALUES ('public', 'orders', 4200, 3))
           AS t("schema", "table", estimated_visible_rows, size)"""
    )
    views.execute(
        """CREATE TABLE rs_columns AS SELECT * FROM (VALUES
             ('dev', 'public', 'orders', 'id', 'integer', 'NO', NULL, 1),
             ('dev', 'public', 'paid', 'id', 'integer', 'YES', NULL, 1))
           AS t(table_catalog, table_schema, table_name, column_name, data_type, is_nullable, remarks, ordinal_position)"""
    )
    views.execute("CREATE MACRO current_database() AS 'dev'")
    mapping = {"svv_tables": "rs_tables", "svv_table_info": "rs_info", "svv_columns": "rs_columns"}
    tables = _by_key(
        redshift.snapshot_tables(
            on_duckdb(redshift.TABLES_SQL, "redshift", mapping, views),
            on_duckdb(redshift.COLUMNS_SQL, "redshift", mapping, views),
        )
    )
    assert set(tables) == {"public.orders", "public.empty", "public.paid"}
    assert (tables["public.orders"].row_count, tables["public.orders"].size_bytes) == (4200, 3 * 1024 * 1024)
    assert (tables["public.empty"].row_count, tables["public.empty"].size_bytes) == (0, 0)
    assert tables["public.paid"].row_count is None and tables["public.paid"].kind == "VIEW"
