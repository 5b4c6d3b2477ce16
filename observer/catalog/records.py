"""Plain records that sources hand to the catalog."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from observer.catalog.identity import DatasetRef


@dataclass(frozen=True)
class SchemaField:
    name: str
    type: str | None = None
    description: str | None = None
    nullable: bool | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "description": self.description,
            "nullable": self.nullable,
        }


@dataclass(frozen=True)
class SchemaObservation:
    dataset: DatasetRef
    fields: tuple[SchemaField, ...]
    observed_at: datetime
    source: str
    run_id: str | None = None


@dataclass(frozen=True)
class SchemaVersion:
    id: int
    dataset_id: int
    fields: tuple[SchemaField, ...]
    observed_at: datetime
    source: str
    run_id: str | None


@dataclass(frozen=True)
class MetricPoint:
    dataset: DatasetRef
    metric: str
    measured_at: datetime
    value: float
    source: str
    column: str = ""
    run_id: str | None = None


@dataclass(frozen=True)
class DatasetUpdate:
    dataset: DatasetRef
    updated_at: datetime
    source: str
    run_id: str | None = None


@dataclass(frozen=True)
class Assertion:
    dataset: DatasetRef
    name: str
    success: bool
    observed_at: datetime
    source: str
    column: str = ""
    severity: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    run_id: str | None = None
