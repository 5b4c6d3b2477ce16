"""The identities every part shares (see DESIGN.md): datasets, columns and jobs by namespace + name."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class DatasetRef:
    namespace: str
    name: str

    @property
    def node_id(self) -> str:
        return f"dataset:{self.namespace}:{self.name}"

    def field_node_id(self, field: str) -> str:
        return f"datasetField:{self.namespace}:{self.name}:{field}"


@dataclass(frozen=True, order=True)
class JobRef:
    namespace: str
    name: str

    @property
    def node_id(self) -> str:
        return f"job:{self.namespace}:{self.name}"
