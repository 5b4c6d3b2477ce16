"""Dialects and names: which sqlglot dialect to use, and how tables are named in the output."""

from __future__ import annotations

import re

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.optimizer.normalize_identifiers import normalize_identifiers

# Names that people (and other tools' corpora) use for dialects sqlglot knows under another name.
DIALECT_ALIASES = {
    "ansi": "",
    "generic": "",
    "default": "",
    "mssql": "tsql",
    "sqlserver": "tsql",
    "azuresynapse": "tsql",
    "synapse": "tsql",
    "sparksql": "spark",
    "spark_sql": "spark",
    "postgresql": "postgres",
    "psql": "postgres",
    "bq": "bigquery",
    "google_bigquery": "bigquery",
    "awsathena": "athena",
    "mariadb": "mysql",
    "impala": "hive",
    "db2": "",
    "greenplum": "postgres",
    "vertica": "postgres",
}

# Dialects where a SELECT item may refer to an alias defined earlier in the same SELECT list.
LATERAL_ALIAS_DIALECTS = frozenset(
    {"snowflake", "redshift", "databricks", "spark", "duckdb", "teradata", "clickhouse", "exasol"}
)

_SHARD_SUFFIX = re.compile(r"^(?P<prefix>.*?\D)?_?(?P<date>\d{4}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01]))$")
_WILDCARD_SHARD = re.compile(r"^(?P<prefix>.*?)_?\d*\*$")


def resolve_dialect(name: str | None) -> tuple[Dialect, str | None]:
    """The sqlglot dialect for ``name`` (aliases accepted) and an error text when it is unknown."""
    key = (name or "").strip().lower()
    key = DIALECT_ALIASES.get(key, key)
    try:
        return Dialect.get_or_raise(key or None), None
    except ValueError:
        return Dialect.get_or_raise(None), f"unknown dialect {name!r}; parsed with the generic dialect"


def dialect_name(dialect: Dialect) -> str:
    for name, cls in Dialect.classes.items():
        if type(dialect) is cls:
            return name
    return ""


def table_parts(table: exp.Table) -> list[str]:
    """All name parts of a table reference, e.g. BigQuery's 4-part INFORMATION_SCHEMA names."""
    parts: list[str] = []
    for part in table.parts:
        if isinstance(part, exp.Dot):
            parts.extend(p.name for p in part.flatten() if isinstance(p, exp.Expr))
        else:
            parts.append(part.name)
    return [p for p in parts if p]


def shard_family(name: str) -> str:
    """BigQuery date-sharded tables (``events_20240101``, ``events_2024*``) as one ``_yyyymmdd`` family."""
    match = _SHARD_SUFFIX.match(name)
    if match:
        prefix = (match.group("prefix") or "").rstrip("_")
        return f"{prefix}_yyyymmdd" if prefix else "yyyymmdd"
    wildcard = _WILDCARD_SHARD.match(name)
    if wildcard:
        prefix = wildcard.group("prefix").rstrip("_")
        return f"{prefix}_yyyymmdd" if prefix else "yyyymmdd"
    return name


def normalized_qualifier(dialect: Dialect, text: str, level: str, quoted: bool = False) -> str:
    """A database (``level="catalog"``) or schema (``"db"``) name, normalised as in a table reference."""
    table = exp.Table(this=exp.to_identifier("t"), **{level: exp.Identifier(this=text, quoted=quoted)})
    normalize_identifiers(table, dialect=dialect)
    return str(table.args[level].name)


def qualify_parts(parts: list[str], default_db: str | None, default_schema: str | None) -> list[str]:
    """Fill in the default schema and database the way sqlglot's ``qualify_tables`` does."""
    if len(parts) == 1 and default_schema:
        parts = [default_schema, *parts]
    if len(parts) == 2 and default_db:
        parts = [default_db, *parts]
    return parts
