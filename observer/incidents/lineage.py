"""What incidents need from the lineage graph, as a small interface any graph backend can serve."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from observer.catalog.identity import DatasetRef, JobRef

NodeKind = Literal["dataset", "column", "job"]


@dataclass(frozen=True)
class ImpactedNode:
    """A node downstream of a broken dataset.

    ``hops`` counts datasets along the path (a dataset built directly from the broken one is 1 hop;
    a job reading the broken dataset is also 1 hop). ``direct`` says the node takes values from
    the affected columns (DIRECT column lineage), not only joins or filters on them or table-level
    lineage.
    """

    node_id: str
    kind: NodeKind
    hops: int
    direct: bool
    dataset: DatasetRef | None = None
    column: str | None = None
    job: JobRef | None = None


class LineageView(Protocol):
    def downstream(self, ref: DatasetRef, depth: int, columns: Sequence[str] = ()) -> list[ImpactedNode]:
        """Datasets, columns and jobs downstream of ``ref`` (of its ``columns``, when given) within
        ``depth`` dataset hops, nearest first; ``ref`` itself is not included."""
        ...

    def upstream_datasets(self, ref: DatasetRef, depth: int) -> dict[DatasetRef, int]:
        """Datasets ``ref`` is built from, within ``depth`` hops, with their hop distance."""
        ...


class NoLineage:
    """Used when no graph is available: every dataset stands alone."""

    def downstream(self, ref: DatasetRef, depth: int, columns: Sequence[str] = ()) -> list[ImpactedNode]:
        return []

    def upstream_datasets(self, ref: DatasetRef, depth: int) -> dict[DatasetRef, int]:
        return {}
