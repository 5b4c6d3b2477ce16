"""Reading the graph tables of the store (the embedded backend's side of the traversal).

These queries run once per level of every walk, so they are plain SQL on the driver (no
statement compilation per call): ``IN (?, …)`` on SQLite, ``= ANY(%(ids)s)`` on PostgreSQL, and
only the columns a walk needs.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Connection

from observer.graph.reader import chunked, retired_then
from observer.graph.results import Edge, EdgeKey, Node
from observer.graph.tables import EdgeKind, NodeKind

CHUNK = 500
_NODE_COLUMNS = "id, kind, key, namespace, name, field, dataset_id, merged_into, first_seen"
_KEY_COLUMNS = "src, dst, kind, job, source, type"
_DETAIL_COLUMNS = f"{_KEY_COLUMNS}, subtype, masking, description, first_seen, last_seen, retired_at, gaps"


def node_from_row(row: Sequence[Any]) -> Node:
    """A node from its row (``kind`` stays the stored int, which compares equal to its NodeKind)."""
    return Node._make(row)


class SqlGraphReader:
    """A :class:`~observer.graph.reader.GraphReader` over one open connection."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.postgres = connection.dialect.name == "postgresql"

    def _in(self, column: str, values: Sequence[Any], parameters: dict[str, Any]) -> str:
        """A membership test for ``values``, adding its parameters."""
        if self.postgres:
            parameters["values"] = list(values)
            return f"{column} = ANY(%(values)s)"
        for index, value in enumerate(values):
            parameters[f"v{index}"] = value
        return f"{column} IN ({', '.join(f':v{index}' for index in range(len(values)))})"

    def _rows(self, sql: str, parameters: dict[str, Any]) -> list[Any]:
        cursor = self.connection.connection.cursor()
        try:
            cursor.execute(sql, parameters)
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def _select(
        self, columns: str, table: str, column: str, values: Sequence[Any], where: str = "", **extra: Any
    ) -> list[Any]:
        found: list[Any] = []
        for chunk in chunked(values, CHUNK):
            parameters: dict[str, Any] = {}
            membership = self._in(column, chunk, parameters)
            parameters.update(extra)
            sql = f"SELECT {columns} FROM {table} WHERE {membership}{where}"
            found += self._rows(sql, parameters)
        return found

    def find_nodes(self, keys: Collection[str]) -> dict[str, Node]:
        rows = self._select(_NODE_COLUMNS, "graph_nodes", "key", sorted(set(keys)))
        return {row[2]: node_from_row(row) for row in rows}

    def nodes(self, ids: Collection[int]) -> dict[int, Node]:
        rows = self._select(_NODE_COLUMNS, "graph_nodes", "id", sorted(set(ids)))
        return {row[0]: node_from_row(row) for row in rows}

    def fields(self, dataset_ids: Collection[int], as_of_ms: int | None) -> list[Node]:
        where = f" AND kind = {int(NodeKind.FIELD)} AND merged_into IS NULL"
        extra: dict[str, Any] = {}
        if as_of_ms is not None:
            where += self._param(" AND first_seen <= ", "as_of")
            extra["as_of"] = as_of_ms
        rows = self._select(
            _NODE_COLUMNS, "graph_nodes", "dataset_id", sorted(set(dataset_ids)), where, **extra
        )
        return sorted((node_from_row(row) for row in rows), key=lambda node: node.id)

    def _param(self, prefix: str, name: str) -> str:
        return f"{prefix}%({name})s" if self.postgres else f"{prefix}:{name}"

    def _edge_rows(
        self,
        columns: str,
        ids: Collection[int],
        kinds: Collection[EdgeKind],
        reverse: bool,
        as_of_ms: int | None,
        include_retired: bool = False,
    ) -> list[Any]:
        """Rows of ``columns`` (whose last is ``gaps`` when ``as_of_ms`` is given) of the edges live
        now, or at ``as_of_ms``, or all of them with ``include_retired``."""
        where = f" AND kind IN ({', '.join(str(int(kind)) for kind in sorted(kinds))})"
        extra: dict[str, Any] = {}
        if as_of_ms is not None:
            as_of = self._param("", "as_of")
            where += f" AND first_seen <= {as_of} AND (retired_at IS NULL OR retired_at > {as_of})"
            extra["as_of"] = as_of_ms
        elif not include_retired:
            where += " AND retired_at IS NULL"
        rows = self._select(
            columns, "graph_edges", "dst" if reverse else "src", sorted(set(ids)), where, **extra
        )
        if as_of_ms is not None:
            rows = [row for row in rows if not retired_then(row[-1], as_of_ms)]
        return rows

    def links(
        self, ids: Collection[int], kinds: Collection[EdgeKind], *, reverse: bool, as_of_ms: int | None
    ) -> list[EdgeKey]:
        if as_of_ms is None:
            return self._edge_rows(_KEY_COLUMNS, ids, kinds, reverse, None)
        rows = self._edge_rows(f"{_KEY_COLUMNS}, gaps", ids, kinds, reverse, as_of_ms)
        return [row[:6] for row in rows]

    def edges(
        self,
        ids: Collection[int],
        kinds: Collection[EdgeKind],
        *,
        reverse: bool,
        as_of_ms: int | None,
        include_retired: bool = False,
    ) -> list[Edge]:
        """The edges with all their attributes; with ``include_retired``, retired ones too."""
        rows = self._edge_rows(_DETAIL_COLUMNS, ids, kinds, reverse, as_of_ms, include_retired)
        return [Edge._make(row) for row in rows]
