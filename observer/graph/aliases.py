"""Symlinked identities: every alias of a dataset resolves to the one node of that dataset."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Iterator

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
    targets = alias_targets(connection, [(ref.namespace, ref.name) for ref in wanted])
    return {ref: targets.get((ref.namespace, ref.name), ref) for ref in wanted}


def alias_targets(
    connection: Connection, pairs: Collection[tuple[str, str]]
) -> dict[tuple[str, str], DatasetRef]:
    """The dataset each aliased ``(namespace, name)`` of ``pairs`` resolves to; the others are left
    out. Plain SQL on the driver (names as a JSON array on PostgreSQL, which psycopg sends without
    dumping each element in Python): every recorded batch asks this of all its datasets."""
    postgres = connection.dialect.name == "postgresql"
    by_namespace: dict[str, list[str]] = {}
    for namespace, name in pairs:
        by_namespace.setdefault(namespace, []).append(name)
    alias_of: dict[tuple[str, str], int] = {}
    cursor = connection.connection.cursor()
    try:
        for namespace, names in by_namespace.items():
            for chunk in chunked(sorted(set(names)), _CHUNK):
                if postgres:
                    cursor.execute(
                        "SELECT name, dataset_id FROM dataset_aliases "
                        "WHERE namespace = %s AND name IN (SELECT jsonb_array_elements_text(%s::jsonb))",
                        (namespace, json.dumps(chunk)),
                    )
                else:
                    cursor.execute(
                        "SELECT name, dataset_id FROM dataset_aliases "
                        f"WHERE namespace = ? AND name IN ({', '.join('?' * len(chunk))})",
                        (namespace, *chunk),
                    )
                alias_of.update({(namespace, name): dataset_id for name, dataset_id in cursor.fetchall()})
    finally:
        cursor.close()
    if not alias_of:
        return {}
    names_by_id = dataset_refs(connection, set(alias_of.values()))
    return {
        pair: names_by_id[dataset_id] for pair, dataset_id in alias_of.items() if dataset_id in names_by_id
    }


def all_aliases(connection: Connection) -> Iterator[tuple[DatasetRef, DatasetRef]]:
    """Every (alias, dataset) pair the catalog knows."""
    rows = connection.execute(
        select(dataset_aliases.c.namespace, dataset_aliases.c.name, dataset_aliases.c.dataset_id)
    ).all()
    names = dataset_refs(connection, {row[2] for row in rows})
    for namespace, name, dataset_id in rows:
        if dataset_id in names:
            yield DatasetRef(namespace, name), names[dataset_id]
