"""One parsed statement → its lineage: what it writes, what it reads, and how each written column is made.

Write statements are reduced to queries the column resolver understands: INSERT and CREATE take
their inner query (mapping columns by position when a column list or the target's columns are
known), UPDATE becomes ``SELECT <set values> FROM target, <from> WHERE ...``, and every MERGE
branch becomes such a SELECT over ``target JOIN source ON ...`` with the branch's condition.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.optimizer.normalize_identifiers import normalize_identifiers
from sqlglot.optimizer.scope import build_scope

from observer.lineage.budget import Budget
from observer.lineage.catalog import ColumnSource
from observer.lineage.columns import STAR, OutputColumn, QueryLineage
from observer.lineage.model import (
    ColumnLineage,
    ColumnRef,
    InputColumn,
    StatementLineage,
    StatementType,
    Status,
    Subtype,
    Transformation,
)
from observer.lineage.names import normalized_qualifier
from observer.lineage.session import Written, session_change
from observer.lineage.tables import TableName, TableNames, cte_names, is_real_table
from observer.lineage.transformations import Lineage, merge

_SUBTYPE_ORDER = {subtype: position for position, subtype in enumerate(Subtype)}
_RENAME_TABLE = re.compile(r"^\s*TABLE\s+", re.IGNORECASE)
_TO = re.compile(r"\s+TO\s+", re.IGNORECASE)


@dataclass(slots=True)
class Environment:
    """What every statement of one script is analysed with."""

    dialect: Dialect
    dialect_name: str
    columns: ColumnSource
    default_db: str | None
    default_schema: str | None
    fold_shards: bool
    lateral_aliases: bool
    pivots: bool = False  # the script mentions (UN)PIVOT: DuckDB's statement form may need rewriting

    def table_names(self) -> TableNames:
        return TableNames(self.dialect, self.columns, self.default_db, self.default_schema, self.fold_shards)


class StatementAnalysis:
    """Lineage of one statement; ``run`` never raises except for the budget and recursion limits."""

    def __init__(self, statement: exp.Expr, env: Environment, budget: Budget) -> None:
        self.statement = statement
        self.env = env
        self.budget = budget
        self.names = env.table_names()
        self.result = StatementLineage(type=StatementType.OTHER)
        self._ctes = cte_names(statement)
        self._renames: list[tuple[TableName, TableName]] = []
        self._column_renames: list[tuple[str, str]] = []
        self._altered: TableName | None = None  # its columns are added, dropped or renamed

    # The table-level part runs first so that it survives any failure of the column-level part.
    def tables(self) -> None:
        handler = self._table_handlers().get(type(self.statement))
        if handler is not None:
            handler()
        elif isinstance(self.statement, exp.Query):
            self._select_tables()
        else:
            self.result.type = StatementType.OTHER
        self._session()

    def columns(self) -> None:
        statement = self.statement
        if isinstance(statement, exp.Query):
            self._select_columns()
        elif isinstance(statement, exp.Insert):
            self._insert_columns()
        elif isinstance(statement, exp.MultitableInserts):
            self._multi_insert_columns()
        elif isinstance(statement, exp.Create) and self.result.type is StatementType.CREATE_TABLE:
            self._ddl_columns()
        elif isinstance(statement, exp.Create) and self.result.type is not StatementType.OTHER:
            self._create_columns()
        elif isinstance(statement, exp.Merge):
            self._merge_columns()
        elif isinstance(statement, exp.Update):
            self._update_columns()
        elif self.result.type is StatementType.RENAME:
            self._rename_columns()
        elif isinstance(statement, exp.Alter) and isinstance(statement.this, exp.Table):
            self._alter_columns(self.names.of(statement.this))
        if self.result.unresolved and self.result.status is Status.OK:
            self.result.status = Status.PARTIAL

    def _table_handlers(self) -> dict[type[exp.Expr], Callable[[], None]]:
        return {
            exp.Insert: self._insert_tables,
            exp.Create: self._create_tables,
            exp.Merge: self._merge_tables,
            exp.Update: self._update_tables,
            exp.Delete: self._delete_tables,
            exp.TruncateTable: self._truncate_tables,
            exp.Drop: self._drop_tables,
            exp.Alter: self._alter_tables,
            exp.MultitableInserts: self._multi_insert_tables,
            exp.Command: self._command_tables,
            exp.Execute: self._execute_tables,
        }

    # ----------------------------------------------------------------- SELECT (and SELECT INTO)

    def _select_tables(self) -> None:
        into = self.statement.args.get("into")
        if isinstance(into, exp.Into) and isinstance(into.this, exp.Table):
            self.result.type = StatementType.CREATE_TABLE_AS
            self._set_target(into.this)
        else:
            self.result.type = StatementType.SELECT
        self._read_tables(self.statement)

    def _select_columns(self) -> None:
        outputs = self._query_outputs(self.statement)
        self._add_columns(self.target, outputs)
        if self.target is not None:
            self._define([o.name for o in outputs if o.name != STAR])

    # ----------------------------------------------------------------- INSERT

    def _insert_tables(self) -> None:
        insert = self.statement
        self.result.type = (
            StatementType.INSERT_OVERWRITE if insert.args.get("overwrite") else StatementType.INSERT
        )
        self._set_target(_target_table(insert.this))
        self._read_tables(insert.expression, insert.args.get("with_"))

    def _insert_columns(self) -> None:
        insert = self.statement
        listed = _listed_columns(insert.this)
        query = _unwrap(insert.expression)
        if not isinstance(query, exp.Query):
            self._add_columns(self.target, [OutputColumn(name, {}) for name in listed])
            return
        _attach_ctes(query, insert.args.get("with_"))
        self._insert_outputs(self.target, insert, self._query_outputs(query))

    def _insert_outputs(
        self, target: TableName | None, insert: exp.Expr, outputs: list[OutputColumn]
    ) -> None:
        """The query's columns onto the target's: by the column list, by position onto its known
        columns (static partition columns aside), or else by name."""
        listed = _listed_columns(insert.this)
        if listed:
            self._add_columns(target, self._by_position(outputs, listed))
            return
        known = self.names.columns(target) if target is not None else None
        unknown_star = any(o.name == STAR for o in outputs)
        if known is not None and not insert.args.get("by_name") and not unknown_star:
            static = _static_partition_columns(insert)
            columns = [c for c in known.top_level if c.casefold() not in static]
            if len(columns) == len(outputs):
                self._add_columns(target, self._by_position(outputs, columns))
                return
            self.result.unresolved.append(
                f"{known_name(target)} has {len(columns)} columns but the query gives {len(outputs)}; "
                "mapped by name"
            )
        self._add_columns(target, outputs)

    # ----------------------------------------------------------------- Snowflake INSERT ALL / FIRST

    def _multi_insert_tables(self) -> None:
        multi = self.statement
        self.result.type = StatementType.INSERT
        for insert, _, _ in _insert_branches(multi):
            table = _target_table(insert.this)
            if table is not None:
                self.result.outputs = _unique([*self.result.outputs, self.names.of(table).name])
        self._read_tables(multi.args.get("source"), multi.args.get("with_"))

    def _multi_insert_columns(self) -> None:
        """Each branch is ``SELECT <its VALUES, or *> FROM (<source>) WHERE <what decides the branch>``:
        its own condition, for ``INSERT FIRST`` also those before it, for ``ELSE`` all of them."""
        multi = self.statement
        source = _unwrap(multi.args.get("source"))
        if not isinstance(source, exp.Query):
            return
        branches = _insert_branches(multi)
        conditions = [condition for _, condition, _ in branches if condition is not None]
        first = str(multi.args.get("kind") or "").upper() == "FIRST"
        earlier: list[exp.Expr] = []
        for insert, condition, otherwise in branches:
            table = _target_table(insert.this)
            deciding = (
                conditions
                if otherwise
                else [*(earlier if first else []), *([condition] if condition else [])]
            )
            if condition is not None:
                earlier.append(condition)
            if table is None:
                continue
            values = insert.expression
            rows = values.expressions if isinstance(values, exp.Values) else []
            projections = _tuple_items(rows[0]) if rows else [exp.Star()]
            derived = exp.Subquery(
                this=source.copy(), alias=exp.TableAlias(this=exp.to_identifier("_source"))
            )
            select = exp.Select(expressions=[p.copy() for p in projections]).from_(derived, copy=False)
            if deciding:
                select.set("where", exp.Where(this=exp.and_(*(c.copy() for c in deciding))))
            _attach_ctes(select, multi.args.get("with_"), copy=True)
            self._insert_outputs(self.names.of(table), insert, self._query_outputs(select))

    # ----------------------------------------------------------------- CREATE

    def _create_tables(self) -> None:
        create = self.statement
        kind = str(create.args.get("kind") or "").upper()
        table = _target_table(create.this)
        query = _unwrap(create.expression)
        if kind not in ("TABLE", "VIEW") or table is None:
            self.result.type = StatementType.OTHER
            return
        self._set_target(table)
        if kind == "VIEW":
            materialized = any(isinstance(p, exp.MaterializedProperty) for p in _properties(create))
            self.result.type = (
                StatementType.CREATE_MATERIALIZED_VIEW if materialized else StatementType.CREATE_VIEW
            )
        elif isinstance(query, exp.Query):
            self.result.type = StatementType.CREATE_TABLE_AS
        else:
            self.result.type = StatementType.CREATE_TABLE
        self._read_tables(create.expression, create.args.get("with_"))
        for source in self._copied_from():
            self.result.inputs.append(self.names.of(source).name)
        self.result.inputs = _unique(self.result.inputs)

    def _create_columns(self) -> None:
        create = self.statement
        query = _unwrap(create.expression)
        if not isinstance(query, exp.Query):
            return
        _attach_ctes(query, create.args.get("with_"))
        outputs = self._query_outputs(query)
        listed = _listed_columns(create.this)
        if listed:
            outputs = self._by_position(outputs, listed)
        self._add_columns(self.target, outputs)
        self._define([o.name for o in outputs if o.name != STAR] if outputs else None)

    def _ddl_columns(self) -> None:
        listed = _listed_columns(self.statement.this)
        copied = self._copied_from()
        if not listed and copied:
            known = self.names.columns(copied[0])
            source = self.names.of(copied[0]).name
            if known is not None:
                outputs = [OutputColumn(c, {(source, c): {Subtype.IDENTITY: False}}) for c in known.top_level]
                self._add_columns(self.target, outputs)
                self._define([o.name for o in outputs])
                return
        self._add_columns(self.target, [OutputColumn(name, {}) for name in listed])
        self._define(listed or None)

    def _copied_from(self) -> list[exp.Table]:
        """``CREATE TABLE ... LIKE src`` and ``CREATE TABLE ... CLONE src``."""
        sources = [p.this for p in _properties(self.statement) if isinstance(p, exp.LikeProperty)]
        clone = self.statement.args.get("clone")
        if isinstance(clone, exp.Clone):
            sources.append(clone.this)
        return [s for s in sources if isinstance(s, exp.Table)]

    # ----------------------------------------------------------------- MERGE

    def _merge_tables(self) -> None:
        merge_ = self.statement
        self.result.type = StatementType.MERGE
        self._set_target(_target_table(merge_.this))
        self._read_tables(merge_.args.get("using"), merge_.args.get("with_"))
        self.result.inputs = _unique([*self.result.inputs, *self.result.outputs])

    def _merge_columns(self) -> None:
        merge_ = self.statement
        target = _target_table(merge_.this)
        using = merge_.args.get("using")
        whens = merge_.args.get("whens")
        if target is None or using is None or whens is None:
            return
        by_column: dict[str, Lineage] = {}
        order: list[str] = []
        for when in whens.expressions:
            pairs = self._merge_assignments(when.args.get("then"), using)
            if not pairs:
                continue
            select = exp.Select(expressions=[_named(value.copy(), name) for name, value in pairs])
            select.set("from_", exp.From(this=target.copy()))
            join = exp.Join(this=using.copy())
            if merge_.args.get("on") is not None:
                join.set("on", merge_.args["on"].copy())
            select.set("joins", [join])
            if when.args.get("condition") is not None:
                select.set("where", exp.Where(this=when.args["condition"].copy()))
            _attach_ctes(select, merge_.args.get("with_"), copy=True)
            for output in self._query_outputs(select):
                if output.name not in by_column:
                    by_column[output.name] = {}
                    order.append(output.name)
                merge(by_column[output.name], output.lineage)
        self._add_columns(self.target, [OutputColumn(name, by_column[name]) for name in order])

    def _merge_assignments(self, then: exp.Expr | None, using: exp.Expr) -> list[tuple[str, exp.Expr]]:
        if isinstance(then, exp.Update):
            if any(isinstance(e, exp.Star) for e in then.expressions):
                return self._source_columns_by_name(using)
            return [
                (_assigned_name(eq.this), eq.expression) for eq in then.expressions if isinstance(eq, exp.EQ)
            ]
        if isinstance(then, exp.Insert):
            if isinstance(then.this, exp.Star):
                return self._source_columns_by_name(using)
            columns = [_assigned_name(c) for c in _tuple_items(then.this)]
            values = _tuple_items(then.expression)
            return list(zip(columns, values, strict=False))
        return []

    def _source_columns_by_name(self, using: exp.Expr) -> list[tuple[str, exp.Expr]]:
        """``UPDATE SET *`` / ``INSERT *``: every source column to the target column of that name."""
        alias = using.alias_or_name
        if isinstance(using, exp.Table):
            known = self.names.columns(using)
            names = known.top_level if known is not None else []
        else:
            scope = build_scope(using.copy().unnest())
            names = [] if scope is None else [o.name for o in self._lineage_of(scope).outputs()]
        return [(name, exp.column(name, table=alias)) for name in names if name != STAR]

    # ----------------------------------------------------------------- UPDATE

    def _update_tables(self) -> None:
        update = self.statement
        self.result.type = StatementType.UPDATE
        self._set_target(_target_table(update.this))
        self._read_tables(update, exclude_target=False)

    def _update_columns(self) -> None:
        update = self.statement
        target = _target_table(update.this)
        if target is None:
            return
        pairs = [(eq.this, eq.expression) for eq in update.expressions if isinstance(eq, exp.EQ)]
        select = exp.Select(expressions=[_named(value, _assigned_name(column)) for column, value in pairs])
        select.set("from_", exp.From(this=target))
        joins: list[exp.Expr] = []
        from_ = update.args.get("from_")
        if isinstance(from_, exp.From):
            relation = from_.this
            nested = relation.args.pop("joins", None) or []
            joins.append(exp.Join(this=relation))
            joins.extend(nested)
        joins.extend(update.args.get("joins") or [])
        if joins:
            select.set("joins", joins)
        if update.args.get("where") is not None:
            select.set("where", update.args["where"])
        _attach_ctes(select, update.args.get("with_"))
        self._add_columns(self.target, self._query_outputs(select))

    # ----------------------------------------------------------------- DELETE, TRUNCATE, DROP, ALTER

    def _delete_tables(self) -> None:
        delete = self.statement
        self.result.type = StatementType.DELETE
        self._set_target(_target_table(delete.this))
        self._read_tables(delete)

    def _truncate_tables(self) -> None:
        self.result.type = StatementType.TRUNCATE
        for table in self.statement.expressions:
            if isinstance(table, exp.Table):
                self.result.outputs.append(self.names.of(table).name)

    def _drop_tables(self) -> None:
        drop = self.statement
        kind = str(drop.args.get("kind") or "").upper()
        if kind not in ("TABLE", "VIEW", "MATERIALIZED VIEW"):
            self.result.type = StatementType.OTHER
            return
        self.result.type = StatementType.DROP
        tables = drop.args.get("tables") or ([drop.this] if isinstance(drop.this, exp.Table) else [])
        for table in tables:
            name = self.names.of(table)
            self.result.outputs.append(name.name)
            self.env.columns.drop(name.parts)

    def _alter_tables(self) -> None:
        alter = self.statement
        table = alter.this if isinstance(alter.this, exp.Table) else None
        if table is None:
            return
        actions = alter.args.get("actions") or []
        renames = [a for a in actions if isinstance(a, exp.AlterRename) and isinstance(a.this, exp.Table)]
        swaps = [a for a in actions if isinstance(a, exp.SwapTable) and isinstance(a.this, exp.Table)]
        misread = [o for o in alter.args.get("options") or [] if isinstance(o, exp.ToTableProperty)]
        if renames and misread:
            # PostgreSQL ``RENAME v TO w`` (COLUMN left out) reaches us as a table rename to v
            self._column_renames = [(renames[0].this.name, misread[0].this.name)]
        elif renames:
            new = renames[0].this
            if not new.args.get("db") and table.args.get("db"):  # RENAME TO keeps the schema
                new.set("db", table.args["db"].copy())
                if table.args.get("catalog") is not None:
                    new.set("catalog", table.args["catalog"].copy())
            self._rename(table, new)
            return
        elif swaps:  # Snowflake: each table takes the other's contents
            self._rename(table, swaps[0].this)
            self._rename(swaps[0].this, table)
            return
        for action in actions:
            if isinstance(action, exp.RenameColumn) and isinstance(action.args.get("to"), exp.Expr):
                self._column_renames.append((action.this.name, action.args["to"].name))
            elif isinstance(action, exp.ModifyColumn) and action.args.get("rename_from") is not None:
                self._column_renames.append((action.args["rename_from"].name, action.this.name))
        name = self.names.of(table)
        self.result.outputs = [name.name]
        if self._column_renames:
            self.result.type = StatementType.RENAME
            self.result.inputs = [name.name]
            self._altered = name

    def _command_tables(self) -> None:
        """MySQL ``RENAME TABLE a TO b, c TO d``, which sqlglot keeps as text."""
        command = self.statement
        text = command.expression.name if isinstance(command.expression, exp.Expr) else ""
        if str(command.this or "").upper() != "RENAME" or not _RENAME_TABLE.match(text):
            return
        for pair in _RENAME_TABLE.sub("", text).split(","):
            names = _TO.split(pair.strip())
            tables = [self._parse_table(n) for n in names] if len(names) == 2 else []
            if len(tables) == 2 and tables[0] is not None and tables[1] is not None:
                self._rename(tables[0], tables[1])

    def _execute_tables(self) -> None:
        """T-SQL ``EXEC sp_rename 'schema.old', 'new' [, 'COLUMN']``."""
        execute = self.statement
        if not isinstance(execute.this, exp.Table) or execute.this.name.lower() != "sp_rename":
            return
        named = {"objname": 0, "newname": 1, "objtype": 2}
        values: dict[int, str] = {}
        for position, argument in enumerate(execute.expressions):
            if isinstance(argument, exp.EQ) and isinstance(argument.this, exp.Parameter):
                position = named.get(argument.this.name.lower(), -1)
                argument = argument.expression
            if isinstance(argument, (exp.Literal, exp.National)):
                values[position] = argument.name
        if 0 not in values or 1 not in values:
            return
        kind = values.get(2, "").upper()
        old = self._parse_table(values[0])
        if old is None:
            return
        if kind == "COLUMN":
            column = old.name
            table = self._parse_table(".".join(p.sql(dialect=self.env.dialect) for p in old.parts[:-1]))
            if table is not None:
                name = self.names.of(table)
                self.result.type = StatementType.RENAME
                self.result.inputs = self.result.outputs = [name.name]
                self._altered = name
                self._column_renames = [(column, values[1])]
        elif kind in ("", "OBJECT"):
            new = old.copy()
            new.set("this", exp.to_identifier(values[1]))
            self._rename(old, new)

    def _parse_table(self, text: str) -> exp.Table | None:
        try:
            table = exp.to_table(text.strip(), dialect=self.env.dialect)
        except Exception:
            return None
        return normalize_identifiers(table, dialect=self.env.dialect) if table.name else None

    def _rename(self, old: exp.Table, new: exp.Table) -> None:
        """One table renamed (or, twice, swapped): the new name's columns are the old name's."""
        self.result.type = StatementType.RENAME
        pair = (self.names.of(old), self.names.of(new))
        self._renames.append(pair)
        self.result.inputs = _unique([*self.result.inputs, pair[0].name])
        self.result.outputs = _unique([*self.result.outputs, pair[1].name])

    def _rename_columns(self) -> None:
        """Renamed tables take their columns along; renamed columns come from their old selves."""
        known = {old: self.names.columns(old) for old, _ in self._renames}
        for old, new in self._renames:
            columns = known[old]
            if columns is not None:
                lineage = [
                    OutputColumn(c, {(old.name, c): {Subtype.IDENTITY: False}}) for c in columns.top_level
                ]
                self._add_columns(new, lineage)
        renamed = {new for _, new in self._renames}
        for old, _ in self._renames:
            if old not in renamed:
                self.env.columns.define(old.parts, None)  # gone (known to have no columns)
        for old, new in self._renames:
            columns = known[old]
            self.env.columns.define(new.parts, columns.names if columns is not None else None)
        if self._altered is not None:
            self._alter_columns(self._altered)

    def _alter_columns(self, table: TableName) -> None:
        """ADD / DROP / RENAME COLUMN: later statements see the table's new columns."""
        known = self.names.columns(table)
        for old, new in self._column_renames:
            source = (known.find(old) if known is not None else None) or old
            self._add_columns(table, [OutputColumn(new, {(table.name, source): {Subtype.IDENTITY: False}})])
        if known is None:
            return
        columns = list(known.names)
        renamed = {(known.find(old) or old): new for old, new in self._column_renames}
        columns = [renamed.get(c, c) for c in columns]
        actions = self.statement.args.get("actions") if isinstance(self.statement, exp.Alter) else None
        for action in actions or []:
            if isinstance(action, exp.ColumnDef) and action.name:
                columns.append(action.name)
            elif isinstance(action, exp.Drop) and str(action.args.get("kind") or "").upper() == "COLUMN":
                dropped = {(known.find(c.name) or c.name).casefold() for c in action.args.get("tables") or []}
                columns = [c for c in columns if c.casefold() not in dropped]
        self.env.columns.define(table.parts, columns)

    # ----------------------------------------------------------------- USE, SET search_path, ...

    def _session(self) -> None:
        """Statements after ``USE db`` and the like resolve unqualified tables against the new defaults."""
        change = session_change(self.statement, self.env.dialect_name, self.env.default_schema)
        if change is None:
            return
        if change.problem:
            self.result.unresolved.append(change.problem)
            return
        if change.database is not None:
            self.env.default_db = self._session_name(change.database, "catalog")
        if change.schema is not None:
            self.env.default_schema = self._session_name(change.schema, "db")

    def _session_name(self, name: str | Written, level: str) -> str:
        if isinstance(name, str):
            return name  # taken from the normalised statement
        return normalized_qualifier(self.env.dialect, name.text, level, name.quoted)

    # ----------------------------------------------------------------- shared pieces

    target: TableName | None = None

    def _set_target(self, table: exp.Table | None) -> None:
        if table is None:
            return
        self.target = self.names.of(table)
        self._target_node = table
        self.result.outputs = [self.target.name]

    def _read_tables(self, *roots: exp.Expr | None, exclude_target: bool = True) -> None:
        target = getattr(self, "_target_node", None) if exclude_target else None
        found: list[str] = []
        for root in roots:
            if root is None:
                continue
            for table in root.find_all(exp.Table):
                if table is target or not is_real_table(table, self._ctes):
                    continue
                if isinstance(table.parent, exp.Into) or _is_alias_of_target(table, target):
                    continue
                found.append(self.names.of(table).name)
        self.result.inputs = _unique([*self.result.inputs, *found])

    def _query_outputs(self, statement: exp.Expr) -> list[OutputColumn]:
        query = _unwrap(statement)
        if isinstance(query, exp.Select) and query.args.get("into") is not None:
            query.set("into", None)
        scope = build_scope(query) if query is not None else None
        if scope is None:
            self.result.unresolved.append(f"no query to analyse in {type(statement).__name__}")
            return []
        lineage = self._lineage_of(scope)
        outputs = lineage.outputs()
        for message in lineage.unresolved:
            if message not in self.result.unresolved:
                self.result.unresolved.append(message)
        return outputs

    def _lineage_of(self, scope: object) -> QueryLineage:
        return QueryLineage(
            scope,  # type: ignore[arg-type]
            self.names,
            self.budget,
            self.env.dialect_name,
            self.env.lateral_aliases,
        )

    def _by_position(self, outputs: list[OutputColumn], names: Sequence[str]) -> list[OutputColumn]:
        if len(outputs) != len(names):
            self.result.unresolved.append(
                f"{len(names)} target columns but the query gives {len(outputs)}; mapped by position"
            )
        return [OutputColumn(name, output.lineage) for name, output in zip(names, outputs, strict=False)]

    def _add_columns(self, target: TableName | None, outputs: Iterable[OutputColumn]) -> None:
        table = target.name if target is not None else None
        known = self.names.columns(target) if target is not None else None
        for output in outputs:
            name = (known.find(output.name) if known is not None else None) or output.name
            self.result.columns.append(ColumnLineage(ColumnRef(table, name), _inputs(output.lineage)))

    def _define(self, columns: list[str] | None) -> None:
        if self.target is not None:
            self.env.columns.define(self.target.parts, columns)


