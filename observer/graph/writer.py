"""Recording lineage in the graph tables: nodes by key, edges upserted with first/last seen times.

Every backend writes here first (the store is the source of truth); :class:`Changes` is what a
write touched, which the Neo4j backend pushes on to its server.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain, compress, repeat
from operator import add, attrgetter, gt, itemgetter, ne, not_
from typing import Any, NamedTuple

from sqlalchemy import Connection, bindparam, delete, update

from observer.catalog.identity import DatasetRef, JobRef
from observer.graph.aliases import alias_targets, canonical_refs
from observer.graph.model import LineageBatch, Transformation
from observer.graph.reader import chunked
from observer.graph.results import Edge, Node
from observer.graph.retirement import current_edges, retire_declared, retire_nodes
from observer.graph.sql_reader import SqlGraphReader
from observer.graph.tables import (
    NO_JOB,
    EdgeKind,
    NodeKind,
    SourceCode,
    TransformCode,
    graph_edges,
    graph_nodes,
    to_ms,
)

EDGE_KEY = ("src", "dst", "kind", "job", "source", "type")
_READ, _WRITE, _FLOW, _DERIVE = (int(kind) for kind in EdgeKind)
_NONE = int(TransformCode.NONE)
_TRANSFORMS = {"DIRECT": int(TransformCode.DIRECT), "INDIRECT": int(TransformCode.INDIRECT)}
_DATASET_KIND, _FIELD_KIND, _JOB_KIND = (int(kind) for kind in NodeKind)
_NODE_INSERT = ("kind", "key", "namespace", "name", "field", "dataset_id", "first_seen")
_CHUNK = 500
_SQLITE_ROWS = 2000
"""Rows per multi-row statement on SQLite (7 parameters each, below its 32,766 limit)."""


@dataclass
class Changes:
    """Nodes and edges a write touched (edges with the batch's own times), and nodes whose edges
    were moved elsewhere by a merge. Applying them to a mirror with min/max times reproduces the
    store."""

    nodes: dict[int, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    detach: set[int] = field(default_factory=set)
    collect: bool = True

    def __bool__(self) -> bool:
        return bool(self.nodes or self.edges or self.detach)

    def as_json(self) -> dict[str, Any]:
        return {
            "nodes": [list(node) for node in self.nodes.values()],
            "edges": [list(edge) for edge in self.edges],
            "detach": sorted(self.detach),
        }

    @classmethod
    def from_json(cls, payload: Mapping[str, Any]) -> Changes:
        return cls(
            nodes={row[0]: Node(row[0], NodeKind(row[1]), *row[2:]) for row in payload["nodes"]},
            edges=[Edge(*row) for row in payload["edges"]],
            detach=set(payload["detach"]),
        )


_UPSERTED = Edge._fields[:11]
"""The columns a sighting writes (``retired_at`` and ``gaps`` follow from them)."""
_EDGE_COLUMNS = ", ".join(_UPSERTED)
_NEWER = "excluded.last_seen >= graph_edges.last_seen"
_RETIRED = "graph_edges.retired_at IS NOT NULL"
_BACK_SINCE = (
    "CASE WHEN excluded.first_seen >= graph_edges.retired_at THEN excluded.first_seen "
    "ELSE excluded.last_seen END"
)
"""When a retired edge seen again came back: its first sighting after the retirement (a write of
several batches may also carry earlier ones; then its last)."""
_EDGE_CONFLICT = (
    f"ON CONFLICT ({', '.join(EDGE_KEY)}) DO UPDATE SET "
    "first_seen = CASE WHEN excluded.first_seen < graph_edges.first_seen "
    "THEN excluded.first_seen ELSE graph_edges.first_seen END, "
    f"last_seen = CASE WHEN {_NEWER} THEN excluded.last_seen ELSE graph_edges.last_seen END, "
    f"subtype = CASE WHEN {_NEWER} THEN excluded.subtype ELSE graph_edges.subtype END, "
    f"masking = CASE WHEN {_NEWER} THEN excluded.masking ELSE graph_edges.masking END, "
    f"description = CASE WHEN {_NEWER} THEN coalesce(excluded.description, graph_edges.description) "
    "ELSE graph_edges.description END, "
    f"gaps = CASE WHEN {_RETIRED} AND {_BACK_SINCE} > graph_edges.retired_at "
    "THEN coalesce(graph_edges.gaps || ',', '') || CAST(graph_edges.retired_at AS TEXT) || '-' || "
    f"CAST({_BACK_SINCE} AS TEXT) ELSE graph_edges.gaps END, "
    f"retired_at = CASE WHEN {_RETIRED} AND excluded.last_seen >= graph_edges.retired_at THEN NULL "
    "ELSE graph_edges.retired_at END"
)
"""An edge already present keeps its earliest first_seen and latest last_seen, and takes the
attributes of whichever observation is newest (SET expressions read the row as it was). A retired
edge seen at or after its retirement is live again; the time it was retired becomes a gap."""
_SQLITE_EDGE_UPSERT = (
    f"INSERT INTO graph_edges ({_EDGE_COLUMNS}) VALUES ({', '.join('?' * len(_UPSERTED))}) {_EDGE_CONFLICT}"
)
_EDGE_TYPES = (
    "integer",
    "integer",
    "smallint",
    "integer",
    "smallint",
    "smallint",
    "",
    "boolean",
    "",
    "bigint",
    "bigint",
)
_NODE_TYPES = ("smallint", "", "", "", "", "integer", "bigint")


def _json_rows(types: Sequence[str]) -> str:
    """The columns of the rows a PostgreSQL statement receives as one JSON array of arrays (its
    parameter ``%s``): psycopg dumps Python lists into arrays element by element in Python, while
    ``json.dumps`` and the server's ``jsonb`` functions run in C (``jsonb``: parsed once, where
    each ``->>`` on ``json`` parses the element again; measured 8 against 13 µs a row)."""
    values = [f"(row->>{at})::{kind}" if kind else f"row->>{at}" for at, kind in enumerate(types)]
    return f"SELECT {', '.join(values)} FROM jsonb_array_elements(%s::jsonb) AS row"


_POSTGRES_EDGE_UPSERT = (
    f"INSERT INTO graph_edges ({_EDGE_COLUMNS}) {_json_rows(_EDGE_TYPES)} {_EDGE_CONFLICT}"
)
_POSTGRES_NODE_INSERT = (
    f"INSERT INTO graph_nodes ({', '.join(_NODE_INSERT)}) {_json_rows(_NODE_TYPES)} "
    "ON CONFLICT DO NOTHING RETURNING key, id"
)
_POSTGRES_KEYS = "(SELECT jsonb_array_elements_text(%s::jsonb))"
"""A JSON array of strings as a set, for ``key IN …`` on PostgreSQL."""
_POSTGRES_CHUNK = 20_000
"""Rows per statement on PostgreSQL."""


def upsert_edges(connection: Connection, edges: Iterable[tuple[Any, ...]]) -> None:
    """Insert edges (rows of plain values in :class:`Edge` order, one per edge key) in key order;
    an edge already present keeps its earliest first_seen and latest last_seen, and takes the
    attributes of whichever observation is newest. SQLite runs one prepared statement per row,
    PostgreSQL one ``INSERT … SELECT`` from a JSON array per :data:`_POSTGRES_CHUNK` rows."""
    rows = sorted(edges)
    if not rows:
        return
    cursor = connection.connection.cursor()
    try:
        if connection.dialect.name == "postgresql":
            for chunk in chunked(rows, _POSTGRES_CHUNK):
                cursor.execute(_POSTGRES_EDGE_UPSERT, (json.dumps(chunk),))
        else:
            cursor.executemany(_SQLITE_EDGE_UPSERT, rows)
    finally:
        cursor.close()


def insert_nodes(connection: Connection, rows: Sequence[tuple[Any, ...]]) -> dict[str, int]:
    """Insert nodes (rows in :data:`_NODE_INSERT` order, best in key order) that do not exist yet;
    return the ids of those created, by key (one ``INSERT … RETURNING`` per chunk: multi-row
    ``VALUES`` on SQLite, a JSON array on PostgreSQL)."""
    created: dict[str, int] = {}
    postgres = connection.dialect.name == "postgresql"
    cursor = connection.connection.cursor()
    try:
        for chunk in chunked(rows, _POSTGRES_CHUNK if postgres else _SQLITE_ROWS):
            if postgres:
                cursor.execute(_POSTGRES_NODE_INSERT, (json.dumps(chunk),))
            else:
                cursor.execute(
                    f"INSERT INTO graph_nodes ({', '.join(_NODE_INSERT)}) "
                    f"VALUES {', '.join([_SQLITE_NODE_VALUES] * len(chunk))} "
                    "ON CONFLICT DO NOTHING RETURNING key, id",
                    list(chain.from_iterable(chunk)),
                )
            created.update(cursor.fetchall())
    finally:
        cursor.close()
    return created


def node_states(connection: Connection, keys: Sequence[str]) -> list[tuple[str, int, int, int]]:
    """(key, id it resolves to, its own id, first_seen) of the existing nodes among ``keys``: a
    merged alias resolves to the node it was merged into."""
    found: list[tuple[str, int, int, int]] = []
    postgres = connection.dialect.name == "postgresql"
    columns = "key, coalesce(merged_into, id), id, first_seen"
    cursor = connection.connection.cursor()
    try:
        for chunk in chunked(keys, _POSTGRES_CHUNK if postgres else _SQLITE_ROWS):
            if postgres:
                cursor.execute(
                    f"SELECT {columns} FROM graph_nodes WHERE key IN {_POSTGRES_KEYS}", (json.dumps(chunk),)
                )
            else:
                cursor.execute(
                    f"SELECT {columns} FROM graph_nodes WHERE key IN ({', '.join('?' * len(chunk))})", chunk
                )
            found += cursor.fetchall()
    finally:
        cursor.close()
    return found


_SQLITE_NODE_VALUES = f"({', '.join('?' * len(_NODE_INSERT))})"
_SOURCE = attrgetter("source.dataset.namespace", "source.dataset.name", "source.field")
_TARGET = attrgetter("target.dataset.namespace", "target.dataset.name", "target.field")
_DATASET_EDGE = attrgetter("dataset.namespace", "dataset.name", "job.namespace", "job.name", "direction")
_PAIR = itemgetter(0, 1)
_JOB_PAIR = itemgetter(2, 3)
_KEY = itemgetter(1)
_FIRST_SEEN = itemgetter(6)


class _Plain(NamedTuple):
    """A batch as lists of plain tuples, which hash and unpack cheaply (batches carry up to
    millions of edges): every column edge's source and target column as (namespace, dataset,
    field), its ``Transformation`` and ``JobRef`` objects (the distinct ones by ``id()``)."""

    seen: int
    source: int
    dataset_edges: list[tuple[str, str, str, str, str]]
    sources: list[tuple[str, str, str]]
    targets: list[tuple[str, str, str]]
    transformations: list[Transformation]
    jobs: list[JobRef | None]

    @classmethod
    def of(cls, batch: LineageBatch) -> _Plain:
        edges = batch.column_edges
        return cls(
            to_ms(batch.observed_at),
            int(SourceCode[batch.source]),
            list(map(_DATASET_EDGE, batch.dataset_edges)),
            list(map(_SOURCE, edges)),
            list(map(_TARGET, edges)),
            [edge.transformation for edge in edges],
            [edge.job for edge in edges],
        )

    def distinct_jobs(self) -> dict[int, JobRef | None]:
        return dict(zip(map(id, self.jobs), self.jobs, strict=True))


class _Ids(NamedTuple):
    """The node ids of a write's identities."""

    columns: dict[tuple[str, str, str], int]
    column_datasets: dict[int, int]
    """Each column node's dataset node."""
    datasets: dict[tuple[str, str], int]
    jobs: dict[tuple[str, str], int]


