"""Scripts: split SQL into statements, parse what can be parsed, and follow tables across statements.

Parsing is defensive. The whole script is parsed at once when that fits the time budget (sqlglot
then understands procedure blocks); otherwise, or when that fails, each ``;``-separated chunk is
parsed on its own so one bad statement costs only itself. A chunk that does not parse, or parses
only as an opaque command (procedure bodies, scripting), is searched for statements that start
inside it. What still cannot be parsed is read for table names from its tokens.

:func:`end_to_end` collapses a script's column lineage through the tables it writes and then
reads again (temp and intermediate tables), giving source → final target edges.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError
from sqlglot.tokens import Token, TokenType

from observer.lineage.model import (
    ColumnLineage,
    ColumnRef,
    InputColumn,
    LineageResult,
    StatementType,
    Subtype,
    Transformation,
)
from observer.lineage.transformations import Context, Lineage, add, compose

# Measured on the TPC queries and a 1 MB statement: sqlglot parses 5-20 µs per token.
PARSE_SECONDS_PER_TOKEN = 2e-5
_SALVAGE_ATTEMPTS = 8
_STATEMENT_STARTS = frozenset(
    {
        TokenType.INSERT,
        TokenType.UPDATE,
        TokenType.MERGE,
        TokenType.DELETE,
        TokenType.WITH,
        TokenType.SELECT,
        TokenType.CREATE,
        TokenType.REPLACE,
    }
)
_ROUTINES = frozenset({"PROCEDURE", "FUNCTION", "TRIGGER"})


@dataclass(slots=True)
class Piece:
    """One statement: parsed, or only its tokens (with why) when it could not be parsed."""

    tokens: Sequence[Token]
    expression: exp.Expr | None = None
    error: str | None = None


def parse_script(sql: str, dialect: Dialect, tokens: list[Token], budget_s: float) -> Iterator[Piece]:
    parser = dialect.parser()
    if len(tokens) * PARSE_SECONDS_PER_TOKEN <= budget_s:
        try:
            expressions = parser.parse(tokens, sql)
        except (ParseError, RecursionError, Exception):
            pass
        else:
            if not any(e is not None and _is_opaque(e) for e in expressions):
                for expression in expressions:
                    yield from _flatten(expression, tokens)
                return
    for chunk in split_tokens(tokens):
        yield from _parse_chunk(parser, chunk, sql, budget_s)


def split_tokens(tokens: Sequence[Token]) -> Iterator[Sequence[Token]]:
    start = 0
    for index, token in enumerate(tokens):
        if token.token_type == TokenType.SEMICOLON:
            if index > start:
                yield tokens[start:index]
            start = index + 1
    if start < len(tokens):
        yield tokens[start:]


def _parse_chunk(parser: object, chunk: Sequence[Token], sql: str, budget_s: float) -> Iterator[Piece]:
    parse = parser.parse  # type: ignore[attr-defined]
    if len(chunk) * PARSE_SECONDS_PER_TOKEN > budget_s:
        yield Piece(
            chunk, error=f"statement of {len(chunk)} tokens is too large to parse within the time budget"
        )
        return
    error: str | None = None
    try:
        expressions = parse(list(chunk), sql)
    except RecursionError:
        yield Piece(chunk, error="statement is nested too deeply to parse")
        return
    except Exception as problem:  # sqlglot raises ParseError, and occasionally others, on bad input
        error = f"parse error: {_describe(problem)}"
        expressions = []
    if expressions and not _needs_salvage(expressions):
        for expression in expressions:
            yield from _flatten(expression, chunk)
        return
    salvaged = list(_salvage(parse, chunk, sql))
    if salvaged:
        yield from salvaged
    elif error is not None:
        yield Piece(chunk, error=error)
    else:
        for expression in expressions:
            yield from _flatten(expression, chunk)


def _salvage(parse: object, chunk: Sequence[Token], sql: str) -> Iterator[Piece]:
    """Statements that start inside an unparseable chunk, e.g. an INSERT in a procedure body."""
    attempts = 0
    for index in range(1, len(chunk)):
        if chunk[index].token_type not in _STATEMENT_STARTS:
            continue
        attempts += 1
        if attempts > _SALVAGE_ATTEMPTS:
            return
        try:
            expressions = parse(list(chunk[index:]), sql)  # type: ignore[operator]
        except Exception:
            continue
        if expressions and not _needs_salvage(expressions):
            for expression in expressions:
                yield from _flatten(expression, chunk[index:])
            return


def _needs_salvage(expressions: Sequence[exp.Expr | None]) -> bool:
    return all(expression is None or _is_opaque(expression) for expression in expressions)


def _is_opaque(expression: exp.Expr) -> bool:
    if isinstance(expression, exp.Command):
        return True
    if isinstance(expression, exp.Create) and str(expression.args.get("kind") or "").upper() in _ROUTINES:
        return not isinstance(expression.expression, (exp.Block, exp.Query, exp.DML))
    return False


def _flatten(expression: object, tokens: Sequence[Token]) -> Iterator[Piece]:
    """Statements inside procedure bodies and control blocks, in order."""
    if not isinstance(expression, exp.Expr) or isinstance(expression, exp.EndStatement):
        return
    if isinstance(expression, exp.Create) and str(expression.args.get("kind") or "").upper() in _ROUTINES:
        if isinstance(expression.expression, (exp.Block, exp.Query, exp.DML)):
            yield from _flatten(expression.expression, tokens)
        return
    if isinstance(expression, exp.Block):
        for inner in expression.expressions:
            yield from _flatten(inner, tokens)
    elif isinstance(expression, exp.IfBlock):
        yield from _flatten(expression.args.get("true"), tokens)
        yield from _flatten(expression.args.get("false"), tokens)
    elif isinstance(expression, (exp.WhileBlock, exp.LoopBlock, exp.RepeatBlock)):
        yield from _flatten(expression.args.get("body"), tokens)
    else:
        yield Piece(tokens, expression)


def _describe(problem: Exception) -> str:
    errors = getattr(problem, "errors", None)
    if errors:
        first = errors[0]
        where = f" (line {first.get('line')}, column {first.get('col')})" if first.get("line") else ""
        return f"{first.get('description') or problem}{where}"
    return str(problem).splitlines()[0] if str(problem) else type(problem).__name__


# --------------------------------------------------------------------------- end-to-end


Column = tuple[str, str]


def end_to_end(result: LineageResult, subtypes: Collection[Subtype] | None = None) -> list[ColumnLineage]:
    """Column lineage of a script from its source columns to its final columns.

    Columns that a statement writes and a later statement reads (temp and intermediate tables) are
    collapsed: a read sees what the statements before it wrote, so the order of statements counts
    (``ALTER TABLE a SWAP WITH b`` included). Final columns are those no later statement reads, of
    tables the script does not drop; transformations compose along each path. Only inputs with one
    of ``subtypes`` (default: all) are followed.
    """
    writes: dict[Column, list[tuple[int, Lineage]]] = {}
    last_read: dict[Column, int] = {}
    dropped: dict[str, int] = {}
    for index, statement in enumerate(result.statements):
        if statement.type is StatementType.DROP:
            for table in statement.outputs:
                dropped[table] = index
        for column in statement.columns:
            if column.output.table is None:
                continue
            target = (column.output.table, column.output.column)
            edges: Lineage = {}
            for source in column.inputs:
                key = (source.table, source.column)
                last_read[key] = index
                if key == target:
                    continue
                for t in source.transformations:
                    if not subtypes or t.subtype in subtypes:
                        add(edges, key, t.subtype, t.masking)
            writes.setdefault(target, []).append((index, edges))
    memo: dict[tuple[Column, int], Lineage] = {}

    def sources_of(node: Column, before: int) -> Lineage:
        """Where ``node`` comes from, as written by the statements before ``before`` (so recursion ends)."""
        key = (node, before)
        if key in memo:
            return memo[key]
        collected: Lineage = {}
        for index, edges in writes.get(node, []):
            if index >= before:
                break
            for source, transforms in edges.items():
                if not any(i < index for i, _ in writes.get(source, [])):
                    for subtype, masking in transforms.items():
                        add(collected, source, subtype, masking)
                    continue
                upstream = sources_of(source, index)
                for outer, outer_masking in transforms.items():
                    for origin, inner in upstream.items():
                        for subtype, masking in inner.items():
                            combined = compose(Context(outer, outer_masking), subtype)
                            add(collected, origin, combined, masking or outer_masking)
        memo[key] = collected
        return collected

    lineage = []
    end = len(result.statements)
    for target, written in writes.items():
        last_write = written[-1][0]
        if last_read.get(target, -1) > last_write or dropped.get(target[0], -1) > last_write:
            continue
        inputs = sources_of(target, end)
        lineage.append(
            ColumnLineage(
                ColumnRef(*target),
                tuple(
                    InputColumn(table, column, tuple(Transformation(s, m) for s, m in sorted(t.items())))
                    for (table, column), t in sorted(inputs.items())
                ),
            )
        )
    return lineage
