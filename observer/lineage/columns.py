"""Column lineage of one query, computed in a single pass over sqlglot's scope tree.

No ``qualify`` and no per-column ``lineage()`` call: each scope's output columns are resolved once,
lazily and memoised, so every output column of the root costs one walk of its own expression.
Column references are resolved here the way a database would: by qualifier, then by the known
columns of each source (schema, catalog or the source query's own output), then through a
single source whose columns are unknown. What cannot be resolved is reported, never guessed
among several candidates.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from sqlglot import exp
from sqlglot.errors import OptimizeError
from sqlglot.optimizer.scope import Scope, ScopeType

from observer.lineage.budget import Budget
from observer.lineage.model import Subtype
from observer.lineage.pivots import Made, Pivoted, Shape, shape_of
from observer.lineage.tables import TableNames
from observer.lineage.transformations import (
    IDENTITY,
    Context,
    Lineage,
    add_composed,
    is_masking,
    merge,
)

Source = exp.Table | Scope | Pivoted
STAR = "*"

_PASS_THROUGH = (exp.Alias, exp.Paren, exp.Distinct, exp.Ordered)
_LEAF_VALUES = (exp.Literal, exp.Null, exp.Boolean, exp.DataType, exp.Var, exp.Parameter, exp.Placeholder)
_QUERIES = (exp.Select, exp.SetOperation)
_CORRELATABLE = (ScopeType.SUBQUERY, ScopeType.UDTF)


@dataclass(frozen=True, slots=True)
class Slot:
    """One output column of a scope: a projection, a star-expanded source column, or an unknown star."""

    name: str
    expression: exp.Expr | None = None  # projection (or REPLACE expression)
    source: str | None = None  # source alias for star slots
    unknown: bool = False  # the source's columns are unknown: stands for all of them


@dataclass(frozen=True, slots=True)
class PivotColumn:
    """One output column of a (UN)PIVOT: passed through from its input (under that name) or made by it."""

    name: str
    passthrough: str | None = None
    made: Made | None = None
    unknown: bool = False  # stands for columns that cannot be listed


@dataclass(frozen=True, slots=True)
class OutputColumn:
    name: str
    lineage: Lineage


def column_path(node: exp.Column | exp.Dot) -> list[str] | None:
    """``catalog.db.table.column.field...`` as parts, or None for expressions like ``f(x).field``."""
    if isinstance(node, exp.Column):
        return [p.name for p in node.parts]
    parts: list[str] = []
    current: exp.Expr = node
    while isinstance(current, exp.Dot):
        if not isinstance(current.expression, exp.Identifier):
            return None
        parts.append(current.expression.name)
        current = current.this
    if not isinstance(current, exp.Column) or isinstance(current.this, exp.Star):
        return None
    return [p.name for p in current.parts] + parts[::-1]


def output_name(projection: exp.Expr, dialect: str) -> str:
    if isinstance(projection, exp.Alias):
        return projection.alias
    if isinstance(projection, (exp.Column, exp.Dot)) and projection.name:
        return projection.name
    return projection.sql(dialect=dialect)


class QueryLineage:
    """Lineage of the output columns of the query at the root of a scope tree."""

    def __init__(
        self,
        root: Scope,
        tables: TableNames,
        budget: Budget,
        dialect: str,
        lateral_aliases: bool,
    ) -> None:
        self.root = root
        self._tables = tables
        self._budget = budget
        self._dialect = dialect
        self._lateral_aliases = lateral_aliases
        self.unresolved: list[str] = []
        self._slots: dict[int, list[Slot]] = {}
        self._slot_lineage: dict[tuple[int, int], Lineage] = {}
        self._indirect: dict[int, Lineage] = {}
        self._sources: dict[int, dict[str, Source]] = {}
        self._subquery_scopes: dict[int, dict[int, Scope]] = {}
        self._using: dict[int, dict[str, list[str]]] = {}
        self._name_indexes: dict[int, NameIndex | None] = {}
        self._in_progress: set[tuple[int, int]] = set()
        self._shapes: dict[int, Shape] = {}
        self._pivot_views: dict[int, list[PivotColumn]] = {}
        self._pivot_indirect: dict[int, Lineage] = {}

    # ----------------------------------------------------------------- outputs

    def outputs(self) -> list[OutputColumn]:
        """Every output column of the root with its DIRECT and INDIRECT inputs."""
        rows = self.indirect(self.root)
        result = []
        for index, slot in enumerate(self.slots(self.root)):
            lineage = {key: dict(subtypes) for key, subtypes in self.slot_lineage(self.root, index).items()}
            merge(lineage, rows)
            result.append(OutputColumn(slot.name, lineage))
        return result

    def slots(self, scope: Scope) -> list[Slot]:
        key = id(scope)
        found = self._slots.get(key)
        if found is None:
            found = self._build_slots(scope)
            self._slots[key] = found
        return found

    def _build_slots(self, scope: Scope) -> list[Slot]:
        expression = scope.expression
        if isinstance(expression, exp.SetOperation):
            left = scope.set_operation_scopes[0] if scope.set_operation_scopes else None
            return self.slots(left) if left is not None else []
        if isinstance(expression, exp.Subquery):
            inner = self._inner_scope(scope)
            return self.slots(inner) if inner is not None else []
        if not isinstance(expression, exp.Select):
            return [Slot(name) for name in self._udtf_columns(scope)]
        slots: list[Slot] = []
        for projection in expression.expressions:
            star = _star_of(projection)
            if star is None:
                slots.append(Slot(output_name(projection, self._dialect), projection))
            else:
                slots.extend(self._expand_star(scope, projection, star))
        names = scope.outer_columns
        if names and len(names) == len(slots):
            slots = [Slot(n, s.expression, s.source, s.unknown) for n, s in zip(names, slots, strict=True)]
        return slots

    def _expand_star(self, scope: Scope, projection: exp.Expr, star: exp.Star) -> Iterator[Slot]:
        sources = self.sources(scope)
        qualifier = projection.table if isinstance(projection, exp.Column) else ""
        if qualifier:
            alias = self._find_alias(sources, qualifier)
            if alias is None:
                self._unresolve(f"{qualifier}.*: unknown source")
                return
            chosen = [alias]
        else:
            chosen = list(sources)
        excluded = {c.name.casefold() for c in star.args.get("except_") or []}
        replaced = {r.alias.casefold(): r for r in star.args.get("replace") or [] if isinstance(r, exp.Alias)}
        for alias in chosen:
            names = self.source_columns(sources[alias])
            if names is None:
                yield Slot(STAR, source=alias, unknown=True)
                continue
            for name in names:
                if name == STAR:
                    yield Slot(STAR, source=alias, unknown=True)
                elif name.casefold() in excluded:
                    continue
                elif name.casefold() in replaced:
                    yield Slot(name, replaced[name.casefold()].this)
                else:
                    yield Slot(name, source=alias)

    def source_columns(self, source: Source) -> list[str] | None:
        """Column names a source exposes (``*`` marks an unknown remainder), or None if unknown."""
        if isinstance(source, exp.Table):
            known = self._tables.columns(source)
            return known.top_level if known is not None else None
        if isinstance(source, Pivoted):
            return [column.name for column in self._pivot_view(source)]
        return [slot.name for slot in self.slots(source)]

    def _name_index(self, source: Source) -> NameIndex | None:
        key = id(source)
        if key in self._name_indexes:
            return self._name_indexes[key]
        names = self.source_columns(source)
        found = NameIndex(names) if names is not None else None
        self._name_indexes[key] = found
        return found

    # ----------------------------------------------------------------- lineage of slots

    def slot_lineage(self, scope: Scope, index: int) -> Lineage:
        key = (id(scope), index)
        found = self._slot_lineage.get(key)
        if found is not None:
            return found
        if key in self._in_progress:  # recursive CTE referring to itself
            return {}
        self._budget.check()
        self._in_progress.add(key)
        try:
            found = self._compute_slot(scope, index)
        finally:
            self._in_progress.discard(key)
        self._slot_lineage[key] = found
        return found

    def _compute_slot(self, scope: Scope, index: int) -> Lineage:
        expression = scope.expression
        if isinstance(expression, exp.SetOperation):
            lineage: Lineage = {}
            for branch in scope.set_operation_scopes:
                if index < len(self.slots(branch)):
                    merge(lineage, self.slot_lineage(branch, index))
            return lineage
        if isinstance(expression, exp.Subquery):
            inner = self._inner_scope(scope)
            return self.slot_lineage(inner, index) if inner is not None else {}
        slots = self.slots(scope)
        if index >= len(slots):
            return {}
        slot = slots[index]
        if not isinstance(expression, exp.Select):
            return self._udtf_lineage(scope, slot.name, [])
        if slot.expression is not None:
            return self.expression_lineage(scope, slot.expression, IDENTITY, lateral_before=index)
        sources = self.sources(scope)
        source = sources.get(slot.source or "")
        if source is None:
            return {}
        return self.column_of(source, slot.name, [])

    def column_lineage(self, scope: Scope, name: str) -> Lineage | None:
        """Lineage of the output column ``name`` of ``scope``, or None when it has no such column."""
        slots = self.slots(scope)
        index = _find_slot(slots, name)
        if index is not None:
            return self.slot_lineage(scope, index)
        unknown = [s for s in slots if s.unknown]
        if not unknown:
            return None
        if isinstance(scope.expression, exp.SetOperation):
            lineage: Lineage = {}
            for branch in scope.set_operation_scopes:
                merge(lineage, self.column_lineage(branch, name) or {})
            return lineage
        if isinstance(scope.expression, exp.Subquery):
            inner = self._inner_scope(scope)
            return self.column_lineage(inner, name) if inner is not None else None
        if len(unknown) > 1:
            self._unresolve(f"{name}: could come from any of {', '.join(s.source or '?' for s in unknown)}")
            return None
        source = self.sources(scope).get(unknown[0].source or "")
        return self.column_of(source, name, []) if source is not None else None

    def column_of(self, source: Source, column: str, path: list[str]) -> Lineage:
        """Lineage of ``column`` (and struct ``path``) read from ``source``."""
        if isinstance(source, exp.Table):
            table = self._tables.of(source)
            known = self._tables.columns(source)
            name = (known.find(column) if known is not None else None) or column
            if path and column != STAR:
                full = ".".join([name, *path])
                name = (known.find(full) if known is not None else None) or full
            return {(table.name, name): {Subtype.IDENTITY: False}}
        if isinstance(source, Pivoted):
            return self._pivot_column(source, column, path)
        if isinstance(source.expression, exp.UDTF) and not isinstance(source.expression, exp.Subquery):
            return self._udtf_lineage(source, column, path)
        if column == STAR:
            # the columns its unknown stars stand for (a dynamic PIVOT's are aggregates, not copies)
            unknown = [index for index, slot in enumerate(self.slots(source)) if slot.unknown]
            if not unknown:
                return self.rows(source)
            stars: Lineage = {}
            for index in unknown:
                merge(stars, self.slot_lineage(source, index))
            return stars
        lineage = self.column_lineage(source, column)
        if lineage is None:
            return {}
        if path and all(set(s) == {Subtype.IDENTITY} for s in lineage.values()):
            return {(table, f"{col}.{'.'.join(path)}"): dict(s) for (table, col), s in lineage.items()}
        return lineage

    def rows(self, source: Source) -> Lineage:
        """What stands for "all columns" of a source: ``table.*`` for each table underneath it."""
        if isinstance(source, exp.Table):
            return {(self._tables.of(source).name, STAR): {Subtype.IDENTITY: False}}
        if isinstance(source, Pivoted):
            return self.rows(source.base)
        key = (id(source), -1)
        if key in self._in_progress:
            return {}
        self._in_progress.add(key)
        try:
            lineage: Lineage = {}
            if isinstance(source.expression, exp.SetOperation):
                for branch in source.set_operation_scopes:
                    merge(lineage, self.rows(branch))
            else:
                for inner in self.sources(source).values():
                    merge(lineage, self.rows(inner))
            return lineage
        finally:
            self._in_progress.discard(key)

    # ----------------------------------------------------------------- expressions

    def expression_lineage(
        self,
        scope: Scope,
        expression: exp.Expr,
        context: Context,
        lateral_before: int | None = None,
    ) -> Lineage:
        """Walk one expression; every column met is resolved and classified by its context."""
        result: Lineage = {}
        stack: list[tuple[exp.Expr, Context, frozenset[str]]] = [(expression, context, frozenset())]
        while stack:
            node, ctx, bound = stack.pop()
            if isinstance(node, (exp.Column, exp.Dot)):
                path = column_path(node)
                if path is not None and not (len(path) == 1 and path[0] in bound):
                    add_composed(result, ctx, self.resolve(scope, path, lateral_before))
                    continue
                if isinstance(node, exp.Column) and isinstance(node.this, exp.Star):
                    add_composed(result, ctx, self._star_rows(scope, node.table))
                    continue
            elif isinstance(node, exp.Star):
                add_composed(result, ctx, self._star_rows(scope, ""))
                continue
            elif isinstance(node, (exp.Subquery, *_QUERIES)):
                add_composed(result, ctx, self._subquery_lineage(scope, node))
                continue
            elif isinstance(node, _LEAF_VALUES):
                continue
            stack.extend(_children(node, ctx, bound))
        return result

    def resolve(self, scope: Scope, path: list[str], lateral_before: int | None = None) -> Lineage:
        """Resolve a column reference (parts as written) in ``scope`` to its lineage."""
        self._budget.check()
        for width in range(min(3, len(path) - 1), 0, -1):
            found = self._find_qualified(scope, path[:width])
            if found is not None:
                return self.column_of(found, path[width], path[width + 1 :])
        return self._resolve_unqualified(scope, path[0], path[1:], lateral_before)

    def _find_qualified(self, scope: Scope, qualifier: list[str]) -> Source | None:
        current: Scope | None = scope
        while current is not None:
            sources = self.sources(current)
            if len(qualifier) == 1:
                alias = self._find_alias(sources, qualifier[0])
                if alias is not None:
                    return sources[alias]
            else:
                wanted = [q.casefold() for q in qualifier]
                for source in sources.values():
                    table = _table_of(source)
                    if table is not None:
                        written = [p.casefold() for p in self._tables.of(table).written]
                        if written[-len(wanted) :] == wanted:
                            return source
            current = current.parent if current.scope_type in _CORRELATABLE else None
        return None

    def _resolve_unqualified(
        self, scope: Scope, column: str, path: list[str], lateral_before: int | None
    ) -> Lineage:
        current: Scope | None = scope
        while current is not None:
            sources = self.sources(current)
            using_sides = self._using_columns(current).get(column.casefold())
            if using_sides:
                lineage: Lineage = {}
                for alias in using_sides:
                    merge(lineage, self.column_of(sources[alias], column, path))
                return lineage
            having, unknown = [], []
            for alias, source in sources.items():
                index = self._name_index(source)
                if index is not None and index.find(column) is not None:
                    having.append(alias)
                elif index is None or index.open:
                    unknown.append(alias)
            lateral = self._lateral_alias(current, column, lateral_before) if current is scope else None
            if len(having) == 1:
                return self.column_of(sources[having[0]], column, path)
            if len(having) > 1:
                self._unresolve(f"{column}: ambiguous between {', '.join(having)}")
                return {}
            if lateral is not None and (not unknown or self._lateral_aliases):
                return lateral
            if len(unknown) == 1:
                return self.column_of(sources[unknown[0]], column, path)
            if len(unknown) > 1:
                self._unresolve(f"{column}: could come from any of {', '.join(unknown)} (no schema)")
                return {}
            if lateral is not None:
                return lateral
            if current.scope_type not in _CORRELATABLE:
                break
            current = current.parent
            lateral_before = None
        if len(self.sources(scope)) == 1:
            # the schema is incomplete: a lone source is the only place the column can come from
            return self.column_of(next(iter(self.sources(scope).values())), column, path)
        self._unresolve(f"{column}: not found in any source")
        return {}

    def _lateral_alias(self, scope: Scope, column: str, before: int | None) -> Lineage | None:
        """A reference to an alias defined earlier in the same SELECT list (or in ORDER BY / GROUP BY)."""
        if not isinstance(scope.expression, exp.Select):
            return None
        slots = self.slots(scope)
        limit = len(slots) if before is None else before
        for index in range(limit):
            slot = slots[index]
            if isinstance(slot.expression, exp.Alias) and slot.name.casefold() == column.casefold():
                return self.slot_lineage(scope, index)
        return None

    def _star_rows(self, scope: Scope, qualifier: str) -> Lineage:
        sources = self.sources(scope)
        if qualifier:
            alias = self._find_alias(sources, qualifier)
            return self.rows(sources[alias]) if alias is not None else {}
        lineage: Lineage = {}
        for source in sources.values():
            merge(lineage, self.rows(source))
        return lineage

    def _subquery_lineage(self, scope: Scope, node: exp.Expr) -> Lineage:
        query = node.unnest() if isinstance(node, exp.Subquery) else node
        sub = self._subquery_scopes_of(scope).get(id(query))
        if sub is None:
            return {}
        lineage: Lineage = {}
        if self.slots(sub):
            merge(lineage, self.slot_lineage(sub, 0))
        merge(lineage, self.indirect(sub))
        return lineage

    # ----------------------------------------------------------------- indirect lineage

    def indirect(self, scope: Scope) -> Lineage:
        """Columns that decide which rows a scope produces: joins, filters, grouping, sorting."""
        key = id(scope)
        found = self._indirect.get(key)
        if found is not None:
            return found
        self._indirect[key] = {}  # recursive CTEs
        lineage: Lineage = {}
        expression = scope.expression
        if isinstance(expression, exp.SetOperation):
            for branch in scope.set_operation_scopes:
                merge(lineage, self.indirect(branch))
        elif isinstance(expression, exp.Subquery):
            inner = self._inner_scope(scope)
            if inner is not None:
                merge(lineage, self.indirect(inner))
        elif isinstance(expression, exp.Select):
            self._clause_lineage(scope, expression, lineage)
            for source in self.sources(scope).values():
                merge(lineage, self._source_indirect(source))
        self._indirect[key] = lineage
        return lineage

    def _clause_lineage(self, scope: Scope, select: exp.Select, lineage: Lineage) -> None:
        for join in _all_joins(select):
            on = join.args.get("on")
            if on is not None:
                merge(lineage, self.expression_lineage(scope, on, Context(Subtype.JOIN)))
            for identifier in join.args.get("using") or []:
                merge(lineage, _as(self.resolve(scope, [identifier.name]), Context(Subtype.JOIN)))
        for arg, subtype in (
            ("where", Subtype.FILTER),
            ("having", Subtype.FILTER),
            ("qualify", Subtype.FILTER),
        ):
            clause = select.args.get(arg)
            if clause is not None:
                merge(lineage, self.expression_lineage(scope, clause.this, Context(subtype)))
        group = select.args.get("group")
        if group is not None:
            for item in group.expressions:
                merge(lineage, self._ordinal_or_expression(scope, item, Context(Subtype.GROUP_BY)))
        order = select.args.get("order")
        if order is not None:
            for item in order.expressions:
                target = item.this if isinstance(item, exp.Ordered) else item
                merge(lineage, self._ordinal_or_expression(scope, target, Context(Subtype.SORT), True))

    def _ordinal_or_expression(
        self, scope: Scope, node: exp.Expr, context: Context, outputs_first: bool = False
    ) -> Lineage:
        """GROUP BY / ORDER BY items: a position, an output name (ORDER BY) or an expression."""
        if outputs_first and isinstance(node, exp.Column) and not node.table:
            index = _find_slot(self.slots(scope), node.name)
            if index is not None:
                return _as(self.slot_lineage(scope, index), context)
        if isinstance(node, exp.Literal) and not node.is_string:
            try:
                position = int(node.name) - 1
            except ValueError:
                return {}
            if 0 <= position < len(self.slots(scope)):
                return _as(self.slot_lineage(scope, position), context)
            return {}
        return self.expression_lineage(scope, node, context)

    # ----------------------------------------------------------------- sources

    def sources(self, scope: Scope) -> dict[str, Source]:
        """Relations of ``scope``'s FROM, JOIN and LATERAL clauses by alias, in order.

        Built here rather than taken from sqlglot's ``selected_sources`` so that unaliased derived
        tables each keep their own entry and repeated aliases do not raise.
        """
        key = id(scope)
        found = self._sources.get(key)
        if found is not None:
            return found
        found = {}
        expression = scope.expression
        if isinstance(expression, exp.Select):
            children: dict[int, Scope] = {}
            for child in (*scope.table_scopes, *scope.derived_table_scopes, *scope.udtf_scopes):
                children[id(child.expression)] = child
            relations: list[exp.Expr] = []
            from_ = expression.args.get("from_")
            if from_ is not None:
                relations.append(from_.this)
            relations.extend(join.this for join in expression.args.get("joins") or [])
            relations.extend(expression.args.get("laterals") or [])
            position = 0
            while position < len(relations):
                node = relations[position]
                position += 1
                source: Source | None = None
                if isinstance(node, exp.Table):
                    relations.extend(join.this for join in node.args.get("joins") or [])
                    cte = scope.sources.get(node.name)
                    source = cte if isinstance(cte, Scope) and not node.args.get("db") else node
                    alias = node.alias_or_name
                else:
                    source = children.get(id(node)) or children.get(id(node.unnest()))
                    if source is None and isinstance(node, exp.Subquery):
                        relations.append(node.this)
                        relations.extend(join.this for join in node.args.get("joins") or [])
                        continue
                    alias = _source_alias(node)
                if source is None:
                    continue
                for pivot in node.args.get("pivots") or []:
                    source = Pivoted(source, pivot)
                    alias = pivot.alias or alias
                alias = alias or f"_{position}"
                while alias in found:
                    alias = f"{alias}_{position}"
                found[alias] = source
        else:
            for alias, (_, source) in _selected_sources(scope).items():
                found[alias] = source
        self._sources[key] = found
        return found

    def _find_alias(self, sources: dict[str, Source], name: str) -> str | None:
        if name in sources:
            return name
        folded = name.casefold()
        for alias in sources:
            if alias.casefold() == folded:
                return alias
        for alias, source in sources.items():
            table = _table_of(source)
            if table is not None and table.name.casefold() == folded:
                return alias
        return None

    def _subquery_scopes_of(self, scope: Scope) -> dict[int, Scope]:
        key = id(scope)
        found = self._subquery_scopes.get(key)
        if found is None:
            found = {}
            for sub in scope.subquery_scopes:
                found[id(sub.expression)] = sub
                if isinstance(sub.expression, exp.Subquery):
                    found[id(sub.expression.unnest())] = sub
            self._subquery_scopes[key] = found
        return found

    def _inner_scope(self, scope: Scope) -> Scope | None:
        for child in scope.table_scopes or scope.derived_table_scopes:
            return child
        return None

    def _using_columns(self, scope: Scope) -> dict[str, list[str]]:
        """Columns named in ``JOIN ... USING (...)``, with the aliases on both sides."""
        key = id(scope)
        found = self._using.get(key)
        if found is not None:
            return found
        found = {}
        if isinstance(scope.expression, exp.Select):
            sources = self.sources(scope)
            aliases = list(sources)
            for join in _all_joins(scope.expression):
                using = join.args.get("using") or []
                if not using:
                    continue
                right = _source_alias(join.this)
                position = aliases.index(right) if right in aliases else len(aliases)
                for identifier in using:
                    sides = [
                        alias
                        for alias in aliases[: position + 1]
                        if (index := self._name_index(sources[alias])) is None
                        or index.open
                        or index.find(identifier.name) is not None
                    ]
                    found[identifier.name.casefold()] = sides
        self._using[key] = found
        return found

    # ----------------------------------------------------------------- PIVOT and UNPIVOT

    def _shape(self, pivot: exp.Pivot) -> Shape:
        found = self._shapes.get(id(pivot))
        if found is None:
            found = shape_of(pivot)
            self._shapes[id(pivot)] = found
        return found

    def _pivot_view(self, pivoted: Pivoted) -> list[PivotColumn]:
        """The output columns of an operator, in order (``docs/lineage.md``: PIVOT and UNPIVOT)."""
        found = self._pivot_views.get(id(pivoted))
        if found is not None:
            return found
        shape = self._shape(pivoted.pivot)
        base = self.source_columns(pivoted.base)
        known = [c for c in base or [] if c != STAR]
        starred = self._unpivot_star(pivoted, shape)
        consumed = shape.consumed | {c.name.casefold() for c in starred}
        view: list[PivotColumn] = []
        if shape.group is not None:
            view.extend(PivotColumn(name, passthrough=name) for name in shape.group)
        else:
            view.extend(PivotColumn(c, passthrough=c) for c in known if c.casefold() not in consumed)
            if base is None or STAR in base:
                view.append(PivotColumn(STAR, passthrough=STAR, unknown=True))
        if shape.made is None:
            dynamic = Made(STAR, tuple(shape.dynamic), tuple(shape.conditions))
            view.append(PivotColumn(STAR, made=dynamic, unknown=True))
        else:
            for made in shape.made:
                if made.value and starred:
                    made = replace(made, copies=(*made.copies, *starred))
                view.append(PivotColumn(made.name, made=made))
        if shape.renames:
            head = view[: len(shape.renames)]
            if any(column.unknown for column in head):
                self._unresolve(f"{pivoted.pivot.alias}: column aliases of a (UN)PIVOT over unknown columns")
            else:
                renamed = [replace(c, name=n) for c, n in zip(head, shape.renames, strict=False)]
                view = renamed + view[len(renamed) :]
        self._pivot_views[id(pivoted)] = view
        return view

    def _unpivot_star(self, pivoted: Pivoted, shape: Shape) -> list[exp.Column]:
        """DuckDB ``UNPIVOT t ON COLUMNS(* EXCLUDE (...))``: the input columns it lists, when known."""
        if shape.star_except is None:
            return []
        base = self.source_columns(pivoted.base)
        if base is None or STAR in base:
            self._unresolve("UNPIVOT ON COLUMNS(*): the unpivoted columns are unknown (no schema)")
        return [
            exp.column(c)
            for c in base or []
            if c != STAR and c.casefold() not in shape.star_except and c.casefold() not in shape.consumed
        ]

    def _pivot_column(self, pivoted: Pivoted, column: str, path: list[str]) -> Lineage:
        view = self._pivot_view(pivoted)
        if column == STAR:
            lineage: Lineage = {}
            for entry in view:
                if entry.unknown:
                    merge(lineage, self._pivot_entry(pivoted, entry, []))
            return lineage
        folded = column.casefold()
        for match in (lambda c: c.name == column, lambda c: c.name.casefold() == folded):
            for entry in view:
                if not entry.unknown and match(entry):
                    return self._pivot_entry(pivoted, entry, path)
        unknown = [entry for entry in view if entry.unknown]
        if len(unknown) == 1:
            entry = unknown[0]
            if entry.passthrough is not None:
                entry = replace(entry, passthrough=column)
            return self._pivot_entry(pivoted, entry, path)
        if unknown:
            self._unresolve(f"{column}: passed through or made by a (UN)PIVOT whose columns are unknown")
        return {}

    def _pivot_entry(self, pivoted: Pivoted, entry: PivotColumn, path: list[str]) -> Lineage:
        if entry.passthrough == STAR:
            return self.rows(pivoted.base)
        if entry.passthrough is not None:
            return self.column_of(pivoted.base, entry.passthrough, path)
        lineage: Lineage = {}
        made = entry.made
        if made is not None:
            for node in (*made.aggregates, *made.copies):
                merge(lineage, self._pivot_expression(pivoted, node, IDENTITY))
            for node in made.conditions:
                merge(lineage, self._pivot_expression(pivoted, node, Context(Subtype.CONDITIONAL)))
        return lineage

    def _pivot_rows(self, pivoted: Pivoted) -> Lineage:
        """What decides the rows of an operator: PIVOT groups by what it passes through, UNPIVOT drops
        rows whose listed column is NULL (unless NULLs are included)."""
        found = self._pivot_indirect.get(id(pivoted))
        if found is not None:
            return found
        lineage: Lineage = {}
        merge(lineage, self._source_indirect(pivoted.base))
        shape = self._shape(pivoted.pivot)
        if shape.unpivot:
            starred = self._unpivot_star(pivoted, shape)
            filters = [*shape.filters, *starred] if shape.excludes_nulls else []
            for node in filters:
                merge(lineage, self._pivot_expression(pivoted, node, Context(Subtype.FILTER)))
        else:
            for entry in self._pivot_view(pivoted):
                if entry.passthrough is not None and not entry.unknown:
                    merge(
                        lineage,
                        _as(self.column_of(pivoted.base, entry.passthrough, []), Context(Subtype.GROUP_BY)),
                    )
        self._pivot_indirect[id(pivoted)] = lineage
        return lineage

    def _pivot_expression(self, pivoted: Pivoted, expression: exp.Expr, context: Context) -> Lineage:
        """An expression inside an operator: its columns are columns of the operator's input."""
        result: Lineage = {}
        stack: list[tuple[exp.Expr, Context, frozenset[str]]] = [(expression, context, frozenset())]
        while stack:
            node, ctx, bound = stack.pop()
            if isinstance(node, exp.Star) or (
                isinstance(node, exp.Column) and isinstance(node.this, exp.Star)
            ):
                add_composed(result, ctx, self.rows(pivoted.base))
                continue
            if isinstance(node, (exp.Column, exp.Dot)):
                path = column_path(node)
                column = node if isinstance(node, exp.Column) else node.find(exp.Column)
                if path is not None and column is not None and not (len(path) == 1 and path[0] in bound):
                    width = len(column.parts)
                    add_composed(result, ctx, self.column_of(pivoted.base, path[width - 1], path[width:]))
                    continue
            elif isinstance(node, (exp.Subquery, *_QUERIES, *_LEAF_VALUES)):
                continue
            stack.extend(_children(node, ctx, bound))
        return result

    def _source_indirect(self, source: Source) -> Lineage:
        if isinstance(source, Scope):
            return self.indirect(source)
        if isinstance(source, Pivoted):
            return self._pivot_rows(source)
        return {}

    # ----------------------------------------------------------------- table functions

    def _udtf_columns(self, scope: Scope) -> list[str]:
        alias = scope.expression.args.get("alias")
        columns = [c.name for c in alias.columns] if isinstance(alias, exp.TableAlias) else []
        return columns or [STAR]

    def _udtf_lineage(self, scope: Scope, column: str, path: list[str]) -> Lineage:
        """UNNEST / EXPLODE / LATERAL: columns come from the function's arguments in the outer scope."""
        node = scope.expression
        outer = scope.parent or scope
        arguments: Sequence[exp.Expr]
        if isinstance(node, exp.Unnest):
            arguments = node.expressions
        elif isinstance(node, exp.Lateral):
            arguments = [node.this]
        else:
            arguments = list(node.iter_expressions())
        arguments = [a for a in arguments if not isinstance(a, exp.TableAlias)]
        field = [] if column in self._udtf_columns(scope) or column == STAR else [column]
        lineage: Lineage = {}
        for argument in arguments:
            inner = argument.this if isinstance(argument, (exp.Explode, exp.Posexplode)) else argument
            subpath = field + path
            if subpath and isinstance(inner, (exp.Column, exp.Dot)) and (parts := column_path(inner)):
                found = self._resolve_excluding(outer, scope, [*parts, *subpath])
            else:
                found = self._resolve_excluding_expression(outer, scope, inner)
            add_composed(lineage, Context(Subtype.TRANSFORMATION), found)
        return lineage

    def _resolve_excluding(self, outer: Scope, udtf: Scope, path: list[str]) -> Lineage:
        with _hidden_source(self.sources(outer), udtf):
            return self.resolve(outer, path)

    def _resolve_excluding_expression(self, outer: Scope, udtf: Scope, node: exp.Expr) -> Lineage:
        with _hidden_source(self.sources(outer), udtf):
            return self.expression_lineage(outer, node, IDENTITY)

    def _unresolve(self, message: str) -> None:
        if message not in self.unresolved:
            self.unresolved.append(message)


