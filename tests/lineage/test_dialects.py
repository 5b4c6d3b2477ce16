"""Identifier case and default qualification per dialect."""

from __future__ import annotations

import pytest

from observer.lineage import analyze_sql

from .support import columns_of, direct, last

SQL = "INSERT INTO Reports.Daily SELECT o.Amount AS Total FROM Sales.Orders o"


@pytest.mark.parametrize(
    ("dialect", "target", "source", "column"),
    [
        ("postgres", "reports.daily", "sales.orders", "amount"),
        ("redshift", "reports.daily", "sales.orders", "amount"),
        ("duckdb", "reports.daily", "sales.orders", "amount"),
        ("trino", "reports.daily", "sales.orders", "amount"),
        ("tsql", "reports.daily", "sales.orders", "amount"),
        ("spark", "reports.daily", "sales.orders", "amount"),
        ("databricks", "reports.daily", "sales.orders", "amount"),
        ("snowflake", "REPORTS.DAILY", "SALES.ORDERS", "AMOUNT"),
        ("bigquery", "Reports.Daily", "Sales.Orders", "amount"),
        ("mysql", "Reports.Daily", "Sales.Orders", "Amount"),
    ],
)
def test_names_are_normalised_per_dialect(dialect: str, target: str, source: str, column: str) -> None:
    statement = last(SQL, dialect)
    assert statement.outputs == [target]
    assert statement.inputs == [source]
    assert list(direct(columns_of(statement)).values()) == [{(source, column)}]


@pytest.mark.parametrize(
    "dialect", ["postgres", "snowflake", "bigquery", "duckdb", "tsql", "trino", "redshift"]
)
def test_defaults_qualify_unqualified_tables(dialect: str) -> None:
    statement = last("SELECT a FROM t JOIN s.u ON t.id = u.id", dialect, default_db="db", default_schema="sc")
    assert [name.lower() for name in statement.inputs] == ["db.sc.t", "db.s.u"]


def test_quoted_identifiers_keep_their_case() -> None:
    statement = last('SELECT "MixedCase" FROM "Tbl"', "postgres")
    assert statement.inputs == ["Tbl"]
    assert list(columns_of(statement)) == ["MixedCase"]


def test_schema_columns_match_regardless_of_case() -> None:
    schema = {"db.sc.orders": {"TotalPrice": "float"}}
    statement = last('SELECT SUM(o."totalprice") AS total FROM db.sc.orders o', "snowflake", schema=schema)
    assert direct(columns_of(statement)) == {"TOTAL": {("DB.SC.ORDERS", "TotalPrice")}}


def test_bigquery_date_shards_fold_into_one_table() -> None:
    statement = last(
        "SELECT * FROM `proj.ds.events_20240101`", "bigquery", schema={"proj.ds.events_yyyymmdd": {"a": None}}
    )
    assert statement.inputs == ["proj.ds.events_yyyymmdd"]
    assert list(columns_of(statement)) == ["a"]


def test_dialect_aliases_and_unknown_dialects() -> None:
    assert not analyze_sql("SELECT 1", "mssql").errors
    unknown = analyze_sql("SELECT a FROM t", "no-such-sql")
    assert unknown.errors and "no-such-sql" in unknown.errors[0]
    assert unknown.statements[0].inputs == ["t"]