def known_name(target: TableName | None) -> str:
    return target.name if target is not None else "the target"


def _inputs(lineage: Lineage) -> tuple[InputColumn, ...]:
    return tuple(
        InputColumn(
            table,
            column,
            tuple(
                Transformation(subtype, masking)
                for subtype, masking in sorted(subtypes.items(), key=lambda item: _SUBTYPE_ORDER[item[0]])
            ),
        )
        for (table, column), subtypes in sorted(lineage.items())
    )


def _unwrap(node: exp.Expr | None) -> exp.Expr | None:
    """``((SELECT ...))`` → ``SELECT ...``; keeps parentheses that carry an alias, LIMIT or ORDER BY."""
    while isinstance(node, exp.Subquery) and not any(v for k, v in node.args.items() if k != "this"):
        node = node.this
    return node


def _attach_ctes(query: exp.Expr, with_: exp.Expr | None, copy: bool = False) -> None:
    if not isinstance(with_, exp.With) or not isinstance(query, exp.Query):
        return
    ctes = [c.copy() if copy else c for c in with_.expressions]
    existing = query.args.get("with_")
    if isinstance(existing, exp.With):
        existing.set("expressions", [*ctes, *existing.expressions])
    else:
        query.set("with_", exp.With(expressions=ctes, recursive=with_.args.get("recursive")))


