"""Query log → lineage: which logged statements ran since the last pass, the job each statement shape
belongs to (one per fingerprint), and the edges and written tables the SQL lineage engine finds."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlglot
from sqlglot import exp

from collectors.warehouse.base import LoggedQuery, QueryLog
from observer.catalog.identity import DatasetRef, JobRef
from observer.lineage import analyze_sql

_SPACE = re.compile(r"\s+")


def fingerprint(sql: str, dialect: str) -> str:
    """16 hex digits naming a statement's shape: literals become ``?``, layout and keyword case vanish,
    so the same INSERT with other values is the same job."""
    try:
        statements = [
            statement.transform(_placeholder).sql(dialect=dialect)
            for statement in sqlglot.parse(sql, read=dialect)
            if statement is not None
        ]
        normalized = ";".join(statements)
    except Exception:
        normalized = _SPACE.sub(" ", sql.strip().lower())
    return hashlib.sha256(normalized.encode()).hexdigest()[:16]


def _placeholder(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Literal | exp.Parameter | exp.Placeholder):
        return exp.Placeholder()
    return node


def query_job(namespace: str, sql: str, dialect: str) -> JobRef:
    """The job a logged statement is attributed to: ``query.<fingerprint>`` in the warehouse namespace."""
    return JobRef(namespace, f"query.{fingerprint(sql, dialect)}")


def query_facets(sql: str, dialect: str) -> dict[str, Any]:
    """OpenLineage job facets of a statement's job: its SQL and what kind of job it is."""
    return {
        "sql": {"query": sql, "dialect": dialect},
        "jobType": {"processingType": "BATCH", "integration": dialect.upper(), "jobType": "QUERY"},
    }


@dataclass(frozen=True)
class QueryRun:
    """Runs of one logged statement that this pass accounts for."""

    query: LoggedQuery
    runs: int
    written_at: datetime | None
    """When its outputs were written, if known: the log's finish time, or this pass for a counter that
    grew. None when a statement is first seen in a cumulative log (its runs predate Observer)."""


def new_runs(
    log: QueryLog, previous: Mapping[str, int], observed_at: datetime
) -> tuple[list[QueryRun], dict[str, int]]:
    """The runs since the last pass, and the run counters to remember for the next one."""
    runs: list[QueryRun] = []
    counters: dict[str, int] = {}
    for query in log.queries:
        if not query.cumulative:
            runs.append(QueryRun(query, query.runs, query.finished_at))
            continue
        counters[query.key] = query.runs
        before = previous.get(query.key)
        if before is None:
            runs.append(QueryRun(query, query.runs, None))
        elif query.runs > before:
            runs.append(QueryRun(query, query.runs - before, observed_at))
        elif query.runs < before and query.runs > 0:
            runs.append(QueryRun(query, query.runs, observed_at))
    return runs, counters


@dataclass
class AnalyzedQuery:
    job: JobRef
    sql: str
    statements: list[dict[str, Any]]
    outputs: list[DatasetRef] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class QueryAnalyzer:
    """Runs the SQL lineage engine once per statement shape, with the warehouse's tables as schema."""

    def __init__(
        self,
        namespace: str,
        dialect: str,
        resolve: Callable[[str], DatasetRef],
        schema: Mapping[str, Mapping[str, str | None]],
    ) -> None:
        self.namespace = namespace
        self.dialect = dialect
        self.resolve = resolve
        self.schema = schema
        self._cache: dict[tuple[str, str | None, str | None], AnalyzedQuery] = {}

    def analyze(self, query: LoggedQuery) -> AnalyzedQuery:
        job = query_job(self.namespace, query.sql, self.dialect)
        key = (job.name, query.default_database, query.default_schema)
        if key not in self._cache:
            result = analyze_sql(
                query.sql,
                self.dialect,
                schema=self.schema,
                default_db=query.default_database,
                default_schema=query.default_schema,
            ).to_dict()
            statements = result["statements"]
            outputs = [self.resolve(name) for statement in statements for name in statement["outputs"]]
            errors = list(result["errors"]) + [e for statement in statements for e in statement["errors"]]
            self._cache[key] = AnalyzedQuery(job, query.sql, statements, sorted(set(outputs)), errors)
        return self._cache[key]