class GraphTablesWriter:
    """Writes lineage batches and alias merges into the graph tables on a caller's connection."""

    def write(self, connection: Connection, batch: LineageBatch, *, collect: bool = True) -> Changes:
        """Record ``batch``; with ``collect``, return the rows written (for a mirror to apply)."""
        return self.write_many(connection, [batch], collect=collect)

    def write_many(
        self, connection: Connection, batches: Sequence[LineageBatch], *, collect: bool = True
    ) -> Changes:
        """Record ``batches`` as if one after the other, with one lookup of their identities and one
        upsert of their edges: an edge seen in several keeps the earliest first and latest last time
        and the attributes of its newest observation; a node is first seen at its earliest mention.

        A batch that declares something in full (:attr:`LineageBatch.complete`) then retires what
        its source declared before in that scope and left out: the batches up to it are written,
        then the retirement applies, then the rest follow.

        Batches carry up to millions of edges, so the per-edge work is kept to C-level passes
        (``map``/``zip`` over plain tuples); Python loops run once per distinct dataset, job, column
        and dataset-level link."""
        changes = Changes(collect=collect)
        written: set[tuple[int, ...]] = set()
        with _cyclic_gc_paused():
            group: list[LineageBatch] = []
            for batch in batches:
                if not batch:
                    continue
                group.append(batch)
                if batch.complete:
                    ids = self._write_group(connection, group, changes, written)
                    written.update(retire_declared(connection, batch, ids.datasets, ids.jobs))
                    group = []
            if group:
                self._write_group(connection, group, changes, written)
            if collect and written:
                changes.edges += current_edges(connection, written)
        return changes

    def _write_group(
        self,
        connection: Connection,
        batches: Sequence[LineageBatch],
        changes: Changes,
        written: set[tuple[int, ...]],
    ) -> _Ids:
        """Record ``batches`` (non-empty) with one lookup of their identities and one upsert of their
        edges; add the keys of the edges written to ``written`` when ``changes`` are collected."""
        parts = [_Plain.of(batch) for batch in batches]
        # every identity with its earliest mention: the latest batches first, so earlier ones overwrite
        columns: dict[tuple[str, str, str], int] = {}
        pairs: dict[tuple[str, str], int] = {}
        jobs: dict[tuple[str, str], int] = {}
        for part in sorted(parts, key=attrgetter("seen"), reverse=True):
            seen_columns = dict.fromkeys(chain(part.sources, part.targets), part.seen)
            columns.update(seen_columns)
            pairs.update(dict.fromkeys(map(_PAIR, seen_columns), part.seen))
            pairs.update(dict.fromkeys(map(_PAIR, part.dataset_edges), part.seen))
            jobs.update(dict.fromkeys(map(_JOB_PAIR, part.dataset_edges), part.seen))
            jobs.update(dict.fromkeys(map(job_pair, filter(None, part.distinct_jobs().values())), part.seen))
        aliased = alias_targets(connection, pairs)
        aliases = {ref: target for pair, target in aliased.items() if (ref := DatasetRef(*pair)) != target}
        if aliases:
            self.merge_aliases(connection, aliases, changes)
        datasets = {pair: aliased.get(pair) or DatasetRef(*pair) for pair in pairs}

        # datasets and jobs, then their columns (which point at their dataset's id)
        dataset_keys = {pair: dataset.node_id for pair, dataset in datasets.items()}
        job_keys = {pair: JobRef(*pair).node_id for pair in jobs}
        # aliases (or names with colons) can share a node key: the earliest mention wins
        nodes: dict[str, tuple[Any, ...]] = {}
        for pair, seen in pairs.items():
            key, dataset = dataset_keys[pair], datasets[pair]
            if key not in nodes or nodes[key][-1] > seen:
                nodes[key] = (_DATASET_KIND, key, dataset.namespace, dataset.name, None, None, seen)
        for pair, seen in jobs.items():
            key = job_keys[pair]
            if key not in nodes or nodes[key][-1] > seen:
                nodes[key] = (_JOB_KIND, key, *pair, None, None, seen)
        ids, created = self._ensure_rows(connection, nodes.values(), changes)
        dataset_ids = {pair: ids[key] for pair, key in dataset_keys.items()}
        job_ids = {pair: ids[key] for pair, key in job_keys.items()}

        # a column's node id is its dataset's followed by the column name (DatasetRef.field_node_id)
        heads = {
            pair: (dataset.field_node_id(""), dataset.namespace, dataset.name, dataset_ids[pair])
            for pair, dataset in datasets.items()
        }
        column_heads = list(map(heads.__getitem__, map(_PAIR, columns)))
        field_names = list(map(itemgetter(2), columns))
        keys = list(map(add, map(itemgetter(0), column_heads), field_names))
        column_datasets = list(map(itemgetter(3), column_heads))
        rows = list(
            zip(
                repeat(_FIELD_KIND, len(keys)),
                keys,
                map(itemgetter(1), column_heads),
                map(itemgetter(2), column_heads),
                field_names,
                column_datasets,
                columns.values(),
                strict=True,
            )
        )
        field_nodes = dict(zip(keys, rows, strict=True))
        if len(field_nodes) < len(rows):  # aliases (or names with colons) share a node: earliest mention
            field_nodes = {}
            for row in sorted(rows, key=_FIRST_SEEN, reverse=True):
                field_nodes[row[1]] = row
        ids, _ = self._ensure_rows(connection, field_nodes.values(), changes, set(created.values()))
        column_ids = list(map(ids.__getitem__, keys))
        graph = _Ids(
            dict(zip(columns, column_ids, strict=True)),
            dict(zip(column_ids, column_datasets, strict=True)),
            dataset_ids,
            job_ids,
        )

        edges = self._edges(parts[0], graph)
        for part in parts[1:]:
            for edge_key, row in self._edges(part, graph).items():
                _observe(edges, edge_key, row)
        upsert_edges(connection, edges.values())
        if changes.collect:
            written.update(edges)
        return graph

    @staticmethod
    def _edges(part: _Plain, graph: _Ids) -> dict[tuple[int, ...], tuple[Any, ...]]:
        """The rows of one batch's edges, by edge key (a later sighting in the batch wins, as it
        would recorded after the earlier one)."""
        seen, code = part.seen, part.source
        job_of = {
            key: NO_JOB if job is None else graph.jobs[job_pair(job)]
            for key, job in part.distinct_jobs().items()
        }
        how_ids = list(map(id, part.transformations))
        distinct_hows = dict(zip(how_ids, part.transformations, strict=True))
        type_of = {key: _TRANSFORMS[how.type] for key, how in distinct_hows.items()}
        attributes_of = {
            key: (how.subtype, how.masking, how.description, seen, seen) for key, how in distinct_hows.items()
        }
        srcs = list(map(graph.columns.__getitem__, part.sources))
        dsts = list(map(graph.columns.__getitem__, part.targets))
        edge_jobs = list(map(job_of.__getitem__, map(id, part.jobs)))
        types = map(type_of.__getitem__, how_ids)
        keys = list(
            zip(
                srcs, dsts, repeat(_DERIVE, len(srcs)), edge_jobs, repeat(code, len(srcs)), types, strict=True
            )
        )
        rows = map(add, keys, map(attributes_of.__getitem__, how_ids))
        kept = list(map(ne, srcs, dsts))  # a column deriving from itself is no edge
        edges: dict[tuple[int, ...], tuple[Any, ...]] = dict(
            zip(compress(keys, kept), compress(rows, kept), strict=True)
        )

        # the dataset-level edges column edges imply: through their job (read and write), or a flow
        source_datasets = list(map(graph.column_datasets.__getitem__, srcs))
        target_datasets = list(map(graph.column_datasets.__getitem__, dsts))
        reads = set(compress(zip(source_datasets, edge_jobs, strict=True), edge_jobs))
        writes = set(compress(zip(edge_jobs, target_datasets, strict=True), edge_jobs))
        flows = set(compress(zip(source_datasets, target_datasets, strict=True), map(not_, edge_jobs)))
        flows = {(source, target) for source, target in flows if source != target}
        for namespace, name, job_namespace, job_name, direction in part.dataset_edges:
            dataset_id, job = graph.datasets[namespace, name], graph.jobs[job_namespace, job_name]
            if direction == "input":
                reads.add((dataset_id, job))
            else:
                writes.add((job, dataset_id))
        for kind, links in ((_READ, reads), (_WRITE, writes), (_FLOW, flows)):
            link_keys = list(map(add, links, repeat((kind, NO_JOB, code, _NONE))))
            attributes = repeat((*_PLAIN, seen, seen), len(link_keys))
            edges.update(zip(link_keys, map(add, link_keys, attributes), strict=True))
        return edges

    def _ensure_rows(
        self,
        connection: Connection,
        rows: Iterable[tuple[Any, ...]],
        changes: Changes,
        new_datasets: Collection[int] = (),
    ) -> tuple[dict[str, int], dict[str, int]]:
        """Ids of the nodes ``rows`` describe by key (rows in :data:`_NODE_INSERT` order, one per
        key), and those of the nodes created. Existing ones are looked up first (re-recorded
        lineage names mostly known nodes, and a conflicting insert would still cost an index probe
        and, on PostgreSQL, a sequence value), except columns of ``new_datasets`` (created by this
        write: their columns cannot exist yet). Missing ones are inserted in key order (the order
        of the unique index on ``key``); a key taken meanwhile (another writer, or another reading
        of a name with colons) is looked up then. ``first_seen`` moves back on existing nodes seen
        earlier now."""
        ordered = sorted(rows, key=_KEY)
        known = node_states(connection, [row[1] for row in ordered if row[5] not in new_datasets])
        ids: dict[str, int] = dict(map(_PAIR, known))
        created: dict[str, int] = {}
        if len(ids) < len(ordered):
            missing = [row for row in ordered if row[1] not in ids]
            created = insert_nodes(connection, missing)
            ids.update(created)
            if changes.collect:
                for kind, key, namespace, name, column, dataset_id, seen in missing:
                    if key in created:
                        changes.nodes[created[key]] = Node(
                            created[key], NodeKind(kind), key, namespace, name, column, dataset_id, None, seen
                        )
            if len(created) < len(missing):
                raced = node_states(connection, [row[1] for row in missing if row[1] not in created])
                ids.update(map(_PAIR, raced))
                known += raced
        first_seen = dict(map(itemgetter(1, 6), ordered))
        earlier: dict[int, list[int]] = {}
        stored_later = map(
            gt, map(itemgetter(3), known), map(first_seen.__getitem__, map(itemgetter(0), known))
        )
        for key, _, node_id, _ in compress(known, stored_later):
            earlier.setdefault(first_seen[key], []).append(node_id)
        for seen, node_ids in earlier.items():
            for chunk in chunked(node_ids, _CHUNK):
                connection.execute(
                    update(graph_nodes).where(graph_nodes.c.id.in_(chunk)).values(first_seen=seen)
                )
                if changes.collect:
                    changes.nodes.update(SqlGraphReader(connection).nodes(chunk))
        return ids, created

    def retire_datasets(
        self, connection: Connection, datasets: Collection[DatasetRef], at: datetime, changes: Changes
    ) -> int:
        """Retire at ``at`` every live edge of ``datasets`` (aliases resolve to their dataset) and of
        their columns, from any source, last seen by then: the datasets were deleted. Return how
        many edges were retired."""
        keys = {ref.node_id for ref in canonical_refs(connection, datasets).values()}
        dataset_ids = {resolved for _, resolved, _, _ in node_states(connection, sorted(keys))}
        if not dataset_ids:
            return 0
        columns = SqlGraphReader(connection).fields(dataset_ids, None)
        retired = retire_nodes(connection, dataset_ids | {column.id for column in columns}, to_ms(at))
        if changes.collect and retired:
            changes.edges += current_edges(connection, retired)
        return len(set(retired))

    # merging symlinked aliases ----------------------------------------------------------------

    def merge_aliases(
        self, connection: Connection, aliases: Mapping[DatasetRef, DatasetRef], changes: Changes
    ) -> int:
        """Fold the nodes of ``aliases`` (alias → its dataset) that exist in the graph into their
        dataset's node: columns merge by name, edges move, the alias key keeps resolving."""
        reader = SqlGraphReader(connection)
        live = {
            key: node
            for key, node in reader.find_nodes([ref.node_id for ref in aliases]).items()
            if node.merged_into is None and node.kind == NodeKind.DATASET
        }
        merged = 0
        for alias, target in sorted(aliases.items()):
            alias_node = live.get(alias.node_id)
            if alias_node is None:
                continue
            row = (
                _DATASET_KIND,
                target.node_id,
                target.namespace,
                target.name,
                None,
                None,
                alias_node.first_seen,
            )
            target_id = self._ensure_rows(connection, [row], changes)[0][target.node_id]
            self._merge_dataset(connection, alias_node, target, target_id, changes)
            merged += 1
        return merged

    def _merge_dataset(
        self, connection: Connection, alias: Node, target: DatasetRef, target_id: int, changes: Changes
    ) -> None:
        reader = SqlGraphReader(connection)
        target_fields = {node.field: node.id for node in reader.fields([target_id], None)}
        moves = {alias.id: target_id}
        for column in reader.fields([alias.id], None):
            if column.field in target_fields:
                moves[column.id] = target_fields[column.field]
                continue
            assert column.field is not None
            connection.execute(
                update(graph_nodes)
                .where(graph_nodes.c.id == column.id)
                .values(
                    key=target.field_node_id(column.field),
                    namespace=target.namespace,
                    name=target.name,
                    dataset_id=target_id,
                )
            )
        self._move_edges(connection, moves, changes)
        for source, destination in moves.items():
            connection.execute(
                update(graph_nodes).where(graph_nodes.c.id == source).values(merged_into=destination)
            )
        touched = {*moves, *moves.values()} | {node.id for node in reader.fields([target_id], None)}
        changes.nodes.update(reader.nodes(touched))
        changes.detach.update(moves)

    def _move_edges(self, connection: Connection, moves: Mapping[int, int], changes: Changes) -> None:
        """Move the edges of the nodes ``moves`` maps (retired ones too) to their targets; two
        edges that become one keep the earliest first and latest last time, and are live if
        either was."""
        reader = SqlGraphReader(connection)
        kinds = list(EdgeKind)
        moved_ids = list(moves)
        edges = set(reader.edges(moved_ids, kinds, reverse=False, as_of_ms=None, include_retired=True))
        edges |= set(reader.edges(moved_ids, kinds, reverse=True, as_of_ms=None, include_retired=True))
        for chunk in chunked(moved_ids, _CHUNK):
            connection.execute(delete(graph_edges).where(graph_edges.c.src.in_(chunk)))
            connection.execute(delete(graph_edges).where(graph_edges.c.dst.in_(chunk)))
        rows: dict[tuple[int, ...], Edge] = {}
        for edge in edges:
            moved = edge._replace(src=moves.get(edge.src, edge.src), dst=moves.get(edge.dst, edge.dst))
            if moved.src == moved.dst:
                continue
            key = moved[:6]
            if key in rows:
                other = rows[key]
                live = moved.retired_at is None or other.retired_at is None
                newer = moved if moved.last_seen >= other.last_seen else other
                moved = moved._replace(
                    first_seen=min(moved.first_seen, other.first_seen),
                    last_seen=max(moved.last_seen, other.last_seen),
                    retired_at=None if live else max(moved.retired_at or 0, other.retired_at or 0),
                    gaps=None if live else newer.gaps,
                )
            rows[key] = moved
        upsert_edges(connection, (row[:11] for row in rows.values()))
        ended = [row for row in rows.values() if row.retired_at is not None]
        if ended:
            connection.execute(
                update(graph_edges)
                .where(*(graph_edges.c[name] == bindparam(f"k_{name}") for name in EDGE_KEY))
                .where(graph_edges.c.last_seen <= bindparam("k_last_seen"))
                .values(retired_at=bindparam("k_retired_at"), gaps=bindparam("k_gaps")),
                [{f"k_{name}": value for name, value in row._asdict().items()} for row in ended],
            )
        changes.edges += current_edges(connection, rows.keys())


_PLAIN: tuple[Any, ...] = (None, False, None)
"""The attributes (subtype, masking, description) of an edge that is not a column derivation."""


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector: a write allocates millions of short-lived tuples
    (no cycles), and each full collection they trigger would walk the process's whole heap."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def job_pair(job: JobRef) -> tuple[str, str]:
    return (job.namespace, job.name)


def _observe(
    edges: dict[tuple[int, ...], tuple[Any, ...]], key: tuple[int, ...], row: tuple[Any, ...]
) -> None:
    """Add a later batch's sighting ``row`` of the edge ``key`` as the upsert would apply it after
    the ones before: earliest first, latest last, the newest sighting's attributes."""
    current = edges.get(key)
    if current is None:
        edges[key] = row
        return
    first, last, seen = current[9], current[10], row[9]
    newest = row[6:9] if seen >= last else current[6:9]
    edges[key] = (*key, *newest, min(first, seen), max(last, seen))
