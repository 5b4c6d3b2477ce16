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
        changes = Changes(collect=collect)
        if not batch:
            return changes
        seen = to_ms(batch.observed_at)
        # identities as plain tuples, which hash cheaply: batches carry up to millions of edges
        columns: set[tuple[str, str, str]] = set()
        for column_edge in batch.column_edges:
            source, target = column_edge.source, column_edge.target
            columns.add((source.dataset.namespace, source.dataset.name, source.field))
            columns.add((target.dataset.namespace, target.dataset.name, target.field))
        pairs = {(edge.dataset.namespace, edge.dataset.name) for edge in batch.dataset_edges}
        pairs.update((namespace, name) for namespace, name, _ in columns)
        canonical = canonical_refs(connection, [DatasetRef(*pair) for pair in pairs])
        aliases = {ref: target for ref, target in canonical.items() if ref != target}
        if aliases:
            self.merge_aliases(connection, aliases, changes)
        targets = {(ref.namespace, ref.name): target for ref, target in canonical.items()}

        specs: dict[str, NodeSpec] = {}
        dataset_keys: dict[tuple[str, str], str] = {}
        for pair, dataset in targets.items():
            node_key = dataset_keys[pair] = dataset.node_id
            if node_key not in specs:
                specs[node_key] = NodeSpec.dataset(dataset)
        job_refs = {edge.job for edge in batch.dataset_edges}
        job_refs.update(column_edge.job for column_edge in batch.column_edges if column_edge.job is not None)
        job_keys = {(job.namespace, job.name): job.node_id for job in job_refs}
        specs.update({job.node_id: NodeSpec.job(job) for job in job_refs})
        column_keys: dict[tuple[str, str, str], str] = {}
        for column in columns:
            dataset = targets[column[:2]]
            node_key = column_keys[column] = dataset.field_node_id(column[2])
            if node_key not in specs:
                specs[node_key] = NodeSpec.column(dataset, column[2])
        ids = self.ensure_nodes(connection, list(specs.values()), seen, changes)
        dataset_ids = {pair: ids[key] for pair, key in dataset_keys.items()}
        job_ids = {pair: ids[key] for pair, key in job_keys.items()}
        column_ids = {column: ids[key] for column, key in column_keys.items()}

        code = int(SourceCode[batch.source])
        edges: dict[tuple[int, ...], tuple[Any, ...]] = {}
        for dataset_edge in batch.dataset_edges:
            ref, job_ref = dataset_edge.dataset, dataset_edge.job
            dataset_id = dataset_ids[(ref.namespace, ref.name)]
            job_id = job_ids[(job_ref.namespace, job_ref.name)]
            if dataset_edge.direction == "input":
                key = (dataset_id, job_id, _READ, NO_JOB, code, _NONE)
            else:
                key = (job_id, dataset_id, _WRITE, NO_JOB, code, _NONE)
            edges[key] = (*key, None, False, None, seen, seen)
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
                edges[key] = (*key, how.subtype, how.masking, how.description, seen, seen)
            source_id, target_id = dataset_ids[source_pair], dataset_ids[target_pair]
            if job != NO_JOB:
                for key in (
                    (source_id, job, _READ, NO_JOB, code, _NONE),
                    (job, target_id, _WRITE, NO_JOB, code, _NONE),
                ):
                    if key not in edges:
                        edges[key] = (*key, None, False, None, seen, seen)
            elif source_id != target_id:
                key = (source_id, target_id, _FLOW, NO_JOB, code, _NONE)
                edges[key] = (*key, None, False, None, seen, seen)
        upsert_edges(connection, edges.values())
        if collect:
            changes.edges += [Edge._make(row) for row in edges.values()]
        return changes

    def ensure_nodes(
        self, connection: Connection, specs: Sequence[NodeSpec], seen: int, changes: Changes
    ) -> dict[str, int]:
        """Ids of the nodes ``specs`` describe, creating missing ones (datasets and jobs before the
        columns that belong to them). A merged alias's key answers with its dataset's id."""
        ids: dict[str, int] = {}
        for group in (
            [spec for spec in specs if spec.kind != NodeKind.FIELD],
            [spec for spec in specs if spec.kind == NodeKind.FIELD],
        ):
            if group:
                ids.update(self._ensure_group(connection, group, seen, ids, changes))
        return ids

    def _ensure_group(
        self,
        connection: Connection,
        specs: Sequence[NodeSpec],
        seen: int,
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
                seen,
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
        older = [state[0] for state in known.values() if state[1] > seen]
        for chunk in chunked(older, _CHUNK):
            connection.execute(update(graph_nodes).where(graph_nodes.c.id.in_(chunk)).values(first_seen=seen))
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


def node_count(connection: Connection) -> int:
    return int(connection.execute(select(func.count()).select_from(graph_nodes)).scalar_one())
