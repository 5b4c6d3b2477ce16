"""SQL → table- and column-level lineage with OpenLineage transformation types (sqlglot based).

Entry point: :func:`analyze_sql`. See ``docs/lineage.md``.
"""

from observer.lineage.analyzer import DEFAULT_TIME_BUDGET_S, analyze_sql
from observer.lineage.catalog import Catalog, MappingCatalog
from observer.lineage.model import (
    ColumnLineage,
    ColumnRef,
    InputColumn,
    LineageResult,
    StatementLineage,
    StatementType,
    Status,
    Subtype,
    Transformation,
)
from observer.lineage.scripts import end_to_end

__all__ = [
    "DEFAULT_TIME_BUDGET_S",
    "Catalog",
    "ColumnLineage",
    "ColumnRef",
    "InputColumn",
    "LineageResult",
    "MappingCatalog",
    "StatementLineage",
    "StatementType",
    "Status",
    "Subtype",
    "Transformation",
    "analyze_sql",
    "end_to_end",
]
