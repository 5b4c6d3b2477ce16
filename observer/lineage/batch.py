"""Batch lineage: one JSONL case in, one JSONL result out (``observer lineage batch``).

Input lines are ``{"id", "sql", "dialect", "default_db", "default_schema", "schema"}`` (extra fields
ignored); output lines are ``{"id", "error", "statements", "errors"}`` in input order. Lines that are
not JSON objects are input errors (:class:`BatchInputError`, naming file and line); a case whose
SQL does not parse is not: its result carries the errors.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, TextIO

from observer.lineage.analyzer import DEFAULT_TIME_BUDGET_S, analyze_sql

_CHUNK = 16


class BatchInputError(Exception):
    """A batch input that cannot be read; the message names the file and line."""


def read_cases(path: Path) -> list[dict[str, Any]]:
    try:
        handle = path.open(encoding="utf-8")
    except OSError as problem:
        raise BatchInputError(f"{path}: cannot read: {problem.strerror or problem}") from problem
    with handle:
        return list(parse_cases(handle, str(path)))


def parse_cases(lines: Iterable[str], name: str) -> Iterator[dict[str, Any]]:
    try:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                case = json.loads(line)
            except json.JSONDecodeError as problem:
                raise BatchInputError(f"{name}:{number}: invalid JSON: {problem.msg}") from problem
            if not isinstance(case, dict):
                raise BatchInputError(f"{name}:{number}: expected a JSON object, got {type(case).__name__}")
            yield case
    except UnicodeDecodeError as problem:
        raise BatchInputError(f"{name}: not UTF-8 text: {problem.reason}") from problem


def analyze_case(case: Mapping[str, Any], time_budget_s: float = DEFAULT_TIME_BUDGET_S) -> dict[str, Any]:
    """The output line for one case."""
    line: dict[str, Any] = {"id": case.get("id"), "error": None, "statements": [], "errors": []}
    sql = case.get("sql")
    if not isinstance(sql, str):
        line["error"] = "case has no 'sql' string"
        return line
    schema = case.get("schema")
    if schema is not None and not _is_schema(schema):
        line["error"] = "'schema' must map table names to {column: type} objects"
        return line
    result = analyze_sql(
        sql,
        _text(case.get("dialect")),
        schema=schema or None,
        default_db=_text(case.get("default_db")),
        default_schema=_text(case.get("default_schema")),
        time_budget_s=time_budget_s,
    )
    line.update(result.to_dict())
    if result.errors:
        line["error"] = "; ".join(result.errors)
    return line


def run_batch(
    cases: list[dict[str, Any]],
    output: TextIO,
    *,
    workers: int = 1,
    time_budget_s: float = DEFAULT_TIME_BUDGET_S,
) -> int:
    """Analyse ``cases`` and write one line each to ``output``; returns the number written.

    One process by default: on our shared 2-core machines a second process did not make batches
    reliably faster (docs/benchmarks.md), so ``workers`` > 1 is opt-in.
    """
    written = 0
    for line in _results(cases, max(1, workers), time_budget_s):
        output.write(json.dumps(line, ensure_ascii=False) + "\n")
        written += 1
    return written


def _results(cases: list[dict[str, Any]], workers: int, time_budget_s: float) -> Iterator[dict[str, Any]]:
    if workers == 1:
        for case in cases:
            yield analyze_case(case, time_budget_s)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(analyze_case, cases, [time_budget_s] * len(cases), chunksize=_CHUNK)


def _is_schema(value: object) -> bool:
    return isinstance(value, Mapping) and all(
        isinstance(columns, Mapping) or columns is None for columns in value.values()
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
