"""Statements that change how a script's later unqualified names resolve: ``USE``, ``SET search_path``...

:func:`session_change` reads one (normalised) statement and says which default database and schema
the statements after it resolve unqualified tables against. What ``USE x`` names depends on the
dialect: the database above the schemas (Snowflake, T-SQL, DuckDB), or the namespace right above the
tables, which MySQL, Hive, Spark, Databricks, ClickHouse, Teradata and Trino call database or schema.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlglot import exp

from observer.lineage.names import table_parts

# Dialects whose one-part ``USE x`` (or ``USE DATABASE x``) names a database that holds schemas.
_USE_NAMES_DATABASE = frozenset({"snowflake", "tsql", "fabric", "duckdb"})
# The schema a session lands in when it switches database (normalised as the dialect would).
_SCHEMA_OF_NEW_DATABASE = {
    "snowflake": "PUBLIC",
    "duckdb": "main",
    "databricks": "default",
    "spark": "default",
}
# Dialects where a session keeps its schema across databases, with this one when it had none.
_SCHEMA_KEPT = {"tsql": "dbo", "fabric": "dbo"}
_SESSION_KINDS = frozenset({"", "DATABASE", "SCHEMA", "CATALOG", "NAMESPACE"})

_SEARCH_PATH = re.compile(
    r"^\s*(?:search_path\s*(?:TO|=)|SCHEMA)\s*(?P<path>.+?)\s*$", re.IGNORECASE | re.DOTALL
)
_CURRENT_SCHEMA = re.compile(r"^\s*SESSION\s+SET\s+CURRENT_SCHEMA\s*=\s*(?P<schema>\S+)\s*$", re.IGNORECASE)
_BIGQUERY_DEFAULTS = {"dataset_id": "schema", "dataset_project_id": "database"}


@dataclass(frozen=True, slots=True)
class Written:
    """A name as written: normalised by the dialect unless quoted."""

    text: str
    quoted: bool = False


@dataclass(frozen=True, slots=True)
class SessionChange:
    """New defaults for the statements that follow; ``None`` keeps the current one."""

    database: str | Written | None = None
    schema: str | Written | None = None
    problem: str | None = None  # the statement changes the defaults, but to something unknown


def session_change(statement: exp.Expr, dialect: str, current_schema: str | None) -> SessionChange | None:
    """The defaults ``statement`` switches to, or None when it does not touch them."""
    if isinstance(statement, exp.Use):
        return _use(statement, dialect, current_schema)
    if isinstance(statement, exp.Create) and dialect == "snowflake":
        # Snowflake: CREATE DATABASE / CREATE SCHEMA also make the new one current
        kind = str(statement.args.get("kind") or "").upper()
        if kind in ("DATABASE", "SCHEMA") and isinstance(statement.this, exp.Table):
            return _use_parts(_created_parts(statement.this, kind), kind, dialect, current_schema)
        return None
    if isinstance(statement, exp.Set):
        return _set(statement)
    if isinstance(statement, exp.Command):
        return _command(statement)
    return None


def _use(use: exp.Use, dialect: str, current_schema: str | None) -> SessionChange | None:
    kind = use.args.get("kind")
    kind_name = (kind.name if isinstance(kind, exp.Expr) else str(kind or "")).upper()
    if kind_name not in _SESSION_KINDS:
        return None  # USE WAREHOUSE, USE ROLE, USE SECONDARY ROLES: no effect on names
    target = use.this
    if not isinstance(target, exp.Table) or not all(isinstance(p, exp.Identifier) for p in target.parts):
        return SessionChange(
            problem="USE: the target is not a plain name; later tables keep the previous default"
        )
    return _use_parts(table_parts(target), kind_name, dialect, current_schema)


def _use_parts(parts: list[str], kind: str, dialect: str, current_schema: str | None) -> SessionChange | None:
    if not parts:
        return None
    if len(parts) >= 2:  # USE db.schema, USE SCHEMA db.schema, USE catalog.schema
        return SessionChange(parts[-2], parts[-1])
    name = parts[0]
    names_database = kind == "CATALOG" or (kind in ("", "DATABASE") and dialect in _USE_NAMES_DATABASE)
    if not names_database:
        return SessionChange(schema=name)
    if dialect in _SCHEMA_KEPT:
        return SessionChange(name, current_schema or _SCHEMA_KEPT[dialect])
    return SessionChange(name, _SCHEMA_OF_NEW_DATABASE.get(dialect, current_schema))


def _created_parts(table: exp.Table, kind: str) -> list[str]:
    """``CREATE DATABASE d`` is ``Table(d)``; ``CREATE SCHEMA d.s`` is ``Table(db=s, catalog=d)``."""
    if kind == "DATABASE":
        return [table.name] if table.name else []
    return [part.name for part in (table.args.get("catalog"), table.args.get("db")) if part is not None]


def _set(statement: exp.Set) -> SessionChange | None:
    """``SET search_path = a, b`` (PostgreSQL, Redshift) and BigQuery's ``SET @@dataset_id = 'x'``."""
    for item in statement.expressions:
        assignment = item.this if isinstance(item, exp.SetItem) else None
        if not isinstance(assignment, exp.EQ):
            continue
        target, value = assignment.this, assignment.expression
        name = target.name.lower() if isinstance(target, exp.Column) else ""
        variable = target
        while isinstance(variable, exp.Parameter):
            variable = variable.this
        if isinstance(target, exp.Parameter) and isinstance(variable, exp.Expr):
            slot = _BIGQUERY_DEFAULTS.get(variable.name.lower())
            if slot and isinstance(value, exp.Literal) and value.is_string:
                written = Written(value.name, quoted=True)
                return (
                    SessionChange(database=written) if slot == "database" else SessionChange(schema=written)
                )
        if name == "search_path":
            entries: list[str] = []
            for entry in value.expressions if isinstance(value, exp.Tuple) else [value]:
                if isinstance(entry, exp.Literal):  # a string is read as a list of names
                    entries.extend(entry.name.split(","))
                else:
                    entries.append(f'"{entry.name}"' if _is_quoted(entry) else entry.name)
            return _search_path(entries)
    return None


def _command(statement: exp.Command) -> SessionChange | None:
    """What sqlglot keeps as text: ``SET search_path TO a, b``, Oracle's ``ALTER SESSION SET CURRENT_SCHEMA``."""
    keyword = str(statement.this or "").upper()
    text = (
        statement.expression.name
        if isinstance(statement.expression, exp.Expr)
        else str(statement.expression or "")
    )
    if keyword == "SET" and (match := _SEARCH_PATH.match(text)):
        return _search_path(match.group("path").split(","))
    if keyword == "ALTER" and (match := _CURRENT_SCHEMA.match(text)):
        schema = match.group("schema")
        return SessionChange(schema=Written(schema.strip('"'), quoted=schema.startswith('"')))
    return None


def _search_path(entries: list[str]) -> SessionChange | None:
    """Unqualified tables are created in, and first looked for in, the first schema of the path
    (``$user`` aside). Entries are names: folded unless double-quoted."""
    for entry in entries:
        text = entry.strip().strip("'").strip()
        if text and text.strip('"').lower() != "$user":
            return SessionChange(schema=Written(text.strip('"'), quoted=text.startswith('"')))
    return None


def _is_quoted(node: exp.Expr) -> bool:
    identifier = node.this if isinstance(node, exp.Column) else node
    return isinstance(identifier, exp.Identifier) and bool(identifier.args.get("quoted"))
