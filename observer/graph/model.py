"""What every source hands to the lineage graph, and the interface both graph backends implement."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

from observer.catalog.identity import DatasetRef, JobRef

LineageSource = Literal["openlineage", "sql", "dbt", "warehouse", "manual"]
TransformationType = Literal["DIRECT", "INDIRECT"]
Completeness = Literal["outputs", "jobs"]
"""What a batch declares in full (see :attr:`LineageBatch.complete`)."""


@dataclass(frozen=True)
class Transformation:
    """OpenLineage's column transformation: DIRECT (IDENTITY, TRANSFORMATION, AGGREGATION) or
    INDIRECT (JOIN, GROUP_BY, FILTER, SORT, WINDOW, CONDITIONAL)."""

    type: TransformationType
    subtype: str | None = None
    description: str | None = None
    masking: bool = False


@dataclass(frozen=True)
class ColumnRef:
    dataset: DatasetRef
    field: str

    @property
    def node_id(self) -> str:
        return self.dataset.field_node_id(self.field)


@dataclass(frozen=True)
class DatasetEdge:
    """A job reads (``input``) or writes (``output``) a dataset."""

    job: JobRef
    dataset: DatasetRef
    direction: Literal["input", "output"]


@dataclass(frozen=True)
class ColumnEdge:
    """``target`` derives from ``source`` through ``transformation``, optionally within ``job``."""

    source: ColumnRef
    target: ColumnRef
    transformation: Transformation
    job: JobRef | None = None


@dataclass
class LineageBatch:
    """Lineage observed at one moment from one source (an event, a parsed query, a dbt manifest)."""

    observed_at: datetime
    source: LineageSource
    dataset_edges: list[DatasetEdge] = field(default_factory=list)
    column_edges: list[ColumnEdge] = field(default_factory=list)
    run_id: str | None = None
    complete: Completeness | None = None
    """What this batch declares in full, so that its source's edges of that scope it leaves out
    are retired at ``observed_at`` (kept for ``asOf``, skipped by current questions):

    - ``"outputs"``: the column lineage into each dataset its column edges write, per job (or
      job-less: then also the dataset-level flows into it); an OpenLineage COMPLETE event's
      ``columnLineage``. Outputs without column edges here declare nothing.
    - ``"jobs"``: everything each job named here reads, writes and derives (a re-parsed SQL
      statement, a dbt model).

    Set it with :func:`observer.graph.completeness.declared_complete`, which knows which source
    declares what."""

    def __bool__(self) -> bool:
        return bool(self.dataset_edges or self.column_edges)


class GraphUnavailable(RuntimeError):
    """The graph backend cannot be reached; the API answers 503 and the projection retries later."""


class GraphWriter(Protocol):
    """The write side every source uses; idempotent (re-recording an edge only moves ``last_seen``)."""

    def record(self, batch: LineageBatch) -> None: ...
