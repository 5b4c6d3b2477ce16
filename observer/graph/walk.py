"""Bounded breadth-first walks, shared by every backend so that they give the same answers.

A walk fetches one level at a time (a "frontier" query per step) and keeps a visited set, so
each node is expanded once, the walk stops at ``depth`` and at ``max_nodes`` (reporting the
truncation), and backends only have to answer "the edges of these nodes". Within a level, new
nodes are admitted in id order, which makes truncation and the breadth-first tree deterministic.
Levels fetch only the edges' identities; the attributes of the edges a walk returns are read at
the end, and only when asked for.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from observer.graph.reader import GraphReader
from observer.graph.results import Direction, Edge, EdgeKey, Level, Node, Walk
from observer.graph.tables import EdgeKind, NodeKind, TransformCode, to_ms

Step = tuple[tuple[EdgeKind, ...], bool]
"""Edge kinds to follow, and whether against their direction."""

_FROM_DATASETS: dict[Direction, list[Step]] = {
    "downstream": [((EdgeKind.READ, EdgeKind.FLOW), False)],
    "upstream": [((EdgeKind.WRITE, EdgeKind.FLOW), True)],
    "undirected": [((EdgeKind.READ, EdgeKind.FLOW), False), ((EdgeKind.WRITE, EdgeKind.FLOW), True)],
}
_FROM_JOBS: dict[Direction, list[Step]] = {
    "downstream": [((EdgeKind.WRITE,), False)],
    "upstream": [((EdgeKind.READ,), True)],
    "undirected": [((EdgeKind.WRITE,), False), ((EdgeKind.READ,), True)],
}
_FLOW = int(EdgeKind.FLOW)
_DIRECT = int(TransformCode.DIRECT)
_NO_DETAILS = (None, False, None, 0, 0, None, None)


@dataclass
class _Visited:
    """Nodes reached so far with their hop and breadth-first parent, capped at ``limit``."""

    limit: int | None
    hops: dict[int, int] = field(default_factory=dict)
    parents: dict[int, int] = field(default_factory=dict)
    truncated: bool = False

    def admit(self, found: dict[int, int], hop: int) -> list[int]:
        """Add the new ids of ``found`` (id → parent) in id order; return those admitted."""
        hops, parents = self.hops, self.parents
        fresh = sorted(node for node in found if node not in hops)
        if self.limit is not None and len(hops) + len(fresh) > self.limit:
            fresh = fresh[: max(0, self.limit - len(hops))]
            self.truncated = True
        for node in fresh:
            hops[node] = hop
            parents[node] = found[node]
        return fresh


def _expand(
    reader: GraphReader,
    ids: Sequence[int],
    steps: list[Step],
    as_of_ms: int | None,
    traversed: list[EdgeKey],
    found: dict[int, int],
    flows: set[int] | None = None,
) -> None:
    """Fetch the edges of ``ids`` along ``steps``; note each far end's smallest near end in
    ``found`` (and, in ``flows``, far ends reached through job-less dataset edges)."""
    for kinds, reverse in steps:
        edges = reader.links(ids, kinds, reverse=reverse, as_of_ms=as_of_ms)
        traversed += edges
        for edge in edges:
            near, far = (edge[1], edge[0]) if reverse else (edge[0], edge[1])
            known = found.get(far)
            if known is None or near < known:
                found[far] = near
            if flows is not None and edge[2] == _FLOW:
                flows.add(far)


def walk_datasets(
    reader: GraphReader,
    roots: Sequence[Node],
    direction: Direction,
    depth: int,
    max_nodes: int | None,
    as_of: datetime | None,
    *,
    stop_at: int | None = None,
    details: bool = True,
    edges: bool = True,
) -> Walk:
    """Datasets and jobs from ``roots`` (datasets or jobs). A dataset → job → dataset step is one
    hop; the job takes the hop of the datasets on its far side. ``undirected`` is Marquez's walk:
    through every job that reads or writes a dataset reached so far. Without ``edges`` the walk
    returns its nodes only; without ``details`` its edges carry their identity only."""
    if direction == "both":
        return merge_walks(
            walk_datasets(reader, roots, "upstream", depth, max_nodes, as_of, details=details, edges=edges),
            walk_datasets(reader, roots, "downstream", depth, max_nodes, as_of, details=details, edges=edges),
        )
    as_of_ms = to_ms(as_of) if as_of else None
    visited = _Visited(max_nodes)
    visited.admit({root.id: root.id for root in roots}, 0)
    datasets = [root.id for root in roots if root.kind == NodeKind.DATASET]
    jobs = [root.id for root in roots if root.kind == NodeKind.JOB]
    traversed: list[EdgeKey] = []
    for hop in range(1, depth + 1):
        if (not datasets and not jobs) or visited.truncated or stop_at in visited.hops:
            break
        if datasets:
            found: dict[int, int] = {}
            flows: set[int] = set()
            _expand(reader, datasets, _FROM_DATASETS[direction], as_of_ms, traversed, found, flows)
            admitted = visited.admit(found, hop)
            jobs += [node for node in admitted if node not in flows]
            datasets = [node for node in admitted if node in flows]
        if jobs:
            found = {}
            _expand(reader, jobs, _FROM_JOBS[direction], as_of_ms, traversed, found)
            datasets += visited.admit(found, hop)
        jobs = []
    return _finish(
        reader, roots, "dataset", direction, depth, visited, traversed if edges else [], as_of, details
    )


def walk_columns(
    reader: GraphReader,
    roots: Sequence[Node],
    direction: Direction,
    depth: int,
    max_nodes: int | None,
    as_of: datetime | None,
    *,
    stop_at: int | None = None,
    direct: dict[int, int] | None = None,
    details: bool = True,
) -> Walk:
    """Columns from ``roots`` (columns) along column edges, one hop per edge. With ``direct``,
    also fills it with the columns reachable through DIRECT edges only (id → hop)."""
    if direction in ("both", "undirected"):
        return merge_walks(
            walk_columns(reader, roots, "upstream", depth, max_nodes, as_of, details=details),
            walk_columns(
                reader, roots, "downstream", depth, max_nodes, as_of, direct=direct, details=details
            ),
        )
    reverse = direction == "upstream"
    as_of_ms = to_ms(as_of) if as_of else None
    visited = _Visited(max_nodes)
    visited.admit({root.id: root.id for root in roots}, 0)
    frontier = set(visited.hops)
    direct_hops = direct if direct is not None else {}
    direct_hops.update(dict.fromkeys(frontier, 0))
    direct_frontier = set(frontier) if direct is not None else set()
    traversed: list[EdgeKey] = []
    for hop in range(1, depth + 1):
        expand = sorted(frontier | direct_frontier)
        if not expand or visited.truncated or stop_at in visited.hops:
            break
        edges = reader.links(expand, (EdgeKind.DERIVE,), reverse=reverse, as_of_ms=as_of_ms)
        traversed += edges
        found: dict[int, int] = {}
        for edge in edges:
            near, far = (edge[1], edge[0]) if reverse else (edge[0], edge[1])
            if near in frontier:
                known = found.get(far)
                if known is None or near < known:
                    found[far] = near
        frontier = set(visited.admit(found, hop))
        reached_directly: set[int] = set()
        if direct is not None:
            hops = visited.hops
            for edge in edges:
                near, far = (edge[1], edge[0]) if reverse else (edge[0], edge[1])
                if edge[5] == _DIRECT and near in direct_frontier and far in hops and far not in direct_hops:
                    direct_hops[far] = hop
                    reached_directly.add(far)
        direct_frontier = reached_directly
    return _finish(reader, roots, "column", direction, depth, visited, traversed, as_of, details)


def with_details(reader: GraphReader, edges: Iterable[tuple[Any, ...]], as_of: datetime | None) -> list[Edge]:
    """The same edges with their attributes (times, subtype, masking, description)."""
    wanted = {tuple(edge[:6]) for edge in edges}
    if not wanted:
        return []
    sources = sorted({key[0] for key in wanted})
    kinds = {EdgeKind(key[2]) for key in wanted}
    as_of_ms = to_ms(as_of) if as_of else None
    found = reader.edges(sources, kinds, reverse=False, as_of_ms=as_of_ms)
    return sorted(edge for edge in found if edge.key in wanted)


def _finish(
    reader: GraphReader,
    roots: Sequence[Node],
    level: Level,
    direction: Direction,
    depth: int,
    visited: _Visited,
    traversed: list[EdgeKey],
    as_of: datetime | None,
    details: bool,
) -> Walk:
    hops = visited.hops
    kept = [link for link in set(traversed) if link[0] in hops and link[1] in hops]
    edges = (
        with_details(reader, kept, as_of)
        if details
        else sorted(Edge._make(link + _NO_DETAILS) for link in kept)
    )
    nodes = reader.nodes(hops)
    job_ids = {edge.job for edge in edges if edge.job} - nodes.keys()
    return Walk(
        roots=list(roots),
        level=level,
        direction=direction,
        depth=depth,
        nodes=nodes,
        hops=dict(hops),
        edges=edges,
        parents={node: parent for node, parent in visited.parents.items() if node != parent},
        truncated=visited.truncated,
        as_of=as_of,
        jobs=reader.nodes(job_ids) if job_ids else {},
    )


def merge_walks(upstream: Walk, downstream: Walk) -> Walk:
    """Both directions: the union of two walks from the same roots (each capped on its own)."""
    hops = dict(downstream.hops)
    for node, hop in upstream.hops.items():
        hops[node] = min(hop, hops.get(node, hop))
    return Walk(
        roots=downstream.roots,
        level=downstream.level,
        direction="both",
        depth=downstream.depth,
        nodes={**upstream.nodes, **downstream.nodes},
        hops=hops,
        edges=sorted(set(upstream.edges) | set(downstream.edges)),
        parents={**upstream.parents, **downstream.parents},
        truncated=upstream.truncated or downstream.truncated,
        as_of=downstream.as_of,
        jobs={**upstream.jobs, **downstream.jobs},
    )
