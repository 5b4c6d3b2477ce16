"""``observer lineage``: SQL lineage commands (``sql``, ``batch``); graph walks join this group later."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import typer

from observer.cli.common import fail
from observer.lineage import DEFAULT_TIME_BUDGET_S, analyze_sql
from observer.lineage.batch import BatchInputError, read_cases, run_batch

lineage_app = typer.Typer(help="Lineage: parse SQL into column-level lineage.", no_args_is_help=True)

BudgetOption = typer.Option(
    DEFAULT_TIME_BUDGET_S, "--time-budget", min=0.0, help="Seconds per statement before table-level fallback."
)


def register(app: typer.Typer) -> None:
    app.add_typer(lineage_app, name="lineage")


@lineage_app.command("sql")
def sql_command(
    file: str = typer.Argument(..., help="SQL file, or - for standard input."),
    dialect: str | None = typer.Option(None, "--dialect", "-d", help="sqlglot dialect, e.g. snowflake."),
    schema: Path | None = typer.Option(
        None, "--schema", help='JSON: {"db.schema.table": {"column": "type"}}.'
    ),
    default_db: str | None = typer.Option(None, "--default-db", help="Database for unqualified tables."),
    default_schema: str | None = typer.Option(
        None, "--default-schema", help="Schema for unqualified tables."
    ),
    time_budget: float = BudgetOption,
) -> None:
    """Print the lineage JSON of the statements in FILE."""
    _quiet_sqlglot()
    text = _read_sql(file)
    tables = _read_schema(schema) if schema is not None else None
    result = analyze_sql(
        text,
        dialect,
        schema=tables,
        default_db=default_db,
        default_schema=default_schema,
        time_budget_s=time_budget,
    )
    typer.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))


@lineage_app.command("batch")
def batch_command(
    input_path: Path = typer.Option(
        ..., "--input", "-i", help="JSONL cases (id, sql, dialect, schema, ...)."
    ),
    output_path: Path = typer.Option(..., "--output", "-o", help="JSONL results, one line per case."),
    workers: int = typer.Option(1, "--workers", min=1, help="Processes (default 1; see docs/benchmarks.md)."),
    time_budget: float = BudgetOption,
) -> None:
    """Analyse every case of a JSONL file; write one result line per case."""
    _quiet_sqlglot()
    try:
        cases = read_cases(input_path)
    except BatchInputError as problem:
        fail(str(problem))
    try:
        with output_path.open("w", encoding="utf-8") as output:
            written = run_batch(cases, output, workers=workers, time_budget_s=time_budget)
    except OSError as problem:
        fail(f"{output_path}: cannot write: {problem.strerror or problem}")
    typer.echo(f"{written} cases written to {output_path}", err=True)


def _read_sql(file: str) -> str:
    if file == "-":
        return sys.stdin.read()
    path = Path(file)
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as problem:
        fail(f"{path}: cannot read: {getattr(problem, 'strerror', None) or problem}")


def _read_schema(path: Path) -> Mapping[str, Mapping[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as problem:
        fail(f"{path}: cannot read: {getattr(problem, 'strerror', None) or problem}")
    try:
        loaded = json.loads(text)
    except json.JSONDecodeError as problem:
        fail(f"{path}:{problem.lineno}: invalid JSON: {problem.msg}")
    if not isinstance(loaded, dict) or not all(isinstance(v, dict) for v in loaded.values()):
        fail(f'{path}:1: expected {{"db.schema.table": {{"column": "type"}}}}')
    return loaded


def _quiet_sqlglot() -> None:
    """sqlglot logs a warning for every statement it keeps as an opaque command; results say it."""
    logging.getLogger("sqlglot").setLevel(logging.ERROR)
