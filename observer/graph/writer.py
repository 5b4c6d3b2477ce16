"""Recording lineage in the graph tables: nodes by key, edges upserted with first/last seen times.

Every backend writes here first (the store is the source of truth); :class:`Changes` is what a
write touched, which the Neo4j backend pushes on to its server.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import Connection, Table, case, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from observer.catalog.identity import DatasetRef, JobRef
from observer.graph.aliases import canonical_refs
from observer.graph.model import LineageBatch
from observer.graph.reader import chunked
from observer.graph.results import Edge, Node
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
_NODE_INSERT = ("kind", "key", "namespace", "name", "field", "dataset_id", "merged_into", "first_seen")
_CHUNK = 500


class NodeSpec(NamedTuple):
    key: str
    kind: NodeKind
    namespace: str
    name: str
    field: str | None = None
    dataset_key: str | None = None

    @classmethod
    def dataset(cls, ref: DatasetRef) -> NodeSpec:
        return cls(ref.node_id, NodeKind.DATASET, ref.namespace, ref.name)

    @classmethod
    def job(cls, ref: JobRef) -> NodeSpec:
        return cls(ref.node_id, NodeKind.JOB, ref.namespace, ref.name)

    @classmethod
    def column(cls, ref: DatasetRef, name: str) -> NodeSpec:
        return cls(ref.field_node_id(name), NodeKind.FIELD, ref.namespace, ref.name, name, ref.node_id)


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


def _insert(connection: Connection, table: Table) -> Any:
    return (postgresql if connection.dialect.name == "postgresql" else sqlite).insert(table)


_COMPILED: dict[tuple[str, Callable[[Connection], Any]], tuple[str, tuple[str, ...] | None]] = {}


def bulk_execute(
    connection: Connection,
    statement: Callable[[Connection], Any],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
) -> None:
    """Execute the statement ``statement`` builds once per row (values in ``columns`` order),
    straight on the driver: compiled once per dialect, without per-row parameter processing."""
    key = (connection.dialect.name, statement)
    if key not in _COMPILED:
        compiled = statement(connection).compile(dialect=connection.dialect, column_keys=list(columns))
        _COMPILED[key] = (compiled.string, tuple(compiled.positiontup or ()) if compiled.positional else None)
    sql, order = _COMPILED[key]
    if order is None:
        parameters: list[Any] = [dict(zip(columns, row, strict=True)) for row in rows]
    elif tuple(order) == tuple(columns):
        parameters = [tuple(row) for row in rows]
    else:
        index = [columns.index(column) for column in order]
        parameters = [tuple(row[at] for at in index) for row in rows]
    cursor = connection.connection.cursor()
    try:
        cursor.executemany(sql, parameters)
    finally:
        cursor.close()


def _edge_upsert(connection: Connection) -> Any:
    statement = _insert(connection, graph_edges)
    new = statement.excluded
    current = graph_edges.c
    newer = new.last_seen >= current.last_seen
    return statement.on_conflict_do_update(
        index_elements=list(EDGE_KEY),
        set_={
            "first_seen": case(
                (new.first_seen < current.first_seen, new.first_seen), else_=current.first_seen
            ),
            "last_seen": case((newer, new.last_seen), else_=current.last_seen),
            "subtype": case((newer, new.subtype), else_=current.subtype),
            "masking": case((newer, new.masking), else_=current.masking),
            "description": case(
                (newer, func.coalesce(new.description, current.description)), else_=current.description
            ),
        },
    )


def upsert_edges(connection: Connection, edges: Iterable[tuple[Any, ...]]) -> None:
    """Insert edges (rows of plain ints in :class:`Edge` order); an edge already present keeps its earliest
    first_seen and latest last_seen, and takes the attributes of whichever observation is newest."""
    rows = sorted(edges)
    if rows:
        bulk_execute(connection, _edge_upsert, Edge._fields, rows)


def _placeholder(connection: Connection) -> str:
    return "%s" if connection.dialect.name == "postgresql" else "?"


def insert_nodes(connection: Connection, rows: Sequence[tuple[Any, ...]]) -> dict[str, int]:
    """Insert nodes (rows in :data:`_NODE_INSERT` order) that do not exist yet; return the ids of
    those created, by key (one multi-row ``INSERT … RETURNING`` per chunk)."""
    mark = _placeholder(connection)
    one = f"({', '.join([mark] * len(_NODE_INSERT))})"
    created: dict[str, int] = {}
    cursor = connection.connection.cursor()
    try:
        for chunk in chunked(rows, 2000):
            cursor.execute(
                f"INSERT INTO graph_nodes ({', '.join(_NODE_INSERT)}) VALUES {', '.join([one] * len(chunk))} "
                "ON CONFLICT DO NOTHING RETURNING key, id",
                [value for row in chunk for value in row],
            )
            created.update(cursor.fetchall())
    finally:
        cursor.close()
    return created


def node_states(connection: Connection, keys: Sequence[str]) -> dict[str, tuple[int, int, int | None]]:
    """(id, first_seen, merged_into) of existing nodes, by key."""
    mark = _placeholder(connection)
    found: dict[str, tuple[int, int, int | None]] = {}
    cursor = connection.connection.cursor()
    try:
        for chunk in chunked(keys, 2000):
            cursor.execute(
                "SELECT key, id, first_seen, merged_into FROM graph_nodes "
                f"WHERE key IN ({', '.join([mark] * len(chunk))})",
                list(chunk),
            )
            found.update({row[0]: (row[1], row[2], row[3]) for row in cursor.fetchall()})
    finally:
        cursor.close()
    return found


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
        and the attributes of its newest observation; a node is first seen at its earliest mention."""
        changes = Changes(collect=collect)
        batches = [batch for batch in batches if batch]
        if not batches:
            return changes
        # identities as plain tuples, which hash cheaply: batches carry up to millions of edges
        columns: dict[tuple[str, str, str], int] = {}
        pairs: dict[tuple[str, str], int] = {}
        job_refs: dict[JobRef, int] = {}
        for batch in batches:
            seen = to_ms(batch.observed_at)
            for column_edge in batch.column_edges:
                source, target = column_edge.source, column_edge.target
                _earliest(columns, (source.dataset.namespace, source.dataset.name, source.field), seen)
                _earliest(columns, (target.dataset.namespace, target.dataset.name, target.field), seen)
                if column_edge.job is not None:
                    _earliest(job_refs, column_edge.job, seen)
            for edge in batch.dataset_edges:
                _earliest(pairs, (edge.dataset.namespace, edge.dataset.name), seen)
                _earliest(job_refs, edge.job, seen)
        for (namespace, name, _), seen in columns.items():
            _earliest(pairs, (namespace, name), seen)
        canonical = canonical_refs(connection, [DatasetRef(*pair) for pair in pairs])
        aliases = {ref: target for ref, target in canonical.items() if ref != target}
        if aliases:
            self.merge_aliases(connection, aliases, changes)
        targets = {(ref.namespace, ref.name): target for ref, target in canonical.items()}

        specs: dict[str, NodeSpec] = {}
        first_seen: dict[str, int] = {}
        dataset_keys: dict[tuple[str, str], str] = {}
        for pair, dataset in targets.items():
            node_key = dataset_keys[pair] = dataset.node_id
            specs.setdefault(node_key, NodeSpec.dataset(dataset))
            _earliest(first_seen, node_key, pairs[pair])
        job_keys = {(job.namespace, job.name): job.node_id for job in job_refs}
        for job_ref, seen in job_refs.items():
            specs[job_ref.node_id] = NodeSpec.job(job_ref)
            _earliest(first_seen, job_ref.node_id, seen)
        column_keys: dict[tuple[str, str, str], str] = {}
        for column, seen in columns.items():
            dataset = targets[column[:2]]
            node_key = column_keys[column] = dataset.field_node_id(column[2])
            specs.setdefault(node_key, NodeSpec.column(dataset, column[2]))
            _earliest(first_seen, node_key, seen)
        ids = self.ensure_nodes(connection, list(specs.values()), first_seen, changes)
        dataset_ids = {pair: ids[key] for pair, key in dataset_keys.items()}
        job_ids = {pair: ids[key] for pair, key in job_keys.items()}
        column_ids = {column: ids[key] for column, key in column_keys.items()}

        edges: dict[tuple[int, ...], tuple[Any, ...]] = {}
        for batch in batches:
            seen = to_ms(batch.observed_at)
            code = int(SourceCode[batch.source])
            for dataset_edge in batch.dataset_edges:
                ref, job_ref = dataset_edge.dataset, dataset_edge.job
                dataset_id = dataset_ids[(ref.namespace, ref.name)]
                job_id = job_ids[(job_ref.namespace, job_ref.name)]
                if dataset_edge.direction == "input":
                    _observe(edges, (dataset_id, job_id, _READ, NO_JOB, code, _NONE), _PLAIN, seen)
                else:
                    _observe(edges, (job_id, dataset_id, _WRITE, NO_JOB, code, _NONE), _PLAIN, seen)
            for column_edge in batch.column_edges:
                source, target, column_job = column_edge.source, column_edge.target, column_edge.job
                source_pair = (source.dataset.namespace, source.dataset.name)
                target_pair = (target.dataset.namespace, target.dataset.name)
                src = column_ids[(*source_pair, source.field)]
                dst = column_ids[(*target_pair, target.field)]
                job = job_ids[(column_job.namespace, column_job.name)] if column_job is not None else NO_JOB
                how = column_edge.transformation
                if src != dst:
                    key = (src, dst, _DERIVE, job, code, _TRANSFORMS[how.type])
                    _observe(edges, key, (how.subtype, how.masking, how.description), seen)
                source_id, target_id = dataset_ids[source_pair], dataset_ids[target_pair]
                if job != NO_JOB:
                    _observe(edges, (source_id, job, _READ, NO_JOB, code, _NONE), _PLAIN, seen)
                    _observe(edges, (job, target_id, _WRITE, NO_JOB, code, _NONE), _PLAIN, seen)
                elif source_id != target_id:
                    _observe(edges, (source_id, target_id, _FLOW, NO_JOB, code, _NONE), _PLAIN, seen)
        upsert_edges(connection, edges.values())
        if collect:
            changes.edges += [Edge._make(row) for row in edges.values()]
        return changes

    def ensure_nodes(
        self,
        connection: Connection,
        specs: Sequence[NodeSpec],
        seen: int | Mapping[str, int],
        changes: Changes,
    ) -> dict[str, int]:
        """Ids of the nodes ``specs`` describe, creating missing ones (datasets and jobs before the
        columns that belong to them); ``seen`` is when they were observed, one time for all or one
        per node key. A merged alias's key answers with its dataset's id."""
        first_seen: Callable[[str], int] = seen.__getitem__ if isinstance(seen, Mapping) else lambda _: seen
        ids: dict[str, int] = {}
        for group in (
            [spec for spec in specs if spec.kind != NodeKind.FIELD],
            [spec for spec in specs if spec.kind == NodeKind.FIELD],
        ):
            if group:
                ids.update(self._ensure_group(connection, group, first_seen, ids, changes))
        return ids

    def _ensure_group(
        self,
        connection: Connection,
        specs: Sequence[NodeSpec],
        first_seen: Callable[[str], int],
        parents: Mapping[str, int],
        changes: Changes,
    ) -> dict[str, int]:
        rows = sorted(
            (
                int(spec.kind),
                spec.key,
                spec.namespace,
                spec.name,
                spec.field,
                parents[spec.dataset_key] if spec.dataset_key else None,
                None,
                first_seen(spec.key),
            )
            for spec in specs
        )
        ids = insert_nodes(connection, rows)
        if changes.collect:
            for row in rows:
                if row[1] in ids:
                    node_id = ids[row[1]]
                    changes.nodes[node_id] = Node(node_id, NodeKind(row[0]), *row[1:])
        known = node_states(connection, [row[1] for row in rows if row[1] not in ids])
        earlier: dict[int, list[int]] = {}
        for key, (node_id, stored_first_seen, _) in known.items():
            if stored_first_seen > first_seen(key):
                earlier.setdefault(first_seen(key), []).append(node_id)
        for seen, node_ids in earlier.items():
            for chunk in chunked(node_ids, _CHUNK):
                connection.execute(
                    update(graph_nodes).where(graph_nodes.c.id.in_(chunk)).values(first_seen=seen)
                )
                changes.nodes.update(SqlGraphReader(connection).nodes(chunk))
        ids.update({key: merged_into or node_id for key, (node_id, _, merged_into) in known.items()})
        return ids

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
            target_id = self.ensure_nodes(
                connection, [NodeSpec.dataset(target)], alias_node.first_seen, changes
            )[target.node_id]
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
        reader = SqlGraphReader(connection)
        kinds = list(EdgeKind)
        moved_ids = list(moves)
        edges = set(reader.edges(moved_ids, kinds, reverse=False, as_of_ms=None))
        edges |= set(reader.edges(moved_ids, kinds, reverse=True, as_of_ms=None))
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
                moved = moved._replace(
                    first_seen=min(moved.first_seen, other.first_seen),
                    last_seen=max(moved.last_seen, other.last_seen),
                )
            rows[key] = moved
        upsert_edges(connection, rows.values())
        final = self._current(connection, rows.keys())
        changes.edges += final

    def _current(self, connection: Connection, keys: Iterable[tuple[int, ...]]) -> list[Edge]:
        wanted = set(keys)
        reader = SqlGraphReader(connection)
        sources = sorted({key[0] for key in wanted})
        return [
            edge
            for edge in reader.edges(sources, list(EdgeKind), reverse=False, as_of_ms=None)
            if edge.key in wanted
        ]


_PLAIN: tuple[Any, ...] = (None, False, None)
"""The attributes (subtype, masking, description) of an edge that is not a column derivation."""


def _earliest(times: dict[Any, int], key: Any, seen: int) -> None:
    if seen < times.get(key, seen + 1):
        times[key] = seen


def _observe(
    edges: dict[tuple[int, ...], tuple[Any, ...]],
    key: tuple[int, ...],
    attributes: tuple[Any, ...],
    seen: int,
) -> None:
    """Add an observation of the edge ``key`` as the upsert would apply it after the ones before."""
    current = edges.get(key)
    if current is None:
        edges[key] = (*key, *attributes, seen, seen)
        return
    first, last = current[-2], current[-1]
    newest = attributes if seen >= last else current[6:9]
    edges[key] = (*key, *newest, min(first, seen), max(last, seen))


def node_count(connection: Connection) -> int:
    return int(connection.execute(select(func.count()).select_from(graph_nodes)).scalar_one())
