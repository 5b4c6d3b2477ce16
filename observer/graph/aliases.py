"""Symlinked identities: every alias of a dataset resolves to the one node of that dataset."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from sqlalchemy import Connection, select

from observer.catalog.identity import DatasetRef
from observer.catalog.service import dataset_refs
from observer.catalog.tables import dataset_aliases
from observer.graph.reader import chunked

_CHUNK = 400


def canonical_refs(connection: Connection, refs: Iterable[DatasetRef]) -> dict[DatasetRef, DatasetRef]:
    """Each of ``refs`` mapped to its dataset's own identity (itself when it is not an alias).

    Sources call this before building a :class:`~observer.graph.model.LineageBatch`; the graph
    calls it again when recording, so an alias registered later still lands on one node.
    """
    wanted = set(refs)
    alias_of: dict[DatasetRef, int] = {}
    by_namespace: dict[str, list[str]] = {}
    for ref in wanted:
        by_namespace.setdefault(ref.namespace, []).append(ref.name)
    for namespace, names in by_namespace.items():
        for chunk in chunked(sorted(names), _CHUNK):
            rows = connection.execute(
                select(dataset_aliases.c.name, dataset_aliases.c.dataset_id).where(
                    dataset_aliases.c.namespace == namespace, dataset_aliases.c.name.in_(chunk)
                )
            )
            alias_of.update({DatasetRef(namespace, name): dataset_id for name, dataset_id in rows})
    names_by_id = dataset_refs(connection, set(alias_of.values())) if alias_of else {}
    return {ref: names_by_id.get(alias_of[ref], ref) if ref in alias_of else ref for ref in wanted}


def all_aliases(connection: Connection) -> Iterator[tuple[DatasetRef, DatasetRef]]:
    """Every (alias, dataset) pair the catalog knows."""
    rows = connection.execute(
        select(dataset_aliases.c.namespace, dataset_aliases.c.name, dataset_aliases.c.dataset_id)
    ).all()
    names = dataset_refs(connection, {row[2] for row in rows})
    for namespace, name, dataset_id in rows:
        if dataset_id in names:
            yield DatasetRef(namespace, name), names[dataset_id]
