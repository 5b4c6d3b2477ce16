"""PIVOT and UNPIVOT: which columns an operator passes through, which it makes, and from what.

A (UN)PIVOT hangs off a table or derived table (``FROM t PIVOT (...) AS p``), possibly several in a
chain; :class:`Pivoted` is a relation seen through one of them. Lineage follows each operator's
plain-SQL equivalent, so a pivot is classified exactly as the query it stands for:

- ``PIVOT (agg(v) FOR k IN (k1, k2))`` is ``SELECT <others>, agg(CASE WHEN k = k1 THEN v END) AS k1, ...
  GROUP BY <others>``: a pivoted column is an AGGREGATION of the aggregate's columns with the FOR
  column as CONDITIONAL; the other columns pass through and group the rows (GROUP_BY on every column).
- ``UNPIVOT (val FOR name IN (a, b))`` is ``SELECT <others>, 'a' AS name, a AS val FROM t WHERE a IS NOT
  NULL UNION ALL ...``: the value column is the listed columns as they are (IDENTITY); the name column
  holds their names, not their values, so it has no DIRECT input; unless NULLs are included the
  listed columns decide which rows exist (FILTER on every column).

DuckDB's statement form (``PIVOT t ON k USING agg``, ``UNPIVOT t ON a, b INTO NAME n VALUE v``) is
rewritten to the standard form first by :func:`standard_pivots`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.optimizer.scope import Scope


@dataclass(eq=False, slots=True)
class Pivoted:
    """The relation ``base`` (a table, a query scope, or an earlier operator) seen through ``pivot``."""

    base: exp.Table | Scope | Pivoted
    pivot: exp.Pivot

    @property
    def table(self) -> exp.Table | None:
        """The table at the bottom of the chain, if it is one."""
        base = self.base
        while isinstance(base, Pivoted):
            base = base.base
        return base if isinstance(base, exp.Table) else None


@dataclass(frozen=True, eq=False, slots=True)
class Made:
    """An output column an operator makes: from aggregates (PIVOT) or copied columns (UNPIVOT)."""

    name: str
    aggregates: tuple[exp.Expr, ...] = ()
    conditions: tuple[exp.Expr, ...] = ()
    copies: tuple[exp.Expr, ...] = ()
    value: bool = False  # an UNPIVOT value column


@dataclass(slots=True)
class Shape:
    """What one operator does, read from its tree."""

    unpivot: bool
    consumed: set[str] = field(default_factory=set)  # casefolded base columns it reads
    made: list[Made] | None = None  # None: the output columns depend on the data
    group: list[str] | None = None  # PIVOT ... GROUP BY: only these pass through
    renames: list[str] = field(default_factory=list)  # AS alias (c1, c2, ...), from the front
    filters: list[exp.Expr] = field(default_factory=list)  # UNPIVOT without NULLs: listed columns
    excludes_nulls: bool = False  # UNPIVOT drops rows whose listed column is NULL
    star_except: set[str] | None = None  # DuckDB UNPIVOT ON COLUMNS(* EXCLUDE (...))
    dynamic: list[exp.Expr] = field(default_factory=list)  # aggregates of a data-dependent PIVOT
    conditions: list[exp.Expr] = field(default_factory=list)  # PIVOT FOR columns


def shape_of(pivot: exp.Pivot) -> Shape:
    shape = Shape(unpivot=pivot.unpivot)
    alias = pivot.args.get("alias")
    if isinstance(alias, exp.TableAlias):
        shape.renames = [c.name for c in alias.columns]
    if pivot.unpivot:
        _unpivot_shape(pivot, shape)
    else:
        _pivot_shape(pivot, shape)
    return shape


def _pivot_shape(pivot: exp.Pivot, shape: Shape) -> None:
    aggregates = list(pivot.expressions)
    fields = [f for f in pivot.fields if isinstance(f, exp.In)]
    shape.conditions = [f.this for f in fields]
    for node in (*aggregates, *shape.conditions):
        shape.consumed.update(c.name.casefold() for c in _columns_in(node))
    group = pivot.args.get("group")
    if isinstance(group, exp.Group):
        shape.group = [g.alias_or_name for g in group.expressions if g.alias_or_name]
    shape.dynamic = aggregates
    names = [c.name for c in pivot.args.get("columns") or []]
    if not names or not fields or len(fields) != len(pivot.fields) or any(_data_dependent(f) for f in fields):
        return
    combinations = math.prod(len(f.expressions) for f in fields)
    conditions = tuple(shape.conditions)
    if len(aggregates) == 1:
        shape.made = [Made(n, (aggregates[0],), conditions) for n in names]
    elif len(names) == combinations * len(aggregates):
        # names are the product of the IN values and the aggregates, the aggregates varying fastest
        shape.made = [Made(n, (aggregates[i % len(aggregates)],), conditions) for i, n in enumerate(names)]
    else:
        shape.made = [Made(n, tuple(aggregates), conditions) for n in names]


def _data_dependent(field_: exp.In) -> bool:
    """``IN (ANY ...)``, ``IN (SELECT ...)`` or DuckDB's ``IN`` without a list."""
    if field_.args.get("field") is not None or field_.args.get("query") is not None:
        return True
    return not field_.expressions or any(
        isinstance(v, (exp.PivotAny, exp.Query, exp.Subquery)) for v in field_.expressions
    )


