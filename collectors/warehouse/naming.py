"""OpenLineage identities for warehouse tables: the namespace a producer would use for a connection,
and dataset names whose identifier case follows the engine's rules.

| backend | namespace | name |
|---|---|---|
| PostgreSQL | ``postgres://{host}:{port}`` | ``{database}.{schema}.{table}`` |
| Redshift | ``redshift://{cluster_identifier}.{region}:{port}`` | ``{database}.{schema}.{table}`` |
| Snowflake | ``snowflake://{org}-{account}`` or ``snowflake://{locator}.{region}.{cloud}`` | ``{database}.{schema}.{table}`` |
| BigQuery | ``bigquery`` | ``{project}.{dataset}.{table}`` |
| DuckDB | ``duckdb://{path as in the URL}`` (what ``dbt-ol`` emits) | ``{catalog}.{schema}.{table}`` |
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence

from sqlalchemy.engine import URL, make_url

from observer.catalog.identity import DatasetRef

DIALECTS = {
    "postgresql": "postgres",
    "duckdb": "duckdb",
    "snowflake": "snowflake",
    "bigquery": "bigquery",
    "redshift": "redshift",
}
"""SQLAlchemy backend name → sqlglot dialect of the warehouses Observer collects."""

_UPPER_CASE = frozenset({"snowflake"})
_CASE_INSENSITIVE = frozenset({"duckdb"})
_PRESERVE = frozenset({"bigquery"})


class UnsupportedWarehouse(ValueError):
    """The URL names a database Observer has no collector for."""


def parse_url(url: str | URL) -> URL:
    try:
        return url if isinstance(url, URL) else make_url(url)
    except Exception as error:
        raise UnsupportedWarehouse(f"not a SQLAlchemy URL: {error}") from None


def dialect_of(url: str | URL) -> str:
    backend = parse_url(url).get_backend_name()
    if backend not in DIALECTS:
        supported = ", ".join(sorted(DIALECTS))
        raise UnsupportedWarehouse(f"no collector for {backend!r} URLs (supported: {supported})")
    return DIALECTS[backend]


def namespace_for(url: str | URL) -> str:
    """The OpenLineage namespace producers use for tables reached through ``url``."""
    parsed = parse_url(url)
    dialect = dialect_of(parsed)
    host = (parsed.host or "localhost").lower()
    if dialect == "postgres":
        return f"postgres://{host}:{parsed.port or 5432}"
    if dialect == "redshift":
        return f"redshift://{redshift_authority(host)}:{parsed.port or 5439}"
    if dialect == "snowflake":
        return f"snowflake://{snowflake_account(parsed.host or '')}"
    if dialect == "bigquery":
        return "bigquery"
    return f"duckdb://{parsed.database or ':memory:'}"


def redshift_authority(host: str) -> str:
    """``examplecluster.abc123.us-west-2.redshift.amazonaws.com`` → ``examplecluster.us-west-2``;
    serverless ``wg.123456789012.eu-west-1.redshift-serverless.amazonaws.com`` → ``wg.eu-west-1``."""
    parts = host.split(".")
    if len(parts) >= 4 and parts[3] in ("redshift", "redshift-serverless"):
        return f"{parts[0]}.{parts[2]}"
    return host


def snowflake_account(account: str) -> str:
    """OpenLineage's canonical Snowflake account: ``org-account`` as given, a legacy locator completed
    with the default region and cloud (``xy12345`` → ``xy12345.us-west-1.aws``)."""
    account = account.strip().lower()
    for suffix in (".snowflakecomputing.com", ".privatelink"):
        account = account.removesuffix(suffix)
    parts = account.split(".")
    if "-" in parts[0]:
        return parts[0]
    if len(parts) == 1:
        return f"{parts[0]}.us-west-1.aws"
    if len(parts) == 2:
        return f"{parts[0]}.{parts[1]}.aws"
    return ".".join(parts[:3])


def catalog_identifier(part: str, dialect: str) -> str:
    """A name exactly as the warehouse's catalog stores it, made canonical: only engines that ignore
    identifier case altogether (DuckDB) are lowercased."""
    return part.lower() if dialect in _CASE_INSENSITIVE else part


def sql_identifier(part: str, dialect: str, *, quoted: bool = False) -> str:
    """A name as written in SQL or dbt, folded the way the engine stores it: PostgreSQL, Redshift and
    DuckDB lowercase unquoted names, Snowflake uppercases them, BigQuery keeps them."""
    if dialect in _PRESERVE:
        return part
    if dialect in _CASE_INSENSITIVE:
        return part.lower()
    if quoted:
        return part
    return part.upper() if dialect in _UPPER_CASE else part.lower()


def split_dotted(name: str) -> list[str]:
    """``db.schema."Odd.Name"`` → ``["db", "schema", "Odd.Name"]`` (double quotes or backticks)."""
    parts: list[str] = []
    current: list[str] = []
    quote: str | None = None
    for char in name:
        if quote:
            if char == quote:
                quote = None
            else:
                current.append(char)
        elif char in '"`':
            quote = char
        elif char == ".":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def dataset(namespace: str, *parts: str) -> DatasetRef:
    return DatasetRef(namespace, ".".join(part for part in parts if part))


def selected(key: str, include: Sequence[str], exclude: Sequence[str]) -> bool:
    """``schema.table`` globs, compared without regard to case."""
    lowered = key.lower()
    if not any(fnmatch.fnmatchcase(lowered, pattern.lower()) for pattern in include):
        return False
    return not any(fnmatch.fnmatchcase(lowered, pattern.lower()) for pattern in exclude)
