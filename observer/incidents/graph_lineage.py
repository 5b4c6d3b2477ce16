"""The incidents' view of the lineage graph, over either graph backend (embedded or Neo4j)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from observer.catalog.identity import DatasetRef, JobRef
from observer.graph.base import GraphStore, UnknownNode
from observer.graph.model import GraphUnavailable
from observer.graph.tables import NodeKind
from observer.incidents.lineage import ImpactedNode

log = logging.getLogger(__name__)


class GraphLineage:
    """:class:`observer.incidents.lineage.LineageView` on a :class:`GraphStore`.

    When the graph cannot be reached, incidents are still made, as if the dataset stood alone (and
    a warning is logged): alerts must not wait for lineage.
    """

    def __init__(self, graph: GraphStore, *, max_nodes: int | None = 20_000) -> None:
        self.graph = graph
        self.max_nodes = max_nodes

    def downstream(self, ref: DatasetRef, depth: int, columns: Sequence[str] = ()) -> list[ImpactedNode]:
        found: dict[str, ImpactedNode] = {}
        starts = [ref.field_node_id(column) for column in columns] or [ref.node_id]
        for node_id in starts:
            try:
                impact = self.graph.impact(node_id, depth=depth, max_nodes=self.max_nodes)
            except UnknownNode:
                if node_id == ref.node_id:
                    continue
                # a column without column lineage: everything below its dataset may be affected
                return self.downstream(ref, depth)
            except GraphUnavailable as error:
                log.warning("lineage unavailable, %s is treated as standing alone: %s", ref.node_id, error)
                return []
            for node in impact.nodes:
                dataset = DatasetRef(node.namespace, node.name)
                column = node.field if node.type == "DATASET_FIELD" else None
                item = ImpactedNode(
                    node.node_id,
                    "column" if column is not None else "dataset",
                    node.hops,
                    bool(node.direct),
                    dataset=dataset,
                    column=column,
                )
                found[item.node_id] = _nearer(found.get(item.node_id), item)
            for job in impact.jobs:
                item = ImpactedNode(job.node_id, "job", job.hops, False, job=JobRef(job.namespace, job.name))
                found[item.node_id] = _nearer(found.get(item.node_id), item)
        return sorted(found.values(), key=lambda node: (node.hops, node.kind, node.node_id))

    def upstream_datasets(self, ref: DatasetRef, depth: int) -> dict[DatasetRef, int]:
        try:
            walk = self.graph.lineage(
                ref.node_id, direction="upstream", depth=depth, max_nodes=self.max_nodes, level="dataset"
            )
        except UnknownNode:
            return {}
        except GraphUnavailable as error:
            log.warning("lineage unavailable, no upstream suspects for %s: %s", ref.node_id, error)
            return {}
        return {
            node.dataset: walk.hops[node.id]
            for node in walk.nodes.values()
            if node.kind == NodeKind.DATASET and node.dataset != ref
        }


def _nearer(known: ImpactedNode | None, new: ImpactedNode) -> ImpactedNode:
    """Of two sightings of a node (from several affected columns): the nearer, direct if either is."""
    if known is None:
        return new
    nearest = known if known.hops <= new.hops else new
    if nearest.direct or not (known.direct or new.direct):
        return nearest
    return ImpactedNode(
        nearest.node_id, nearest.kind, nearest.hops, True, nearest.dataset, nearest.column, nearest.job
    )