class _hidden_source:
    """Temporarily hide a table function from its own scope while its arguments are resolved."""

    def __init__(self, sources: dict[str, Source], hidden: Scope) -> None:
        self._sources = sources
        self._hidden = hidden
        self._removed: dict[str, Source] = {}

    def __enter__(self) -> None:
        for alias, source in list(self._sources.items()):
            if source is self._hidden:
                self._removed[alias] = self._sources.pop(alias)

    def __exit__(self, *_: object) -> None:
        self._sources.update(self._removed)


def _children(
    node: exp.Expr, ctx: Context, bound: frozenset[str]
) -> Iterator[tuple[exp.Expr, Context, frozenset[str]]]:
    child: exp.Expr
    if isinstance(node, _PASS_THROUGH):
        for child in node.iter_expressions():
            yield child, ctx, bound
    elif isinstance(node, exp.Window):
        yield node.this, ctx, bound
        window = ctx.indirect(Subtype.WINDOW)
        for child in node.args.get("partition_by") or []:
            yield child, window, bound
        order = node.args.get("order")
        if order is not None:
            yield order, window, bound
    elif isinstance(node, exp.AggFunc):
        inner = ctx.aggregated(is_masking(node))
        for child in node.iter_expressions():
            yield child, inner, bound
    elif isinstance(node, exp.Case):
        conditional = ctx.indirect(Subtype.CONDITIONAL)
        value = ctx.transformed()
        if node.this is not None:
            yield node.this, conditional, bound
        for branch in node.args.get("ifs") or []:
            yield branch.this, conditional, bound
            if branch.args.get("true") is not None:
                yield branch.args["true"], value, bound
        default = node.args.get("default")
        if default is not None:
            yield default, value, bound
    elif isinstance(node, exp.If):
        yield node.this, ctx.indirect(Subtype.CONDITIONAL), bound
        for arg in ("true", "false"):
            if node.args.get(arg) is not None:
                yield node.args[arg], ctx.transformed(), bound
    elif isinstance(node, exp.Coalesce):
        values = [node.this, *node.expressions]
        for position, child in enumerate(values):
            yield child, ctx.transformed(), bound
            if position < len(values) - 1:
                yield child, ctx.indirect(Subtype.CONDITIONAL), bound
    elif isinstance(node, exp.Lambda):
        names = bound | {p.name for p in node.expressions}
        yield node.this, ctx.transformed(), names
    else:
        inner = ctx.transformed(is_masking(node))
        for child in node.iter_expressions():
            yield child, inner, bound


