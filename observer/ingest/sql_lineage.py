"""Column lineage from the SQL of ``sql`` job facets: queued queries are analysed with
:func:`observer.lineage.analyze_sql` and recorded in the graph as ``source="sql"`` batches.

Tables named in the SQL are matched to the event's own datasets (same name, or one is the other
with a database/schema prefix), so SQL lineage lands on the nodes the producer reported; a table
the event did not mention gets the namespace most of the event's datasets live in.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from observer.catalog.identity import DatasetRef
from observer.graph import from_sql
from observer.graph.model import (
    GraphUnavailable,
    GraphWriter,
    LineageBatch,
)
from observer.ingest.sql_queue import QueuedQuery, SqlLineageQueue
from observer.lineage import LineageResult, Status, analyze_sql
from observer.lineage.store_catalog import StoreCatalog
from observer.store import Store

log = logging.getLogger(__name__)

_DIALECTS = {"postgresql": "postgres", "sparksql": "spark", "sqlserver": "tsql", "mssql": "tsql"}


def dialect_of(name: str | None, default: str | None) -> str | None:
    """The sqlglot dialect for an OpenLineage ``sql`` facet ``dialect``."""
    if not name:
        return default
    return _DIALECTS.get(name.lower(), name.lower())


def table_resolver(query: QueuedQuery) -> Callable[[str], DatasetRef]:
    known = [*query.outputs, *query.inputs]

    def resolve(table: str) -> DatasetRef:
        wanted = table.lower()
        for ref in known:
            name = ref.name.lower()
            if name == wanted or name.endswith(f".{wanted}") or wanted.endswith(f".{name}"):
                return ref
        return DatasetRef(query.default_namespace or query.job.namespace, table)

    return resolve


def lineage_batch(query: QueuedQuery, result: LineageResult) -> LineageBatch:
    """The graph batch for one analysed query, attributed to the job and run that executed it. A
    plain SELECT feeds the event's output when the event names exactly one."""
    return from_sql.lineage_batch(
        result.to_dict()["statements"],
        resolve=table_resolver(query),
        job=query.job,
        source="sql",
        observed_at=query.event_time,
        select_output=query.outputs[0] if len(query.outputs) == 1 else None,
        run_id=query.run_uuid,
    )


class SqlLineageWorker:
    """Analyses queued queries and records their lineage; a query is marked done or failed once."""

    def __init__(
        self,
        queue: SqlLineageQueue,
        graph: GraphWriter,
        *,
        time_budget_s: float,
        default_dialect: str | None = None,
        store: Store | None = None,
    ) -> None:
        self._queue = queue
        self._graph = graph
        self._time_budget_s = time_budget_s
        self._default_dialect = default_dialect
        self._store = store  # SELECT * and unqualified columns are resolved with its latest schemas

    def run_once(self, limit: int = 20) -> int:
        """Analyse up to ``limit`` queries; stop early (leaving them queued) if the graph is down."""
        done = 0
        for query in self._queue.pending(limit):
            assert query.id is not None
            catalog = StoreCatalog(self._store, query.default_namespace) if self._store is not None else None
            result = analyze_sql(
                query.sql,
                dialect_of(query.dialect, self._default_dialect),
                catalog=catalog,
                time_budget_s=self._time_budget_s,
            )
            batch = lineage_batch(query, result)
            try:
                if batch:
                    self._graph.record(batch)
            except GraphUnavailable as error:
                log.warning("lineage graph unavailable (%s); SQL lineage waits", error)
                return done
            failed = not result.statements or all(item.status == Status.FAILED for item in result.statements)
            if failed:
                problems = result.errors + [error for item in result.statements for error in item.errors]
                self._queue.mark_failed(query.id, "; ".join(problems) or "no statement could be read")
            else:
                self._queue.mark_done(query.id)
            done += 1
        return done
