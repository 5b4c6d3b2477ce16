"""Ending lineage: edges a complete re-declaration left out, or of a deleted dataset, get
``retired_at`` (they stay for ``asOf`` questions; current questions skip them).

Retiring only touches edges still live and last seen before the retirement (an edge seen at or
after it was re-declared, or seen again since), and of the declaring source only: each source keeps
its own sightings. An edge seen again after its retirement comes back (the upsert in
:mod:`observer.graph.writer` clears ``retired_at`` and keeps the retired time in ``gaps``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, text

from observer.graph.model import LineageBatch
from observer.graph.reader import chunked
from observer.graph.results import Edge
from observer.graph.sql_reader import SqlGraphReader
from observer.graph.tables import NO_JOB, EdgeKind, SourceCode, to_ms

_READ, _WRITE, _FLOW, _DERIVE = (int(kind) for kind in EdgeKind)
_RETIRE = "UPDATE graph_edges SET retired_at = :at WHERE retired_at IS NULL AND last_seen < :at AND source = :source AND "
_RETURNING = " RETURNING src, dst, kind, job, source, type"
_INTO_OUTPUT = text(
    f"{_RETIRE}kind = {_DERIVE} AND job = :job "
    "AND dst IN (SELECT id FROM graph_nodes WHERE dataset_id = :dataset)" + _RETURNING
)
"""The column lineage a job (or no job) derives into a dataset's columns."""
_FLOWS_INTO = text(f"{_RETIRE}kind = {_FLOW} AND dst = :dataset" + _RETURNING)
_JOB_READS = text(f"{_RETIRE}kind = {_READ} AND dst = :job" + _RETURNING)
_JOB_WRITES = text(f"{_RETIRE}kind = {_WRITE} AND src = :job" + _RETURNING)
_JOB_DERIVES = text(
    f"{_RETIRE}kind = {_DERIVE} AND job = :job AND dst IN (SELECT id FROM graph_nodes WHERE dataset_id IN "
    f"(SELECT dst FROM graph_edges WHERE src = :job AND kind = {_WRITE}))" + _RETURNING
)
"""Column edges of a job: into the columns of the datasets it writes (or wrote)."""
_CHUNK = 500


def retire_declared(
    connection: Connection,
    batch: LineageBatch,
    datasets: Mapping[tuple[str, str], int],
    jobs: Mapping[tuple[str, str], int],
) -> list[tuple[int, ...]]:
    """Retire, at ``batch.observed_at``, the edges of ``batch.source`` in the scope the batch
    declares in full that it left out (the batch is recorded already, so those it re-declared are
    last seen at its time). ``datasets`` and ``jobs`` are the node ids of its identities."""
    parameters: dict[str, Any] = {"at": to_ms(batch.observed_at), "source": int(SourceCode[batch.source])}
    statements: list[tuple[Any, dict[str, Any]]] = []
    if batch.complete == "outputs":
        outputs = {
            (NO_JOB if edge.job is None else jobs[edge.job.namespace, edge.job.name],
             datasets[edge.target.dataset.namespace, edge.target.dataset.name])
            for edge in batch.column_edges
        }  # fmt: skip
        for job, dataset in sorted(outputs):
            statements.append((_INTO_OUTPUT, {**parameters, "job": job, "dataset": dataset}))
            if job == NO_JOB:
                statements.append((_FLOWS_INTO, {**parameters, "dataset": dataset}))
    elif batch.complete == "jobs":
        named = {(edge.job.namespace, edge.job.name) for edge in batch.dataset_edges}
        named |= {(edge.job.namespace, edge.job.name) for edge in batch.column_edges if edge.job is not None}
        for job in sorted(jobs[pair] for pair in named):
            for statement in (_JOB_DERIVES, _JOB_READS, _JOB_WRITES):
                statements.append((statement, {**parameters, "job": job}))
    retired: list[tuple[int, ...]] = []
    for statement, values in statements:
        retired += [tuple(row) for row in connection.execute(statement, values)]
    return retired


def retire_nodes(connection: Connection, node_ids: Collection[int], at_ms: int) -> list[tuple[int, ...]]:
    """Retire at ``at_ms`` every live edge from or to ``node_ids`` last seen by then (any source)."""
    retired: list[tuple[int, ...]] = []
    for column in ("src", "dst"):
        for chunk in chunked(sorted(node_ids), _CHUNK):
            marks = ", ".join(f":n{index}" for index in range(len(chunk)))
            statement = text(
                "UPDATE graph_edges SET retired_at = :at WHERE retired_at IS NULL AND last_seen <= :at "
                f"AND {column} IN ({marks})" + _RETURNING
            )
            values = {"at": at_ms, **{f"n{index}": node for index, node in enumerate(chunk)}}
            retired += [tuple(row) for row in connection.execute(statement, values)]
    return retired


def current_edges(connection: Connection, keys: Iterable[tuple[int, ...]]) -> list[Edge]:
    """The stored state of the edges ``keys`` (retired or not)."""
    wanted = set(keys)
    sources = sorted({key[0] for key in wanted})
    found = SqlGraphReader(connection).edges(
        sources, list(EdgeKind), reverse=False, as_of_ms=None, include_retired=True
    )
    return sorted(edge for edge in found if edge.key in wanted)
