"""Compact views of lineage results for readable assertions."""

from __future__ import annotations

from typing import Any

from observer.lineage import LineageResult, StatementLineage, analyze_sql

Columns = dict[str, dict[tuple[str, str], set[str]]]


def columns_of(statement: StatementLineage) -> Columns:
    """``{output column: {(table, column): {subtype, ...}}}``."""
    return {
        column.output.column: {
            (i.table, i.column): {t.subtype.value for t in i.transformations} for i in column.inputs
        }
        for column in statement.columns
    }


def direct(columns: Columns) -> dict[str, set[tuple[str, str]]]:
    """Only the inputs whose values flow into each output (DIRECT)."""
    kinds = {"IDENTITY", "TRANSFORMATION", "AGGREGATION"}
    return {
        name: {key for key, subtypes in inputs.items() if subtypes & kinds}
        for name, inputs in columns.items()
    }


def last(sql: str, dialect: str | None = None, **options: Any) -> StatementLineage:
    result = analyze_sql(sql, dialect, **options)
    assert result.statements, result.errors
    return result.statements[-1]


def analyse(sql: str, dialect: str | None = None, **options: Any) -> LineageResult:
    return analyze_sql(sql, dialect, **options)
