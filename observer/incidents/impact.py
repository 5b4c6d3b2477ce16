"""Impact analysis: what a broken dataset breaks downstream, how far away, and who owns it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from observer.catalog.identity import DatasetRef
from observer.incidents.lineage import ImpactedNode, LineageView
from observer.incidents.owners import OwnerDirectory


@dataclass
class Impact:
    """Downstream nodes of ``origin`` (nearest first) and the owners of the datasets among them."""

    origin: DatasetRef
    nodes: list[ImpactedNode]
    owners: dict[DatasetRef, list[str]] = field(default_factory=dict)

    @property
    def datasets(self) -> list[ImpactedNode]:
        return [node for node in self.nodes if node.kind == "dataset"]

    def dataset_hops(self) -> dict[DatasetRef, int]:
        """Every dataset within the impact with its distance, the origin itself at 0."""
        hops = {self.origin: 0}
        for node in self.datasets:
            if node.dataset is not None:
                hops.setdefault(node.dataset, node.hops)
        return hops

    def summary(self, top: int) -> dict[str, Any]:
        """Counts, owners and the ``top`` nearest datasets: what a message shows."""
        datasets = sorted(
            (node for node in self.datasets if node.dataset is not None),
            key=lambda node: (node.hops, not node.direct, node.node_id),
        )
        impacted_owners: list[str] = []
        for node in datasets:
            assert node.dataset is not None
            for owner in self.owners.get(node.dataset, []):
                if owner not in impacted_owners:
                    impacted_owners.append(owner)
        return {
            "datasets": len(datasets),
            "direct_datasets": sum(1 for node in datasets if node.direct),
            "columns": sum(1 for node in self.nodes if node.kind == "column"),
            "jobs": sum(1 for node in self.nodes if node.kind == "job"),
            "max_hops": max((node.hops for node in self.nodes), default=0),
            "origin_owners": list(self.owners.get(self.origin, [])),
            "owners": impacted_owners,
            "top": [
                {
                    "namespace": node.dataset.namespace,
                    "name": node.dataset.name,
                    "hops": node.hops,
                    "direct": node.direct,
                    "owners": list(self.owners.get(node.dataset, [])),
                }
                for node in datasets[:top]
                if node.dataset is not None
            ],
        }


def analyse_impact(
    connection: Connection,
    lineage: LineageView,
    owners: OwnerDirectory,
    origin: DatasetRef,
    *,
    depth: int,
    columns: Sequence[str] = (),
) -> Impact:
    nodes = sorted(
        lineage.downstream(origin, depth, columns), key=lambda node: (node.hops, node.kind, node.node_id)
    )
    datasets = {origin} | {node.dataset for node in nodes if node.kind == "dataset" and node.dataset}
    return Impact(origin, nodes, owners.owners(connection, datasets))
