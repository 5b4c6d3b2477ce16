"""The ``GraphStore`` interface, and the queries both backends share on top of a :class:`GraphReader`."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from itertools import pairwise
from typing import Protocol

from sqlalchemy import Connection
from sqlalchemy.exc import OperationalError

from observer.catalog.identity import DatasetRef
from observer.config.settings import GraphSettings
from observer.graph import catalog_view
from observer.graph.aliases import all_aliases, canonical_refs
from observer.graph.model import GraphUnavailable, LineageBatch
from observer.graph.nodeids import dataset_readings, node_prefix
from observer.graph.reader import GraphReader
from observer.graph.results import (
    Direction,
    Edge,
    Impact,
    ImpactedJob,
    ImpactedNode,
    JobIO,
    Level,
    Node,
    Path,
    RebuildReport,
    Walk,
)
from observer.graph.tables import EdgeKind, NodeKind, to_ms
from observer.graph.walk import walk_columns, walk_datasets, with_details
from observer.graph.writer import Changes, GraphTablesWriter
from observer.store import Store

log = logging.getLogger(__name__)


class UnknownNode(LookupError):
    def __init__(self, node_id: str) -> None:
        super().__init__(f"node {node_id!r} not found")
        self.node_id = node_id


class InvalidGraphQuery(ValueError):
    """A query that cannot be answered as asked (e.g. a column path between datasets)."""


class GraphStore(Protocol):
    """What the rest of Observer uses: record lineage, ask directional, impact and path questions."""

    backend: str
    store: Store
    settings: GraphSettings

    def record(self, batch: LineageBatch, connection: Connection | None = None) -> None:
        """Record a batch (idempotent: re-recording only moves ``last_seen``). With ``connection``,
        the rows join the caller's transaction."""
        ...

    def record_many(self, batches: Sequence[LineageBatch], connection: Connection | None = None) -> None:
        """Record batches as :meth:`record` would one after the other, in one write."""
        ...

    def retire_datasets(
        self, datasets: Collection[DatasetRef], at: datetime, connection: Connection | None = None
    ) -> int:
        """The datasets were deleted at ``at``: retire every live edge of them and of their columns
        (from any source, last seen by then). Return how many edges were retired."""
        ...

    def find(self, node_id: str) -> Node:
        """The node an API id names (aliases resolve to their dataset); raises :class:`UnknownNode`."""
        ...

    def lineage(
        self,
        node_id: str,
        *,
        direction: Direction,
        depth: int,
        max_nodes: int | None,
        as_of: datetime | None = None,
        level: Level | None = None,
    ) -> Walk: ...

    def impact(
        self, node_id: str, *, depth: int = 10, max_nodes: int | None = None, as_of: datetime | None = None
    ) -> Impact: ...

    def path(
        self, source: str, target: str, *, depth: int = 20, as_of: datetime | None = None
    ) -> Path | None: ...

    def merge_aliases(self) -> int:
        """Fold every alias the catalog knows into its dataset's node; return how many merged."""
        ...

    def job_io(self, job_ids: Collection[int], as_of: datetime | None = None) -> dict[int, JobIO]:
        """The datasets each job reads and writes (as of ``as_of``)."""
        ...

    def rebuild(self, progress: Callable[[str, int], None] | None = None) -> RebuildReport:
        """Rebuild the backend from the store's graph tables (see docs/graph.md)."""
        ...

    def ping(self) -> None:
        """Raise :class:`GraphUnavailable` unless the backend answers."""
        ...

    def close(self) -> None: ...


