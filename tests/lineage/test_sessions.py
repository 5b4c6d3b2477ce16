"""``USE`` and its relatives: later unqualified tables resolve against the database and schema chosen.

What ``USE x`` names depends on the dialect: a database holding schemas (Snowflake, T-SQL, DuckDB)
or the namespace right above the tables (MySQL, Hive, Spark, Databricks, Trino, Teradata...).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from collectors.warehouse.base import LoggedQuery
from collectors.warehouse.query_history import QueryAnalyzer
from observer.catalog.identity import DatasetRef, JobRef
from observer.graph.model import LineageBatch
from observer.ingest.sql_lineage import SqlLineageWorker
from observer.ingest.sql_queue import QueuedQuery
from observer.lineage import StatementType, Status

from .support import analyse, columns_of, direct


def test_use_database_and_schema_qualify_the_statements_after_them() -> None:
    result = analyse(
        """
        SELECT a FROM t;
        USE DATABASE analytics;
        SELECT a FROM t;
        USE SCHEMA mart;
        INSERT INTO daily SELECT a FROM raw.t;
        USE WAREHOUSE transform_wh;
        USE ROLE loader;
        SELECT a FROM t;
        USE SCHEMA finance.ledger;
        SELECT a FROM t;
        """,
        "snowflake",
        default_db="home",
        default_schema="work",
    )
    reads = [s.inputs for s in result.statements if s.type is not StatementType.OTHER]
    assert reads == [
        ["HOME.WORK.T"],
        ["ANALYTICS.PUBLIC.T"],  # a new database starts in its PUBLIC schema
        ["ANALYTICS.RAW.T"],
        ["ANALYTICS.MART.T"],  # warehouses and roles do not change names
        ["FINANCE.LEDGER.T"],
    ]
    assert result.statements[4].outputs == ["ANALYTICS.MART.DAILY"]


@pytest.mark.parametrize(
    ("dialect", "script", "read"),
    [
        ("snowflake", "USE analytics.mart", "ANALYTICS.MART.T"),
        ("snowflake", "CREATE DATABASE IF NOT EXISTS scratch", "SCRATCH.PUBLIC.T"),
        ("snowflake", "CREATE SCHEMA analytics.tmp", "ANALYTICS.TMP.T"),
        ("tsql", "USE Shop", "shop.dbo.t"),  # the database changes, the schema stays
        ("duckdb", "USE lake", "lake.main.t"),
        ("duckdb", "USE lake.staging", "lake.staging.t"),
        ("mysql", "USE Shop", "Shop.t"),
        ("hive", "USE raw", "raw.t"),
        ("spark", "USE raw", "raw.t"),
        ("databricks", "USE SCHEMA sales", "sales.t"),
        ("databricks", "USE CATALOG main", "main.default.t"),
        ("databricks", "USE hive_metastore.raw", "hive_metastore.raw.t"),
        ("trino", "USE hive.web", "hive.web.t"),
        ("trino", "USE web", "web.t"),
        ("clickhouse", "USE events", "events.t"),
        ("teradata", "DATABASE sales", "sales.t"),
        ("postgres", 'SET search_path TO "$user", mart, public', "mart.t"),
        ("postgres", "SET search_path = staging", "staging.t"),
        ("redshift", "SET search_path TO mart", "mart.t"),
        ("oracle", "ALTER SESSION SET CURRENT_SCHEMA = sales", "SALES.T"),
        ("bigquery", "SET @@dataset_id = 'Sales'", "Sales.t"),
    ],
)
def test_session_statements_per_dialect(dialect: str, script: str, read: str) -> None:
    result = analyse(f"{script}; SELECT a FROM t", dialect)
    assert [s.type for s in result.statements] == [StatementType.OTHER, StatementType.SELECT]
    assert result.statements[-1].inputs == [read]


def test_a_use_of_something_that_is_not_a_name_keeps_the_previous_default() -> None:
    result = analyse("USE SCHEMA IDENTIFIER($target); SELECT a FROM t", "snowflake", default_schema="stage")
    use, select = result.statements
    assert use.status is Status.PARTIAL and use.unresolved
    assert select.inputs == ["STAGE.T"]


def test_script_tables_are_found_by_the_name_they_were_created_under() -> None:
    result = analyse(
        """
        USE SCHEMA staging;
        CREATE TEMPORARY TABLE tmp AS SELECT id, amount FROM raw.payments;
        USE SCHEMA mart;
        INSERT INTO payments SELECT * FROM staging.tmp;
        """,
        "snowflake",
        default_db="dw",
    )
    insert = result.statements[-1]
    assert insert.outputs == ["DW.MART.PAYMENTS"]
    assert direct(columns_of(insert)) == {
        "ID": {("DW.STAGING.TMP", "ID")},
        "AMOUNT": {("DW.STAGING.TMP", "AMOUNT")},
    }


def test_statements_that_do_not_parse_are_still_qualified_by_use() -> None:
    result = analyse("USE DATABASE analytics; SELECT a FROM t JOIN (", "snowflake")
    assert result.statements[-1].status is Status.TABLE_LEVEL
    assert result.statements[-1].inputs == ["ANALYTICS.PUBLIC.T"]


SCRIPT = """
USE SCHEMA analytics.staging;
INSERT INTO analytics.mart.orders SELECT id, amount FROM orders;
"""


def test_warehouse_query_logs_resolve_names_after_use() -> None:
    analyzer = QueryAnalyzer(
        "snowflake://acme", "snowflake", lambda name: DatasetRef("snowflake://acme", name.lower()), schema={}
    )
    analyzed = analyzer.analyze(
        LoggedQuery(sql=SCRIPT, key="q1", default_database="ANALYTICS", default_schema="PUBLIC")
    )
    insert = analyzed.statements[-1]
    assert insert["inputs"] == ["ANALYTICS.STAGING.ORDERS"]
    assert analyzed.outputs == [DatasetRef("snowflake://acme", "analytics.mart.orders")]


class _OneQuery:
    """The SQL queue as the worker sees it, holding one query."""

    def __init__(self, query: QueuedQuery) -> None:
        self.query = query
        self.done: list[int] = []

    def pending(self, limit: int) -> list[QueuedQuery]:
        return [] if self.done else [self.query]

    def mark_done(self, query_id: int) -> None:
        self.done.append(query_id)

    def mark_failed(self, query_id: int, reason: str) -> None:
        raise AssertionError(reason)


class _Graph:
    def __init__(self) -> None:
        self.batches: list[LineageBatch] = []

    def record(self, batch: LineageBatch) -> None:
        self.batches.append(batch)


def test_openlineage_sql_facets_resolve_names_after_use() -> None:
    staging = DatasetRef("snowflake://acme", "analytics.staging.orders")
    mart = DatasetRef("snowflake://acme", "analytics.mart.orders")
    queue = _OneQuery(
        QueuedQuery(
            job=JobRef("airflow", "load_orders"),
            sql=SCRIPT,
            dialect="snowflake",
            run_uuid="5b3f3e9e-2c7a-4a39-9f5d-0c1f1bb6e0aa",
            event_time=datetime(2026, 5, 1, tzinfo=UTC),
            inputs=[staging],
            outputs=[mart],
            default_namespace="snowflake://acme",
            id=1,
        )
    )
    graph = _Graph()
    worker: Any = SqlLineageWorker(queue, graph, time_budget_s=2.0)  # type: ignore[arg-type]
    assert worker.run_once() == 1
    [batch] = graph.batches
    edges = {(e.source.dataset, e.source.field, e.target.dataset, e.target.field) for e in batch.column_edges}
    # ``orders`` is the staging table named by USE, not the mart table the statement writes
    assert (staging, "AMOUNT", mart, "AMOUNT") in edges
    assert all(source == staging for source, _, _, _ in edges)
