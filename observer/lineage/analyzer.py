"""``analyze_sql``: the one entry point, pure and never raising."""

from __future__ import annotations

from collections.abc import Mapping

from sqlglot.optimizer.normalize_identifiers import normalize_identifiers

from observer.lineage.budget import Budget, BudgetExceeded, Timer
from observer.lineage.catalog import Catalog, ColumnSource
from observer.lineage.model import LineageResult, StatementLineage, StatementType, Status
from observer.lineage.names import (
    LATERAL_ALIAS_DIALECTS,
    dialect_name,
    normalized_qualifier,
    resolve_dialect,
)
from observer.lineage.pivots import standard_pivots
from observer.lineage.scripts import Piece, parse_script
from observer.lineage.statements import Environment, StatementAnalysis
from observer.lineage.tables import tables_from_text, tables_from_tokens

DEFAULT_TIME_BUDGET_S = 2.0


def analyze_sql(
    sql: str,
    dialect: str | None = None,
    *,
    schema: Mapping[str, Mapping[str, str | None]] | None = None,
    catalog: Catalog | None = None,
    default_db: str | None = None,
    default_schema: str | None = None,
    time_budget_s: float = DEFAULT_TIME_BUDGET_S,
    timer: Timer | None = None,
) -> LineageResult:
    """Table- and column-level lineage of every statement in ``sql``.

    ``schema`` (``{"db.schema.table": {"column": "type"}}``) and then ``catalog`` supply table
    columns for ``SELECT *`` and unqualified columns; tables created earlier in the same script are
    known too. Names are normalised per dialect and qualified with ``default_db``/``default_schema``.
    Each statement gets ``time_budget_s`` seconds, after which it keeps table-level lineage only.
    Problems are reported in ``errors``, never raised.
    """
    result = LineageResult()
    try:
        _analyze(sql, dialect, schema, catalog, default_db, default_schema, time_budget_s, timer, result)
    except Exception as problem:  # the last guard: lineage must never take its caller down
        result.errors.append(f"internal error: {type(problem).__name__}: {problem}")
    return result


def _analyze(
    sql: str,
    dialect: str | None,
    schema: Mapping[str, Mapping[str, str | None]] | None,
    catalog: Catalog | None,
    default_db: str | None,
    default_schema: str | None,
    time_budget_s: float,
    timer: Timer | None,
    result: LineageResult,
) -> None:
    parsed_dialect, problem = resolve_dialect(dialect)
    if problem:
        result.errors.append(problem)
    name = dialect_name(parsed_dialect)
    env = Environment(
        dialect=parsed_dialect,
        dialect_name=name,
        columns=ColumnSource(schema, catalog),
        default_db=None,
        default_schema=None,
        fold_shards=name == "bigquery",
        lateral_aliases=name in LATERAL_ALIAS_DIALECTS,
    )
    # defaults are written like unquoted names, so they are normalised the same way
    env.default_db = normalized_qualifier(parsed_dialect, default_db, "catalog") if default_db else None
    env.default_schema = (
        normalized_qualifier(parsed_dialect, default_schema, "db") if default_schema else None
    )
    if not isinstance(sql, str) or not sql.strip():
        return
    env.pivots = "PIVOT" in sql.upper()
    budget_args = (time_budget_s,) if timer is None else (time_budget_s, timer)
    try:
        tokens = parsed_dialect.tokenize(sql)
    except Exception as problem:
        tables = tables_from_text(sql, env.table_names())
        result.statements.append(
            StatementLineage(
                type=StatementType.UNPARSED,
                outputs=tables.outputs,
                inputs=tables.inputs,
                errors=[f"tokenize error: {str(problem).splitlines()[0] if str(problem) else problem}"],
                status=Status.TABLE_LEVEL if tables.inputs or tables.outputs else Status.FAILED,
            )
        )
        return
    for piece in parse_script(sql, parsed_dialect, tokens, time_budget_s):
        result.statements.append(_analyze_piece(piece, env, Budget(*budget_args)))


def _analyze_piece(piece: Piece, env: Environment, budget: Budget) -> StatementLineage:
    if piece.expression is None:
        tables = tables_from_tokens(piece.tokens, env.table_names())
        return StatementLineage(
            type=StatementType.UNPARSED,
            outputs=tables.outputs,
            inputs=tables.inputs,
            errors=[piece.error or "could not parse the statement"],
            status=Status.TABLE_LEVEL if tables.inputs or tables.outputs else Status.FAILED,
        )
    analysis: StatementAnalysis | None = None
    try:
        statement = standard_pivots(piece.expression, env.dialect) if env.pivots else piece.expression
        statement = normalize_identifiers(statement, dialect=env.dialect)
        analysis = StatementAnalysis(statement, env, budget)
        analysis.tables()
        analysis.columns()
        return analysis.result
    except BudgetExceeded as problem:
        reason = f"{problem}; column lineage skipped, table-level lineage only"
    except RecursionError:
        reason = "statement is nested too deeply for column lineage; table-level lineage only"
    except Exception as problem:
        reason = f"internal error in column lineage ({type(problem).__name__}: {problem}); table-level only"
    if analysis is None or (not analysis.result.inputs and not analysis.result.outputs):
        fallback = tables_from_tokens(piece.tokens, env.table_names())
        statement_type = analysis.result.type if analysis is not None else StatementType.OTHER
        return StatementLineage(
            type=statement_type,
            outputs=fallback.outputs,
            inputs=fallback.inputs,
            errors=[reason],
            status=Status.TABLE_LEVEL,
        )
    lineage = analysis.result
    lineage.columns = []
    lineage.errors.append(reason)
    lineage.status = Status.TABLE_LEVEL
    return lineage
