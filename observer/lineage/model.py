"""Result types of SQL lineage and their JSON form (``DESIGN.md`` → "Lineage JSON")."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Subtype(StrEnum):
    """OpenLineage transformation subtypes; the first three are DIRECT, the rest INDIRECT."""

    IDENTITY = "IDENTITY"
    TRANSFORMATION = "TRANSFORMATION"
    AGGREGATION = "AGGREGATION"
    JOIN = "JOIN"
    GROUP_BY = "GROUP_BY"
    FILTER = "FILTER"
    SORT = "SORT"
    WINDOW = "WINDOW"
    CONDITIONAL = "CONDITIONAL"

    @property
    def kind(self) -> str:
        return "DIRECT" if self in DIRECT_SUBTYPES else "INDIRECT"


DIRECT_SUBTYPES = frozenset({Subtype.IDENTITY, Subtype.TRANSFORMATION, Subtype.AGGREGATION})


class Status(StrEnum):
    """How much of a statement's lineage could be computed."""

    OK = "ok"
    PARTIAL = "partial"  # column lineage with some columns or sources unresolved
    TABLE_LEVEL = "table_level"  # only tables: time budget, unsupported construct or internal limit
    FAILED = "failed"  # not even the tables could be read


class StatementType(StrEnum):
    SELECT = "SELECT"
    INSERT = "INSERT"
    INSERT_OVERWRITE = "INSERT_OVERWRITE"
    CREATE_TABLE = "CREATE_TABLE"
    CREATE_TABLE_AS = "CREATE_TABLE_AS"
    CREATE_VIEW = "CREATE_VIEW"
    CREATE_MATERIALIZED_VIEW = "CREATE_MATERIALIZED_VIEW"
    MERGE = "MERGE"
    UPDATE = "UPDATE"
    DELETE = "DELETE"
    TRUNCATE = "TRUNCATE"
    DROP = "DROP"
    RENAME = "RENAME"
    OTHER = "OTHER"
    UNPARSED = "UNPARSED"


@dataclass(frozen=True, slots=True)
class Transformation:
    subtype: Subtype
    masking: bool = False

    @property
    def type(self) -> str:
        return self.subtype.kind

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "subtype": self.subtype.value, "masking": self.masking}


@dataclass(frozen=True, slots=True)
class ColumnRef:
    table: str | None
    column: str

    def to_dict(self) -> dict[str, Any]:
        return {"table": self.table, "column": self.column}


@dataclass(frozen=True, slots=True)
class InputColumn:
    table: str
    column: str
    transformations: tuple[Transformation, ...]

    @property
    def is_direct(self) -> bool:
        return any(t.subtype in DIRECT_SUBTYPES for t in self.transformations)

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "column": self.column,
            "transformations": [t.to_dict() for t in self.transformations],
        }


@dataclass(frozen=True, slots=True)
class ColumnLineage:
    output: ColumnRef
    inputs: tuple[InputColumn, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"output": self.output.to_dict(), "inputs": [i.to_dict() for i in self.inputs]}


@dataclass(slots=True)
class StatementLineage:
    type: StatementType
    outputs: list[str] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    columns: list[ColumnLineage] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)
    status: Status = Status.OK

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type.value,
            "outputs": list(self.outputs),
            "inputs": list(self.inputs),
            "columns": [c.to_dict() for c in self.columns],
            "errors": list(self.errors),
            "status": self.status.value,
            "unresolved": list(self.unresolved),
        }


@dataclass(slots=True)
class LineageResult:
    statements: list[StatementLineage] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # problems that concern the whole input

    def to_dict(self) -> dict[str, Any]:
        return {"statements": [s.to_dict() for s in self.statements], "errors": list(self.errors)}