def _target_table(node: exp.Expr | None) -> exp.Table | None:
    if isinstance(node, exp.Schema):
        node = node.this
    return node if isinstance(node, exp.Table) else None


def _insert_branches(multi: exp.Expr) -> list[tuple[exp.Insert, exp.Expr | None, bool]]:
    """``(insert, WHEN condition, is the ELSE branch)`` of each branch of a multi-table INSERT."""
    branches = []
    for branch in multi.expressions:
        if isinstance(branch, exp.ConditionalInsert) and isinstance(branch.this, exp.Insert):
            branches.append((branch.this, branch.args.get("expression"), bool(branch.args.get("else_"))))
    return branches


def _listed_columns(node: exp.Expr | None) -> list[str]:
    if not isinstance(node, exp.Schema):
        return []
    names = []
    for item in node.expressions:
        if isinstance(item, (exp.ColumnDef, exp.Identifier, exp.Column)):
            names.append(item.name)
    return names


def _static_partition_columns(insert: exp.Expr) -> set[str]:
    partitions = [insert.args.get("partition")]
    table = _target_table(insert.this)
    if table is not None:
        partitions.append(table.args.get("partition"))
    static = set()
    for partition in partitions:
        if isinstance(partition, exp.Partition):
            for item in partition.expressions:
                if isinstance(item, exp.EQ):
                    static.add(item.this.name.casefold())
    return static


def _properties(create: exp.Expr) -> list[exp.Expr]:
    properties = create.args.get("properties")
    return list(properties.expressions) if isinstance(properties, exp.Properties) else []


def _named(value: exp.Expr, name: str) -> exp.Alias:
    return exp.Alias(this=value, alias=exp.to_identifier(name))


def _assigned_name(column: exp.Expr) -> str:
    return column.name if isinstance(column, (exp.Column, exp.Identifier, exp.Dot)) else column.sql()


def _tuple_items(node: exp.Expr | None) -> list[exp.Expr]:
    if isinstance(node, (exp.Tuple, exp.Schema)):
        return list(node.expressions)
    return [node] if node is not None else []


def _is_alias_of_target(table: exp.Table, target: exp.Table | None) -> bool:
    return target is not None and table.parent is target


def _unique(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(names))
