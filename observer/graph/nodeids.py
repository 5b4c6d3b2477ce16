"""Reading API node ids (``dataset:<ns>:<name>``, ``datasetField:<ns>:<name>:<field>``, ``job:<ns>:<name>``).

Namespaces contain colons (``postgres://host:5432``), so an id is ambiguous on its own; these
helpers list every reading, and the lookup keeps the one the graph or the catalog knows.
"""

from __future__ import annotations

from observer.catalog.identity import DatasetRef

PREFIXES = ("dataset:", "datasetField:", "job:")


class InvalidNodeId(ValueError):
    pass


def node_prefix(node_id: str) -> str:
    for prefix in PREFIXES:
        if node_id.startswith(prefix) and len(node_id) > len(prefix):
            return prefix[:-1]
    raise InvalidNodeId(
        f"node id {node_id!r} must look like dataset:<namespace>:<name>, "
        "datasetField:<namespace>:<dataset>:<field> or job:<namespace>:<name>"
    )


def _splits(text: str) -> list[tuple[str, str]]:
    return [
        (text[:at], text[at + 1 :]) for at, char in enumerate(text) if char == ":" and 0 < at < len(text) - 1
    ]


def dataset_readings(node_id: str) -> list[tuple[DatasetRef, str | None]]:
    """Every (dataset, field) a ``dataset:`` or ``datasetField:`` id could mean."""
    kind = node_prefix(node_id)
    rest = node_id[len(kind) + 1 :]
    if kind == "dataset":
        return [(DatasetRef(namespace, name), None) for namespace, name in _splits(rest)]
    if kind == "datasetField":
        return [
            (DatasetRef(namespace, name), column)
            for head, column in _splits(rest)
            for namespace, name in _splits(head)
        ]
    return []
