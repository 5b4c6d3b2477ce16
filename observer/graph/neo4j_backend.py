"""The Neo4j backend: the store's graph tables mirrored into Neo4j over Bolt (official driver).

Writes land in the store first, with their changes queued in ``graph_outbox`` in the same
transaction; the queue is then pushed with batched ``UNWIND … MERGE``. When Neo4j is down,
recording still succeeds and the queue waits: the next write, read or :class:`GraphSync` tick
pushes it. Reads walk Neo4j with one ``UNWIND $ids … MATCH`` per level (the Cypher subset Neo4j
and FalkorDB both speak), through the same traversal code as the embedded backend.

Nodes are ``(:Node:Dataset|Field|Job {id, kind, key, namespace, name, field, dataset_id,
merged_into, first_seen})`` keyed by the store's node id; relationships are ``READ_BY``
(dataset → job), ``WRITES`` (job → dataset), ``FLOWS_TO`` (dataset → dataset) and ``FEEDS``
(column → column), with ``job``, ``source``, ``type``, ``subtype``, ``masking``, ``description``,
``first_seen``, ``last_seen``, ``retired_at`` (epoch ms) and ``gaps``. The store's writer decides
retirement; the mirror receives each touched edge's resulting state.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import neo4j
from neo4j.exceptions import DriverError, Neo4jError
from sqlalchemy import Connection, delete, func, select

from observer.config.settings import GraphSettings
from observer.graph.base import BaseGraph
from observer.graph.model import GraphUnavailable, LineageBatch
from observer.graph.reader import retired_then
from observer.graph.results import Edge, EdgeKey, Node, RebuildReport
from observer.graph.sql_reader import node_from_row
from observer.graph.tables import EdgeKind, NodeKind, graph_edges, graph_nodes, graph_outbox
from observer.graph.writer import Changes
from observer.store import Store

log = logging.getLogger(__name__)

LABELS = {NodeKind.DATASET: "Dataset", NodeKind.FIELD: "Field", NodeKind.JOB: "Job"}
RELATIONSHIPS = {
    EdgeKind.READ: "READ_BY",
    EdgeKind.WRITE: "WRITES",
    EdgeKind.FLOW: "FLOWS_TO",
    EdgeKind.DERIVE: "FEEDS",
}
KINDS_BY_RELATIONSHIP = {name: kind for kind, name in RELATIONSHIPS.items()}
INDEXES = (
    "CREATE INDEX FOR (n:Node) ON (n.id)",
    "CREATE INDEX FOR (n:Node) ON (n.key)",
    "CREATE INDEX FOR (n:Node) ON (n.dataset_id)",
)
MAX_ROWS = 5000
_NODE_FIELDS = "n.id, n.kind, n.key, n.namespace, n.name, n.field, n.dataset_id, n.merged_into, n.first_seen"
_EDGE_FIELDS = (
    "a.id, b.id, type(e), e.job, e.source, e.type, e.subtype, e.masking, e.description, e.first_seen, "
    "e.last_seen, e.retired_at, e.gaps"
)
_EDGE_KEY_FIELDS = "a.id, b.id, type(e), e.job, e.source, e.type"
_NODE_UPSERT = (
    "UNWIND $rows AS r MERGE (n:Node {{id: r.id}}) SET n:{label}, n.kind = r.kind, n.key = r.key, "
    "n.namespace = r.namespace, n.name = r.name, n.field = r.field, n.dataset_id = r.dataset_id, "
    "n.merged_into = r.merged_into, n.first_seen = r.first_seen"
)
_EDGE_UPSERT = (
    "UNWIND $rows AS r MATCH (a:Node {{id: r.src}}) MATCH (b:Node {{id: r.dst}}) "
    "MERGE (a)-[e:{relationship} {{job: r.job, source: r.source, type: r.type}}]->(b) "
    "ON CREATE SET e.first_seen = r.first_seen, e.last_seen = r.last_seen, e.subtype = r.subtype, "
    "e.masking = r.masking, e.description = r.description, e.retired_at = r.retired_at, e.gaps = r.gaps "
    "ON MATCH SET e.retired_at = r.retired_at, e.gaps = r.gaps, "
    "e.first_seen = CASE WHEN r.first_seen < e.first_seen THEN r.first_seen ELSE e.first_seen END, "
    "e.subtype = CASE WHEN r.last_seen >= e.last_seen THEN r.subtype ELSE e.subtype END, "
    "e.masking = CASE WHEN r.last_seen >= e.last_seen THEN r.masking ELSE e.masking END, "
    "e.description = CASE WHEN r.last_seen >= e.last_seen "
    "THEN coalesce(r.description, e.description) ELSE e.description END, "
    "e.last_seen = CASE WHEN r.last_seen > e.last_seen THEN r.last_seen ELSE e.last_seen END"
)
_DETACH = "UNWIND $rows AS i MATCH (n:Node {id: i})-[e]-() DELETE e"
_WIPE = "MATCH (n) WITH n LIMIT 2000 DETACH DELETE n RETURN count(*)"
_META = "MATCH (m:ObserverGraph) RETURN m.built"
_MARK_BUILT = "MERGE (m:ObserverGraph {name: 'observer'}) SET m.built = true"


def _encoded_size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), default=str))


class Bolt:
    """One Bolt session, used by one thread at a time, reopened after a failure."""

    def __init__(self, settings: GraphSettings) -> None:
        assert settings.uri is not None
        self.settings = settings
        self.uri = settings.uri
        self.max_bytes = settings.max_message_bytes
        self._lock = threading.RLock()
        self._driver: neo4j.Driver | None = None
        self._session: neo4j.Session | None = None

    def _open(self) -> neo4j.Session:
        if self._session is None:
            password = self.settings.password.get_secret_value() if self.settings.password else ""
            auth = (self.settings.user, password) if self.settings.user else None
            timeout = self.settings.connect_timeout.total_seconds()
            self._driver = neo4j.GraphDatabase.driver(
                self.uri,
                auth=auth,
                connection_timeout=timeout,
                connection_acquisition_timeout=timeout,
                max_transaction_retry_time=timeout,
            )
            self._session = self._driver.session(database=self.settings.database)
        return self._session

    def run(self, query: str, **parameters: Any) -> list[list[Any]]:
        """Run one statement; a broken connection is replaced once (every statement we send is
        idempotent), then the server counts as unavailable."""
        with self._lock:
            for attempt in range(2):
                try:
                    return [list(values) for values in self._open().run(query, parameters).values()]
                except (DriverError, OSError) as error:
                    self.reset()
                    if attempt:
                        raise GraphUnavailable(f"neo4j at {self.uri} is unreachable: {error}") from error
                except Neo4jError as error:
                    raise GraphUnavailable(f"neo4j at {self.uri} failed: {error.message or error}") from error
            raise AssertionError("unreachable")

    def try_run(self, query: str) -> bool:
        """Run a statement that may legitimately fail (creating an index that exists)."""
        try:
            self.run(query)
        except GraphUnavailable as error:
            if isinstance(error.__cause__, Neo4jError):
                return False
            raise
        return True

    def run_batches(self, query: str, rows: Sequence[Any], **parameters: Any) -> list[list[Any]]:
        """Run ``query`` with ``$rows`` split into batches that respect the message size limit."""
        found: list[list[Any]] = []
        for batch in self.batches(query, rows):
            found += self.run(query, rows=batch, **parameters)
        return found

    def batches(self, query: str, rows: Sequence[Any]) -> Iterator[list[Any]]:
        if self.max_bytes is None:
            for start in range(0, len(rows), MAX_ROWS):
                yield list(rows[start : start + MAX_ROWS])
            return
        budget = self.max_bytes - len(query.encode()) - 200
        batch: list[Any] = []
        used = 0
        for row in rows:
            size = _encoded_size(row) + 1
            if batch and (used + size > budget or len(batch) >= MAX_ROWS):
                yield batch
                batch, used = [], 0
            if size > budget:
                raise GraphUnavailable(
                    f"a row of {size} bytes exceeds graph.max_message_bytes ({self.max_bytes})"
                )
            batch.append(row)
            used += size
        if batch:
            yield batch

    def reset(self) -> None:
        with self._lock:
            session, driver = self._session, self._driver
            self._session = self._driver = None
            for closing in (session, driver):
                if closing is not None:
                    try:
                        closing.close()
                    except (DriverError, Neo4jError, OSError):
                        log.debug("closing a broken neo4j connection failed", exc_info=True)


class CypherReader:
    """A :class:`~observer.graph.reader.GraphReader` over Bolt."""

    def __init__(self, bolt: Bolt) -> None:
        self.bolt = bolt

    def _nodes(self, query: str, values: Collection[Any], **parameters: Any) -> list[Node]:
        rows = self.bolt.run_batches(query, sorted(set(values)), **parameters)
        return [node_from_row(tuple(row)) for row in rows]

    def find_nodes(self, keys: Collection[str]) -> dict[str, Node]:
        query = f"UNWIND $rows AS k MATCH (n:Node {{key: k}}) RETURN {_NODE_FIELDS}"
        return {node.key: node for node in self._nodes(query, keys)}

    def nodes(self, ids: Collection[int]) -> dict[int, Node]:
        query = f"UNWIND $rows AS i MATCH (n:Node {{id: i}}) RETURN {_NODE_FIELDS}"
        return {node.id: node for node in self._nodes(query, ids)}

    def fields(self, dataset_ids: Collection[int], as_of_ms: int | None) -> list[Node]:
        query = (
            "UNWIND $rows AS i MATCH (n:Node {dataset_id: i}) "
            f"WHERE n.kind = 1 AND n.merged_into IS NULL AND n.first_seen <= $as_of RETURN {_NODE_FIELDS}"
        )
        limit = as_of_ms if as_of_ms is not None else 2**62
        return sorted(self._nodes(query, dataset_ids, as_of=limit), key=lambda node: node.id)

    def _edge_rows(
        self,
        fields: str,
        ids: Collection[int],
        kinds: Collection[EdgeKind],
        reverse: bool,
        as_of_ms: int | None,
    ) -> list[list[Any]]:
        types = "|".join(RELATIONSHIPS[EdgeKind(kind)] for kind in sorted(kinds))
        pattern = (
            f"(b:Node {{id: i}})<-[e:{types}]-(a)" if reverse else f"(a:Node {{id: i}})-[e:{types}]->(b)"
        )
        if as_of_ms is not None:
            where = " WHERE e.first_seen <= $as_of AND (e.retired_at IS NULL OR e.retired_at > $as_of)"
            fields += ", e.gaps AS gaps_then"
        else:
            where = " WHERE e.retired_at IS NULL"
        query = f"UNWIND $rows AS i MATCH {pattern}{where} RETURN {fields}"
        rows = self.bolt.run_batches(query, sorted(set(ids)), as_of=as_of_ms)
        if as_of_ms is not None:
            rows = [row[:-1] for row in rows if not retired_then(row[-1], as_of_ms)]
        for row in rows:
            row[2] = int(KINDS_BY_RELATIONSHIP[row[2]])
        return rows

    def links(
        self, ids: Collection[int], kinds: Collection[EdgeKind], *, reverse: bool, as_of_ms: int | None
    ) -> list[EdgeKey]:
        return [tuple(row) for row in self._edge_rows(_EDGE_KEY_FIELDS, ids, kinds, reverse, as_of_ms)]

    def edges(
        self, ids: Collection[int], kinds: Collection[EdgeKind], *, reverse: bool, as_of_ms: int | None
    ) -> list[Edge]:
        return [Edge._make(row) for row in self._edge_rows(_EDGE_FIELDS, ids, kinds, reverse, as_of_ms)]


def _node_row(node: Node) -> dict[str, Any]:
    return {**node._asdict(), "kind": int(node.kind)}


def _edge_row(edge: Edge) -> dict[str, Any]:
    return {**edge._asdict(), "kind": int(edge.kind), "source": int(edge.source), "type": int(edge.type)}


class Neo4jGraph(BaseGraph):
    backend = "neo4j"
    mirrored = True

    def __init__(self, store: Store, settings: GraphSettings, bolt: Bolt | None = None) -> None:
        """``bolt`` shares one connection between graphs (it then stays open on :meth:`close`)."""
        super().__init__(store, settings)
        self.bolt = bolt or Bolt(settings)
        self._owns_bolt = bolt is None
        self._ready = False
        self._blocked_until = 0.0
        self._lock = threading.RLock()

    # the mirror -------------------------------------------------------------------------------

    def _ensure_ready(self) -> None:
        """Indexes exist and Neo4j holds the store's graph (a fresh install starts empty on both)."""
        if self._ready:
            return
        for statement in INDEXES:
            self.bolt.try_run(statement)
        if not self.bolt.run(_META):
            with self.store.engine.connect() as connection:
                stored = connection.execute(select(graph_nodes.c.id).limit(1)).first()
            if stored is not None:
                raise GraphUnavailable(
                    f"the Neo4j graph at {self.bolt.uri} has not been built from the store yet: "
                    "run `observer graph rebuild`"
                )
            self.bolt.run(_MARK_BUILT)
        self._ready = True

    def record_many(self, batches: Sequence[LineageBatch], connection: Connection | None = None) -> None:
        if not self._ready:
            try:
                with self._lock:
                    self._ensure_ready()  # before the first write, so a fresh install counts as built
            except GraphUnavailable as error:
                log.debug("recording into the store only: %s", error)
        super().record_many(batches, connection)

    def push(self, changes: Changes) -> None:
        by_label: dict[NodeKind, list[dict[str, Any]]] = {}
        for node in changes.nodes.values():
            by_label.setdefault(NodeKind(node.kind), []).append(_node_row(node))
        for kind, rows in by_label.items():
            self.bolt.run_batches(_NODE_UPSERT.format(label=LABELS[kind]), rows)
        if changes.detach:
            self.bolt.run_batches(_DETACH, sorted(changes.detach))
        self._push_edges(changes.edges)

    def _push_edges(self, edges: Iterable[Edge]) -> int:
        by_kind: dict[EdgeKind, list[dict[str, Any]]] = {}
        for edge in edges:
            by_kind.setdefault(EdgeKind(edge.kind), []).append(_edge_row(edge))
        for kind, rows in by_kind.items():
            self.bolt.run_batches(_EDGE_UPSERT.format(relationship=RELATIONSHIPS[kind]), rows)
        return sum(len(rows) for rows in by_kind.values())

    def catch_up(self) -> int:
        """Push the queued changes in order; return how many batches were pushed."""
        pushed = 0
        with self._lock:
            while True:
                with self.store.engine.connect() as connection:
                    pending = connection.execute(
                        select(graph_outbox.c.id, graph_outbox.c.payload)
                        .order_by(graph_outbox.c.id)
                        .limit(50)
                    ).all()
                if not pending:
                    return pushed
                self._ensure_ready()
                for outbox_id, payload in pending:
                    self.push(Changes.from_json(payload))
                    with self.store.engine.begin() as connection:
                        connection.execute(delete(graph_outbox).where(graph_outbox.c.id == outbox_id))
                    pushed += 1

    def pending(self) -> int:
        with self.store.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(graph_outbox)).scalar_one())

    def _after_write(self, connection: Connection, changes: Changes) -> None:
        if changes:
            connection.execute(graph_outbox.insert().values(payload=changes.as_json()))

    def _after_commit(self) -> None:
        if time.monotonic() < self._blocked_until:
            return
        try:
            self.catch_up()
        except GraphUnavailable as error:
            self._blocked_until = time.monotonic() + self.settings.retry_interval.total_seconds()
            log.warning("lineage recorded in the store; pushing it to neo4j failed (%s): will retry", error)

    # reads ------------------------------------------------------------------------------------

    @contextmanager
    def reading(self) -> Iterator[CypherReader]:
        with self._lock:
            self.catch_up()
            self._ensure_ready()
            yield CypherReader(self.bolt)

    def ping(self) -> None:
        self.bolt.run("RETURN 1")

    def close(self) -> None:
        if self._owns_bolt:
            self.bolt.reset()

    # rebuilding -------------------------------------------------------------------------------

    def rebuild(self, progress: Callable[[str, int], None] | None = None) -> RebuildReport:
        """Replace Neo4j's graph with the store's: wipe, index, push every node and edge."""
        started = time.perf_counter()
        merged = self.merge_aliases()
        report = progress or (lambda _stage, _count: None)
        with self._lock:
            with self.store.engine.connect() as connection:
                queued = connection.execute(select(func.max(graph_outbox.c.id))).scalar_one()
            while self.bolt.run(_WIPE)[0][0]:
                pass
            self._ready = False
            for statement in INDEXES:
                self.bolt.try_run(statement)
            nodes = edges = 0
            with self.store.engine.connect() as connection:
                for chunk in _stream(connection, select(*graph_nodes.c).order_by(graph_nodes.c.id)):
                    self.push(Changes(nodes={row[0]: node_from_row(tuple(row)) for row in chunk}))
                    nodes += len(chunk)
                    report("nodes", nodes)
                edge_query = select(*graph_edges.c).order_by(*graph_edges.primary_key.columns)
                for chunk in _stream(connection, edge_query):
                    edges += self._push_edges(Edge(*row) for row in chunk)
                    report("edges", edges)
            self.bolt.run(_MARK_BUILT)
            if queued is not None:
                with self.store.engine.begin() as connection:
                    connection.execute(delete(graph_outbox).where(graph_outbox.c.id <= queued))
            self._ready = True
        return RebuildReport(self.backend, nodes, edges, merged, time.perf_counter() - started)


def _stream(connection: Connection, query: Any, size: int = 20_000) -> Iterator[Sequence[Any]]:
    result = connection.execution_options(stream_results=True, yield_per=size).execute(query)
    yield from result.partitions(size)
