"""One profile query per table, written once and generated per dialect, measures what detectors need."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import duckdb
import pytest
import sqlglot
from sqlglot import exp

from collectors.warehouse.profile import (
    ProfileColumn,
    ProfileResult,
    build_count_query,
    build_profile_query,
    column_kind,
    read_profile,
)
from tests.collectors.helpers import on_duckdb

SINCE = datetime(2024, 1, 2, tzinfo=UTC)
UNTIL = datetime(2024, 2, 1, tzinfo=UTC)
TYPES = {
    "duckdb": ("DECIMAL(10,1)", "VARCHAR", "TIMESTAMP WITH TIME ZONE"),
    "postgres": ("numeric(10,1)", "text", "timestamp with time zone"),
    "snowflake": ("NUMBER(10,1)", "TEXT", "TIMESTAMP_TZ"),
    "bigquery": ("NUMERIC", "STRING", "TIMESTAMP"),
    "redshift": ("numeric(10,1)", "character varying(20)", "timestamp with time zone"),
}


@pytest.fixture
def orders() -> Iterator[duckdb.DuckDBPyConnection]:
    """100 orders, one an hour from 2024-01-01 00:00 UTC; amounts 0, 1.5 … 9 cycling; a third without status."""
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    connection.execute(
        """CREATE TABLE orders AS
           SELECT i AS id,
                  (i % 7) * 1.5 AS amount,
                  CASE i % 3 WHEN 0 THEN 'new' WHEN 1 THEN 'paid' END AS status,
                  TIMESTAMPTZ '2024-01-01 00:00:00+00' + i * INTERVAL 1 HOUR AS created_at
           FROM range(100) AS t(i)"""
    )
    yield connection
    connection.close()


def _columns(dialect: str) -> list[ProfileColumn]:
    amount, status, created_at = TYPES[dialect]
    return [
        ProfileColumn("amount", amount, column_kind(amount, dialect)),
        ProfileColumn("status", status, column_kind(status, dialect)),
        ProfileColumn("created_at", created_at, column_kind(created_at, dialect)),
    ]


def _profile(dialect: str, connection: duckdb.DuckDBPyConnection) -> ProfileResult:
    columns = _columns(dialect)
    query = build_profile_query(
        exp.table_("orders", quoted=True),
        columns,
        dialect=dialect,
        timestamp=columns[2],
        bucket="day",
        buckets_since=SINCE,
        buckets_until=UNTIL,
        top_categories=5,
    )
    return read_profile(query, on_duckdb(query.sql, dialect, {}, connection))


def test_column_kinds_come_from_catalog_types() -> None:
    assert [column.kind for column in _columns("postgres")] == ["numeric", "text", "temporal"]
    assert column_kind("boolean", "postgres") == "boolean"
    assert column_kind("jsonb", "postgres") == "other"
    assert column_kind("mood", "postgres") == "other"


def test_duckdb_profile_measures_nulls_distincts_moments_quartiles_categories_and_buckets(
    orders: duckdb.DuckDBPyConnection,
) -> None:
    result = _profile("duckdb", orders)
    assert result.value("", "rows") == 100
    assert result.value("status", "non_null") == 67
    assert result.value("status", "distinct_count") == 2
    assert result.value("amount", "min") == 0 and result.value("amount", "max") == 9
    assert result.value("amount", "mean") == pytest.approx(4.425)
    assert result.value("amount", "p50") == pytest.approx(4.5)
    assert result.value("created_at", "max") == datetime(2024, 1, 5, 3, tzinfo=UTC).timestamp()
    assert result.value("created_at", "newest") == datetime(2024, 1, 5, 3, tzinfo=UTC).timestamp()
    assert result.categories["status"] == [("new", 34), ("paid", 33)]
    assert result.buckets == [
        (datetime(2024, 1, 2, tzinfo=UTC), 24),
        (datetime(2024, 1, 3, tzinfo=UTC), 24),
        (datetime(2024, 1, 4, tzinfo=UTC), 24),
        (datetime(2024, 1, 5, tzinfo=UTC), 4),
    ]


@pytest.mark.parametrize("dialect", ["postgres", "snowflake", "bigquery", "redshift"])
def test_every_dialect_gets_sql_of_its_own_that_parses(dialect: str) -> None:
    columns = _columns(dialect)
    query = build_profile_query(
        exp.table_("orders", db="sales", quoted=True),
        columns,
        dialect=dialect,
        timestamp=columns[2],
        buckets_since=SINCE,
        buckets_until=UNTIL,
    )
    assert sqlglot.parse_one(query.sql, read=dialect) is not None
    if dialect == "postgres":
        assert "PERCENTILE_CONT(0.5) WITHIN GROUP" in query.sql and "COUNT(DISTINCT" in query.sql
    if dialect == "bigquery":
        assert (
            "APPROX_QUANTILES" in query.sql
            and "UNIX_SECONDS" in query.sql
            and "`sales`.`orders`" in query.sql
        )
    if dialect == "snowflake":
        assert "APPROX_PERCENTILE" in query.sql and "APPROX_COUNT_DISTINCT" in query.sql
    if dialect == "redshift":
        assert "APPROXIMATE PERCENTILE_DISC" in query.sql


@pytest.mark.parametrize("dialect", ["snowflake", "bigquery", "redshift"])
def test_other_dialects_measure_the_same_when_their_sql_runs_on_duckdb(
    dialect: str, orders: duckdb.DuckDBPyConnection
) -> None:
    expected = _profile("duckdb", orders)
    result = _profile(dialect, orders)
    for metric in ("rows", "non_null", "min", "max", "mean", "p50", "newest"):
        for column in ("", "amount", "status", "created_at"):
            assert result.value(column, metric) == pytest.approx(expected.value(column, metric))
    assert result.categories == expected.categories
    assert result.buckets == expected.buckets


def test_a_window_limits_column_metrics_to_recent_rows(orders: duckdb.DuckDBPyConnection) -> None:
    columns = _columns("duckdb")
    query = build_profile_query(
        exp.table_("orders", quoted=True),
        columns,
        dialect="duckdb",
        timestamp=columns[2],
        rows_since=datetime(2024, 1, 5, tzinfo=UTC),
    )
    result = read_profile(query, orders.execute(query.sql).fetchall())
    assert result.value("", "rows") == 4
    assert result.buckets == []


def test_exact_counts_of_many_tables_take_one_statement(orders: duckdb.DuckDBPyConnection) -> None:
    orders.execute("CREATE TABLE empty_one (id INTEGER)")
    sql = build_count_query(
        [("main.orders", exp.table_("orders", quoted=True)), ("main.empty_one", exp.table_("empty_one"))],
        "duckdb",
    )
    assert dict(orders.execute(sql).fetchall()) == {"main.orders": 100, "main.empty_one": 0}