def _unpivot_shape(pivot: exp.Pivot, shape: Shape) -> None:
    values = [
        item.name
        for e in pivot.expressions
        for item in (e.expressions if isinstance(e, exp.Tuple) else [e])
        if isinstance(item, (exp.Identifier, exp.Column))
    ]
    fields = [f for f in pivot.fields if isinstance(f, exp.In)]
    names = [f.this.name for f in fields if isinstance(f.this, (exp.Identifier, exp.Column))]
    entries = [e.this if isinstance(e, exp.PivotAlias) else e for f in fields for e in f.expressions]
    stars = [e for e in entries if isinstance(e, exp.Columns) and isinstance(e.this, exp.Star)]
    if stars:
        shape.star_except = {c.name.casefold() for s in stars for c in s.this.args.get("except_") or []}
    per_entry = [_columns_in(e) for e in entries if not isinstance(e, exp.Columns)]
    copies: list[list[exp.Expr]] = [[] for _ in values]
    for columns in per_entry:
        shape.consumed.update(c.name.casefold() for c in columns)
        for position, copied in enumerate(copies):
            # (v1, v2) FOR n IN ((a1, a2), (b1, b2)): the k-th value column copies the k-th of each entry
            copied.extend([columns[position]] if len(columns) == len(values) else columns)
    made_values = [Made(v, copies=tuple(c), value=True) for v, c in zip(values, copies, strict=True)]
    made_names = [Made(n) for n in names]
    # T-SQL puts the value columns first
    first, second = (
        (made_values, made_names) if pivot.args.get("value_columns_first") else (made_names, made_values)
    )
    shape.made = [*first, *second]
    shape.excludes_nulls = pivot.args.get("include_nulls") is not True
    if shape.excludes_nulls:
        shape.filters = [c for columns in per_entry for c in columns]


def _columns_in(node: exp.Expr) -> list[exp.Column]:
    return [c for c in node.find_all(exp.Column) if not isinstance(c.this, exp.Star)]


# --------------------------------------------------------------------------- DuckDB statement form


def standard_pivots(statement: exp.Expr, dialect: Dialect) -> exp.Expr:
    """DuckDB's ``PIVOT t ON k [IN (...)] USING agg [GROUP BY g]`` and ``UNPIVOT t ON a, b INTO NAME n
    VALUE v`` (statements, CTEs or subqueries) as ``SELECT * FROM t (UN)PIVOT (...)``."""
    for pivot in list(statement.find_all(exp.Pivot)):
        source = pivot.args.get("this")
        if not isinstance(source, (exp.Table, exp.Subquery)):
            continue
        select = _unpivot_select(pivot, source) if pivot.unpivot else _pivot_select(pivot, source, dialect)
        if pivot is statement:
            statement = select
        else:
            pivot.replace(select)
    return statement


def _pivot_select(pivot: exp.Pivot, source: exp.Expr, dialect: Dialect) -> exp.Select:
    aggregates = list(pivot.args.get("using") or []) or [exp.Count(this=exp.Star())]
    fields = []
    for on in pivot.expressions:
        if isinstance(on, exp.In) and on.expressions:
            fields.append(exp.In(this=on.this, expressions=list(on.expressions)))
        else:  # the values come from the data
            fields.append(
                exp.In(this=on.this if isinstance(on, exp.In) else on, expressions=[exp.PivotAny()])
            )
    standard = exp.Pivot(expressions=aggregates, fields=fields, group=pivot.args.get("group"), unpivot=False)
    select = _select_from(source, standard)
    if all(not isinstance(f.expressions[0], exp.PivotAny) for f in fields):
        # the dialect's parser names the pivoted columns: round-trip through the standard syntax
        try:
            reparsed = sqlglot.parse_one(select.sql(dialect=dialect), dialect=dialect)
        except Exception:
            return select
        if isinstance(reparsed, exp.Select):
            return reparsed
    return select


def _unpivot_select(pivot: exp.Pivot, source: exp.Expr) -> exp.Select:
    into = pivot.args.get("into")
    name: exp.Expr = exp.to_identifier("name")
    values: list[exp.Expr] = [exp.to_identifier("value")]
    if isinstance(into, exp.UnpivotColumns):
        if into.this is not None:
            name = exp.to_identifier(into.this.name)
        if into.expressions:
            values = [exp.to_identifier(v.name) for v in into.expressions]
    entries = [
        exp.PivotAlias(this=e.this, alias=e.args.get("alias")) if isinstance(e, exp.Alias) else e
        for e in pivot.expressions
    ]
    standard = exp.Pivot(
        expressions=[exp.Tuple(expressions=values)] if len(values) > 1 else values,
        fields=[exp.In(this=name, expressions=entries)],
        unpivot=True,
    )
    return _select_from(source, standard)


def _select_from(source: exp.Expr, pivot: exp.Pivot) -> exp.Select:
    relation = source.copy()
    relation.set("pivots", [*(relation.args.get("pivots") or []), pivot])
    return exp.Select(expressions=[exp.Star()]).from_(relation)
