"""The read side a backend provides to the shared traversal: lookups and one-hop edge fetches."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from typing import Protocol, TypeVar

from observer.graph.results import Edge, EdgeKey, Node
from observer.graph.tables import EdgeKind

T = TypeVar("T")


class GraphReader(Protocol):
    def find_nodes(self, keys: Collection[str]) -> dict[str, Node]:
        """Nodes by API node id (merged aliases included, as stored)."""
        ...

    def nodes(self, ids: Collection[int]) -> dict[int, Node]: ...

    def fields(self, dataset_ids: Collection[int], as_of_ms: int | None) -> list[Node]:
        """The (unmerged) column nodes of these datasets that existed at ``as_of_ms``."""
        ...

    def links(
        self, ids: Collection[int], kinds: Collection[EdgeKind], *, reverse: bool, as_of_ms: int | None
    ) -> list[EdgeKey]:
        """Identities of the edges of ``kinds`` leaving ``ids`` (entering them with ``reverse``)
        live at ``as_of_ms`` (first seen by then, not retired then), or now (not retired): what a
        walk needs, as cheap as the backend can make it."""
        ...

    def edges(
        self, ids: Collection[int], kinds: Collection[EdgeKind], *, reverse: bool, as_of_ms: int | None
    ) -> list[Edge]:
        """The same edges with all their attributes."""
        ...


def retired_then(gaps: str | None, at_ms: int) -> bool:
    """Whether ``at_ms`` falls in one of an edge's earlier retirements (``gaps``: ``from-to,…``)."""
    if not gaps:
        return False
    for gap in gaps.split(","):
        start, _, end = gap.partition("-")
        if int(start) <= at_ms < int(end):
            return True
    return False


def chunked(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
