"""What the graph's queries return: nodes, edges, walks, impact and paths."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, NamedTuple

from observer.catalog.identity import DatasetRef, JobRef
from observer.graph.tables import EdgeKind, NodeKind, SourceCode, TransformCode, from_ms

Direction = Literal["upstream", "downstream", "both", "undirected"]
Level = Literal["dataset", "column"]
NodeType = Literal["DATASET", "DATASET_FIELD", "JOB"]

NODE_TYPES: dict[NodeKind, NodeType] = {
    NodeKind.DATASET: "DATASET",
    NodeKind.FIELD: "DATASET_FIELD",
    NodeKind.JOB: "JOB",
}


class Node(NamedTuple):
    id: int
    kind: NodeKind
    key: str
    namespace: str
    name: str
    field: str | None
    dataset_id: int | None
    merged_into: int | None
    first_seen: int

    @property
    def type(self) -> NodeType:
        return NODE_TYPES[self.kind]

    @property
    def dataset(self) -> DatasetRef:
        """The dataset of a dataset or field node."""
        return DatasetRef(self.namespace, self.name)

    @property
    def job(self) -> JobRef:
        return JobRef(self.namespace, self.name)


EdgeKey = tuple[int, int, int, int, int, int]
"""An edge's identity: (src, dst, kind, job, source, type)."""


class Edge(NamedTuple):
    """An edge as stored: ``src`` → ``dst`` in the direction data flows. The first six fields are
    its identity; walks fetch only those and read the rest for the edges they return."""

    src: int
    dst: int
    kind: EdgeKind
    job: int
    source: SourceCode
    type: TransformCode
    subtype: str | None = None
    masking: bool = False
    description: str | None = None
    first_seen: int = 0
    last_seen: int = 0
    retired_at: int | None = None
    """When a complete re-declaration left it out (or its dataset was deleted); None: live."""
    gaps: str | None = None
    """Earlier retirements it came back from, ``from-to,…`` (epoch ms, ``to`` exclusive)."""

    @property
    def key(self) -> EdgeKey:
        return (self.src, self.dst, self.kind, self.job, self.source, self.type)

    @property
    def transformation_type(self) -> str | None:
        return None if self.type == TransformCode.NONE else TransformCode(self.type).name

    def as_json(self, keys: dict[int, str]) -> dict[str, Any]:
        return {
            "origin": keys[self.src],
            "destination": keys[self.dst],
            "source": SourceCode(self.source).name,
            "job": keys.get(self.job) if self.job else None,
            "transformation": None
            if self.type == TransformCode.NONE
            else {
                "type": self.transformation_type,
                "subtype": self.subtype,
                "masking": self.masking,
                "description": self.description,
            },
            "firstSeen": from_ms(self.first_seen).isoformat(),
            "lastSeen": from_ms(self.last_seen).isoformat(),
            "retiredAt": None if self.retired_at is None else from_ms(self.retired_at).isoformat(),
        }


@dataclass
class Walk:
    """The nodes a bounded walk reached, nearest first, and the edges between them.

    ``hops`` counts jobs (or job-less dataset links) at dataset level and column edges at column
    level; a job shares the hop of the datasets it connects to on the far side. ``parents`` is the
    breadth-first tree (first discoverer, smallest id first), used to draw trees and paths.
    """

    roots: list[Node]
    level: Level
    direction: Direction
    depth: int
    nodes: dict[int, Node]
    hops: dict[int, int]
    edges: list[Edge]
    parents: dict[int, int]
    truncated: bool
    as_of: datetime | None = None
    jobs: dict[int, Node] = field(default_factory=dict)
    """Jobs named by column edges, which are not nodes of a column-level walk."""

    def ordered(self) -> list[Node]:
        return sorted(self.nodes.values(), key=lambda node: (self.hops[node.id], node.key))

    def as_json(self) -> dict[str, Any]:
        keys = {node.id: node.key for node in [*self.nodes.values(), *self.jobs.values()]}
        return {
            "nodeIds": [root.key for root in self.roots],
            "level": self.level,
            "direction": self.direction,
            "depth": self.depth,
            "asOf": self.as_of.isoformat() if self.as_of else None,
            "truncated": self.truncated,
            "nodes": [
                {"nodeId": node.key, "type": node.type, "hops": self.hops[node.id]} for node in self.ordered()
            ],
            "edges": sorted(
                (edge.as_json(keys) for edge in self.edges),
                key=lambda item: (
                    item["origin"],
                    item["destination"],
                    item["source"],
                    item["job"] or "",
                    (item["transformation"] or {}).get("type") or "",
                ),
            ),
        }