class BaseGraph(ABC):
    """Queries over a backend's reader; writes go to the store's graph tables first."""

    backend = "abstract"
    mirrored = False
    """Whether writes are pushed on to another store (and so must report what they changed)."""

    def __init__(self, store: Store, settings: GraphSettings) -> None:
        self.store = store
        self.settings = settings
        self.writer = GraphTablesWriter()

    @abstractmethod
    def reading(self) -> AbstractContextManager[GraphReader]:
        """A reader for one query (raises :class:`GraphUnavailable` when the backend is down)."""

    @abstractmethod
    def _after_write(self, connection: Connection, changes: Changes) -> None:
        """What a backend does with a write, inside the store transaction."""

    @abstractmethod
    def _after_commit(self) -> None:
        """What a backend does once a write is committed."""

    @abstractmethod
    def close(self) -> None:
        """Release the backend's connections."""

    @abstractmethod
    def rebuild(self, progress: Callable[[str, int], None] | None = None) -> RebuildReport:
        """Rebuild the backend from the store's graph tables."""

    @abstractmethod
    def ping(self) -> None:
        """Raise :class:`GraphUnavailable` unless the backend answers."""

    # writes -----------------------------------------------------------------------------------

    @contextmanager
    def _transaction(self, connection: Connection | None) -> Iterator[Connection]:
        if connection is not None:
            yield connection
            return
        try:
            with self.store.engine.begin() as own:
                yield own
        except OperationalError as error:
            raise GraphUnavailable(f"the store cannot record lineage: {error.orig}") from error

    def record(self, batch: LineageBatch, connection: Connection | None = None) -> None:
        self.record_many([batch], connection)

    def record_many(self, batches: Sequence[LineageBatch], connection: Connection | None = None) -> None:
        if not any(batches):
            return
        with self._transaction(connection) as transaction:
            changes = self.writer.write_many(transaction, batches, collect=self.mirrored)
            self._after_write(transaction, changes)
        if connection is None:
            self._after_commit()

    def retire_datasets(
        self, datasets: Collection[DatasetRef], at: datetime, connection: Connection | None = None
    ) -> int:
        with self._transaction(connection) as transaction:
            changes = Changes(collect=self.mirrored)
            retired = self.writer.retire_datasets(transaction, datasets, at, changes)
            self._after_write(transaction, changes)
        if connection is None:
            self._after_commit()
        return retired

    def merge_aliases(self) -> int:
        with self._transaction(None) as transaction:
            changes = Changes()
            merged = self.writer.merge_aliases(transaction, dict(all_aliases(transaction)), changes)
            self._after_write(transaction, changes)
        self._after_commit()
        return merged

    # reads ------------------------------------------------------------------------------------

    @contextmanager
    def _catalog(self) -> Iterator[Connection]:
        try:
            with self.store.engine.connect() as connection:
                yield connection
        except OperationalError as error:
            raise GraphUnavailable(f"the store is unreachable: {error.orig}") from error

    def find(self, node_id: str) -> Node:
        with self.reading() as reader:
            return self._resolve(reader, node_id)

    def _resolve(self, reader: GraphReader, node_id: str) -> Node:
        kind = node_prefix(node_id)
        found = reader.find_nodes([node_id]).get(node_id)
        if found is None and kind != "job":
            found = self._resolve_alias(reader, node_id)
        if found is not None and found.merged_into is not None:
            found = reader.nodes([found.merged_into]).get(found.merged_into)
        if found is None:
            raise UnknownNode(node_id)
        return found

    def _resolve_alias(self, reader: GraphReader, node_id: str) -> Node | None:
        readings = dataset_readings(node_id)
        with self._catalog() as connection:
            canonical = canonical_refs(connection, {ref for ref, _ in readings})
        keys = [
            canonical[ref].node_id if column is None else canonical[ref].field_node_id(column)
            for ref, column in readings
            if canonical[ref] != ref
        ]
        found = reader.find_nodes(keys) if keys else {}
        return next(iter(found.values()), None)

    def lineage(
        self,
        node_id: str,
        *,
        direction: Direction,
        depth: int,
        max_nodes: int | None,
        as_of: datetime | None = None,
        level: Level | None = None,
    ) -> Walk:
        with self.reading() as reader:
            root = self._resolve(reader, node_id)
            chosen: Level = level or ("column" if root.kind == NodeKind.FIELD else "dataset")
            if chosen == "column":
                roots = self._columns_of(reader, root, as_of)
                return walk_columns(reader, roots, direction, depth, max_nodes, as_of)
            if root.kind == NodeKind.FIELD:
                assert root.dataset_id is not None
                root = reader.nodes([root.dataset_id])[root.dataset_id]
            return walk_datasets(reader, [root], direction, depth, max_nodes, as_of)

    def job_io(self, job_ids: Collection[int], as_of: datetime | None = None) -> dict[int, JobIO]:
        as_of_ms = to_ms(as_of) if as_of else None
        with self.reading() as reader:
            reads = reader.links(job_ids, (EdgeKind.READ,), reverse=True, as_of_ms=as_of_ms)
            writes = reader.links(job_ids, (EdgeKind.WRITE,), reverse=False, as_of_ms=as_of_ms)
            nodes = reader.nodes({link[0] for link in reads} | {link[1] for link in writes})
        inputs: dict[int, dict[int, None]] = {job: {} for job in job_ids}
        outputs: dict[int, dict[int, None]] = {job: {} for job in job_ids}
        for src, dst, *_ in sorted(reads):
            inputs[dst][src] = None
        for src, dst, *_ in sorted(writes):
            outputs[src][dst] = None
        return {
            job: JobIO([nodes[node] for node in inputs[job]], [nodes[node] for node in outputs[job]])
            for job in job_ids
        }

    def _columns_of(self, reader: GraphReader, node: Node, as_of: datetime | None) -> list[Node]:
        """A column is itself; a dataset means its columns; a job, the columns of what it writes."""
        if node.kind == NodeKind.FIELD:
            return [node]
        as_of_ms = to_ms(as_of) if as_of else None
        dataset_ids = [node.id]
        if node.kind == NodeKind.JOB:
            writes = reader.links([node.id], (EdgeKind.WRITE,), reverse=False, as_of_ms=as_of_ms)
            dataset_ids = sorted({link[1] for link in writes})
        return reader.fields(dataset_ids, as_of_ms)

    def path(
        self, source: str, target: str, *, depth: int = 20, as_of: datetime | None = None
    ) -> Path | None:
        with self.reading() as reader:
            start, end = self._resolve(reader, source), self._resolve(reader, target)
            columns = [node.kind == NodeKind.FIELD for node in (start, end)]
            if columns[0] != columns[1]:
                raise InvalidGraphQuery("a path joins two columns, or two datasets/jobs, not one of each")
            walk_level = walk_columns if columns[0] else walk_datasets
            walk = walk_level(
                reader, [start], "downstream", depth, None, as_of, stop_at=end.id, details=False
            )
            if end.id not in walk.hops:
                return None
            chain = [end.id]
            while chain[-1] != start.id:
                chain.append(walk.parents[chain[-1]])
            chain.reverse()
            steps = set(pairwise(chain))
            links: dict[tuple[int, int], Edge] = {}
            on_path = [edge for edge in walk.edges if (edge.src, edge.dst) in steps]
            for edge in with_details(reader, on_path, as_of):
                links.setdefault((edge.src, edge.dst), edge)
        return Path(
            [walk.nodes[node] for node in chain],
            [links[pair] for pair in pairwise(chain)],
        )

    def impact(
        self, node_id: str, *, depth: int = 10, max_nodes: int | None = None, as_of: datetime | None = None
    ) -> Impact:
        with self.reading() as reader:
            origin = self._resolve(reader, node_id)
            dataset_walk = None
            if origin.kind != NodeKind.FIELD:
                dataset_walk = walk_datasets(
                    reader, [origin], "downstream", depth, max_nodes, as_of, details=False, edges=False
                )
            roots = self._columns_of(reader, origin, as_of)
            direct: dict[int, int] = {}
            column_walk = walk_columns(
                reader, roots, "downstream", depth, max_nodes, as_of, direct=direct, details=False
            )
        return self._impact_result(origin, depth, as_of, dataset_walk, column_walk, direct)

    def _impact_result(
        self,
        origin: Node,
        depth: int,
        as_of: datetime | None,
        dataset_walk: Walk | None,
        column_walk: Walk,
        direct: dict[int, int],
    ) -> Impact:
        """Datasets take their hop from the dataset walk (or their nearest column) and are direct
        when one of their columns is; a job's own outputs are 1 hop from it, columns included."""
        offset = 1 if origin.kind == NodeKind.JOB else 0
        root_ids = {root.id for root in column_walk.roots} if offset == 0 else set()
        columns = [node for node in column_walk.nodes.values() if node.id not in root_ids]
        column_hops = {column.id: column_walk.hops[column.id] + offset for column in columns}
        datasets: dict[int, tuple[DatasetRef, int]] = {}
        jobs: dict[int, tuple[Node, int]] = {}
        if dataset_walk is not None:
            for node in dataset_walk.nodes.values():
                hop = dataset_walk.hops[node.id]
                if node.id == origin.id:
                    continue
                if node.kind == NodeKind.JOB:
                    jobs[node.id] = (node, hop)
                else:
                    datasets[node.id] = (node.dataset, hop)
        dataset_direct: dict[int, bool] = {}
        for column in columns:
            assert column.dataset_id is not None
            hop = column_hops[column.id]
            dataset_direct[column.dataset_id] = (
                dataset_direct.get(column.dataset_id, False) or column.id in direct
            )
            if column.dataset_id != origin.id:
                known = datasets.get(column.dataset_id)
                datasets[column.dataset_id] = (column.dataset, min(hop, known[1]) if known else hop)
        for edge in column_walk.edges:
            if edge.job and edge.job in column_walk.jobs and edge.dst in column_hops:
                hop = column_hops[edge.dst]
                if edge.job not in jobs or jobs[edge.job][1] > hop:
                    jobs[edge.job] = (column_walk.jobs[edge.job], hop)
        with self._catalog() as connection:
            owners = catalog_view.dataset_owners(connection, {ref for ref, _ in datasets.values()})
            job_owners = catalog_view.job_owners(connection, {node.job for node, _ in jobs.values()})
        items = [
            ImpactedNode(
                ref.node_id,
                "DATASET",
                ref.namespace,
                ref.name,
                None,
                hop,
                dataset_direct.get(dataset_id),
                owners.get(ref, ()),
            )
            for dataset_id, (ref, hop) in datasets.items()
        ]
        items += [
            ImpactedNode(
                column.key,
                "DATASET_FIELD",
                column.namespace,
                column.name,
                column.field,
                column_hops[column.id],
                column.id in direct,
                owners.get(column.dataset, ()),
            )
            for column in columns
        ]
        impacted_jobs = [
            ImpactedJob(node.key, node.namespace, node.name, hop, job_owners.get(node.job, ()))
            for node, hop in jobs.values()
        ]
        truncated = column_walk.truncated or (dataset_walk is not None and dataset_walk.truncated)
        return Impact(
            node_id=origin.key,
            depth=depth,
            as_of=as_of,
            truncated=truncated,
            nodes=sorted(items, key=lambda item: (item.hops, item.type, item.node_id)),
            jobs=sorted(impacted_jobs, key=lambda item: (item.hops, item.node_id)),
        )
