"""analyze_sql never raises, whatever it is given, and keeps to its time budget."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from observer.lineage import Status, analyze_sql

SEEDS = [
    "SELECT a, b FROM t WHERE c > 1",
    "INSERT INTO x (a) SELECT sum(b) OVER (PARTITION BY c) FROM y JOIN z USING (k)",
    "WITH c AS (SELECT * FROM t) MERGE INTO m USING c ON m.id = c.id WHEN MATCHED THEN UPDATE SET v = c.v",
    "UPDATE t SET a = s.b FROM s WHERE s.id = t.id; DELETE FROM t WHERE a IS NULL",
    "CREATE VIEW v AS SELECT CASE WHEN a THEN b ELSE c END AS d FROM (SELECT * FROM t) q",
    "SELECT * FROM t PIVOT (SUM(v) FOR k IN ('a', 'b')) AS p UNPIVOT (x FOR n IN (a, b))",
    "USE SCHEMA s; PIVOT t ON k USING sum(v); ALTER TABLE t RENAME COLUMN a TO b; ALTER TABLE t SWAP WITH u",
]
DIALECTS = [
    None,
    "postgres",
    "snowflake",
    "bigquery",
    "duckdb",
    "spark",
    "tsql",
    "mysql",
    "redshift",
    "trino",
]
SQL_ALPHABET = st.sampled_from(
    [
        *"abcxyz0123456789 ,.;()*'\"`[]=<>+-/\n",
        "SELECT",
        "FROM",
        "WHERE",
        "JOIN",
        "ON",
        "WITH",
        "AS",
        "UNION",
        "INSERT INTO",
        "VALUES",
        "CASE",
        "WHEN",
        "END",
        "OVER",
        "PARTITION BY",
        "GROUP BY",
        "MERGE",
        "UPDATE",
        "PIVOT",
        "UNPIVOT",
        "FOR",
        "IN",
        "USE",
        "ALTER TABLE",
        "RENAME",
    ]
)


def _assert_well_formed(sql: str, dialect: str | None, budget: float = 2.0) -> None:
    result = analyze_sql(sql, dialect, time_budget_s=budget)
    json.dumps(result.to_dict())
    for statement in result.statements:
        if statement.status in (Status.TABLE_LEVEL, Status.FAILED):
            assert statement.errors
        assert not any("internal error" in error for error in statement.errors), statement.errors


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300), st.sampled_from(DIALECTS))
def test_random_text_never_raises(sql: str, dialect: str | None) -> None:
    _assert_well_formed(sql, dialect)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(SQL_ALPHABET, max_size=60).map(" ".join), st.sampled_from(DIALECTS))
def test_sql_like_token_soup_never_raises(sql: str, dialect: str | None) -> None:
    _assert_well_formed(sql, dialect)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SEEDS), st.data(), st.sampled_from(DIALECTS))
def test_mutated_statements_never_raise(seed: str, data: st.DataObject, dialect: str | None) -> None:
    position = data.draw(st.integers(0, len(seed)))
    cut = data.draw(st.integers(0, 8))
    insert = data.draw(st.text(max_size=8))
    _assert_well_formed(seed[:position] + insert + seed[position + cut :], dialect)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(SEEDS), st.sampled_from(DIALECTS))
def test_an_exhausted_budget_falls_back_to_table_level(seed: str, dialect: str | None) -> None:
    result = analyze_sql(seed, dialect, time_budget_s=0.0)
    for statement in result.statements:
        if statement.status is Status.TABLE_LEVEL:
            assert any("time budget" in error for error in statement.errors)
            assert statement.inputs or statement.outputs
            assert not statement.columns
    assert any(s.status is Status.TABLE_LEVEL for s in result.statements if s.inputs)


def test_budget_uses_the_timer_it_is_given() -> None:
    ticks = iter(range(1000))
    result = analyze_sql("SELECT a, b, c FROM t", time_budget_s=3, timer=lambda: float(next(ticks)))
    statement = result.statements[0]
    assert statement.status is Status.TABLE_LEVEL and statement.inputs == ["t"]


def test_deep_nesting_gives_table_level_lineage() -> None:
    sql = "SELECT * FROM " + "(SELECT * FROM " * 500 + "deep_table" + ") x" * 500
    result = analyze_sql(sql)
    statement = result.statements[0]
    assert statement.errors
    assert statement.inputs == ["deep_table"]


def test_a_one_megabyte_query_is_answered_with_table_lineage() -> None:
    columns = ", ".join(f"a{i} + b{i} AS c{i}" for i in range(45000))
    sql = f"INSERT INTO big_target SELECT {columns} FROM big_source"
    assert len(sql) > 1_000_000
    result = analyze_sql(sql, time_budget_s=0.5)
    statement = result.statements[0]
    assert statement.outputs == ["big_target"] and statement.inputs == ["big_source"]
    assert statement.errors


def test_unterminated_strings_still_yield_tables() -> None:
    statement = analyze_sql("INSERT INTO t SELECT 'oops FROM s").statements[0]
    assert statement.errors
    assert statement.outputs == ["t"]


def test_empty_and_comment_only_input() -> None:
    assert analyze_sql("").statements == []
    assert analyze_sql("-- nothing here\n").statements == []


def test_odd_pivot_forms_are_answered_without_internal_errors() -> None:
    for sql in (
        "PIVOT t ON k IN other USING sum(v)",
        "SELECT * FROM t PIVOT (SUM(v) FOR k IN ())",
        "SELECT * FROM t UNPIVOT (v FOR n IN ())",
        "WITH c AS (UNPIVOT t ON COLUMNS(*)) SELECT * FROM c",
    ):
        _assert_well_formed(sql, "duckdb")