@dataclass(frozen=True)
class ImpactedNode:
    """A dataset or column downstream of the impact's origin.

    ``direct`` is True when some path of DIRECT column edges reaches it (it takes values from the
    origin), False when only INDIRECT ones do (joins, filters …), and None for a dataset that only
    dataset-level lineage connects.
    """

    node_id: str
    type: NodeType
    namespace: str
    name: str
    field: str | None
    hops: int
    direct: bool | None
    owners: tuple[str, ...]

    @property
    def dataset(self) -> DatasetRef:
        return DatasetRef(self.namespace, self.name)

    def as_json(self) -> dict[str, Any]:
        return {
            "nodeId": self.node_id,
            "type": self.type,
            "namespace": self.namespace,
            "name": self.name,
            "field": self.field,
            "hops": self.hops,
            "direct": self.direct,
            "owners": list(self.owners),
        }


@dataclass(frozen=True)
class ImpactedJob:
    node_id: str
    namespace: str
    name: str
    hops: int
    owners: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "nodeId": self.node_id,
            "namespace": self.namespace,
            "name": self.name,
            "hops": self.hops,
            "owners": list(self.owners),
        }


@dataclass
class Impact:
    """What breaks if ``node_id`` breaks: datasets and columns (nearest first) and jobs downstream."""

    node_id: str
    depth: int
    as_of: datetime | None
    truncated: bool
    nodes: list[ImpactedNode]
    jobs: list[ImpactedJob]

    @property
    def datasets(self) -> list[ImpactedNode]:
        return [node for node in self.nodes if node.type == "DATASET"]

    @property
    def columns(self) -> list[ImpactedNode]:
        return [node for node in self.nodes if node.type == "DATASET_FIELD"]

    @property
    def owners(self) -> list[str]:
        """Every owner of an impacted dataset or job, nearest first, once."""
        ranked: list[tuple[int, tuple[str, ...]]] = [(node.hops, node.owners) for node in self.nodes]
        ranked += [(job.hops, job.owners) for job in self.jobs]
        seen: dict[str, None] = {}
        for _, owners in sorted(ranked, key=lambda pair: pair[0]):
            seen.update(dict.fromkeys(owners))
        return list(seen)

    def as_json(self) -> dict[str, Any]:
        return {
            "nodeId": self.node_id,
            "depth": self.depth,
            "asOf": self.as_of.isoformat() if self.as_of else None,
            "truncated": self.truncated,
            "summary": {
                "datasets": len(self.datasets),
                "directDatasets": sum(1 for node in self.datasets if node.direct),
                "columns": len(self.columns),
                "jobs": len(self.jobs),
                "maxHops": max(
                    [node.hops for node in self.nodes] + [job.hops for job in self.jobs], default=0
                ),
            },
            "owners": self.owners,
            "nodes": [node.as_json() for node in self.nodes],
            "jobs": [job.as_json() for job in self.jobs],
        }


@dataclass
class Path:
    """A shortest directed path (data flows from the first node to the last), jobs included."""

    nodes: list[Node]
    edges: list[Edge] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        keys = {node.id: node.key for node in self.nodes}
        return {
            "nodes": [{"nodeId": node.key, "type": node.type} for node in self.nodes],
            "edges": [edge.as_json(keys) for edge in self.edges],
            "hops": len(self.edges),
        }


@dataclass(frozen=True)
class JobIO:
    inputs: list[Node]
    outputs: list[Node]


@dataclass(frozen=True)
class RebuildReport:
    backend: str
    nodes: int
    edges: int
    merged_aliases: int
    seconds: float