def _as(lineage: Lineage, context: Context) -> Lineage:
    result: Lineage = {}
    add_composed(result, context, lineage)
    return result


def _table_of(source: Source) -> exp.Table | None:
    if isinstance(source, exp.Table):
        return source
    return source.table if isinstance(source, Pivoted) else None


def _star_of(projection: exp.Expr) -> exp.Star | None:
    if isinstance(projection, exp.Star):
        return projection
    if isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star):
        return projection.this
    return None


def _find_slot(slots: list[Slot], name: str) -> int | None:
    for index, slot in enumerate(slots):
        if slot.name == name and not slot.unknown:
            return index
    folded = name.casefold()
    for index, slot in enumerate(slots):
        if slot.name.casefold() == folded and not slot.unknown:
            return index
    return None


class NameIndex:
    """Column names of a source for exact-then-case-insensitive lookup; ``open`` if ``*`` is unknown."""

    __slots__ = ("_exact", "_folded", "open")

    def __init__(self, names: list[str]) -> None:
        self._exact = set(names)
        self._folded = {n.casefold(): n for n in reversed(names)}
        self.open = STAR in self._exact

    def find(self, name: str) -> str | None:
        if name in self._exact and name != STAR:
            return name
        return self._folded.get(name.casefold())


def _all_joins(select: exp.Select) -> Iterator[exp.Join]:
    """Joins of a SELECT, including those nested under a parenthesised FROM item."""
    stack: list[exp.Expr] = []
    from_ = select.args.get("from_")
    if from_ is not None:
        stack.append(from_.this)
    for join in select.args.get("joins") or []:
        yield join
        stack.append(join.this)
    while stack:
        node = stack.pop()
        if isinstance(node, (exp.Table, exp.Subquery)) and not _is_query(node):
            for join in node.args.get("joins") or []:
                yield join
                stack.append(join.this)
            if isinstance(node, exp.Subquery):
                stack.append(node.this)


def _is_query(node: exp.Expr) -> bool:
    return isinstance(node, exp.Subquery) and isinstance(node.this, _QUERIES)


def _source_alias(node: exp.Expr) -> str:
    if isinstance(node, exp.Table):
        return node.alias_or_name
    alias = node.args.get("alias")
    if not node.alias and isinstance(alias, exp.TableAlias) and len(alias.columns) == 1:
        return alias.columns[0].name  # BigQuery: UNNEST(x) AS element
    return node.alias


def _selected_sources(scope: Scope) -> dict[str, tuple[exp.Expr, Source]]:
    try:
        return dict(scope.selected_sources)
    except OptimizeError:
        return {}
