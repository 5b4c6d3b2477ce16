"""Which sources declare lineage in full, so that what they no longer declare is retired.

A source that re-declares the whole lineage of something (a job's outputs at the end of a run,
a job's re-parsed SQL, a dbt model) lets the graph end the edges it used to declare and left out:
they get ``retired_at`` (valid until then, still answered by ``asOf``), instead of lingering as
current lineage. A source that only adds sightings (a START event, a manual entry) declares nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from observer.graph.model import Completeness, LineageSource

_SQL_SOURCES: frozenset[LineageSource] = frozenset({"sql", "dbt", "warehouse"})


def declared_complete(
    source: LineageSource, *, event_type: str | None = None, partial: bool = False
) -> Completeness | None:
    """What a batch from ``source`` declares in full (:attr:`LineageBatch.complete`).

    - ``openlineage``: a COMPLETE event is the run's final word on each output's column lineage
      (``"outputs"``: the outputs it gives column lineage for); other events add sightings.
    - ``sql``, ``dbt``, ``warehouse``: a re-parsed statement is the job's whole lineage
      (``"jobs"``), unless the parse was ``partial`` (a statement failed, or resolved only tables
      or some columns): then it only adds sightings.
    - ``manual``: adds sightings; remove manual lineage by deleting its dataset
      (:meth:`~observer.graph.base.GraphStore.retire_datasets`).
    """
    if partial:
        return None
    if source == "openlineage":
        return "outputs" if event_type == "COMPLETE" else None
    if source in _SQL_SOURCES:
        return "jobs"
    return None


def parsed_completely(statements: Iterable[Mapping[str, Any]]) -> bool:
    """Whether every statement of a lineage JSON result was read in full (status ``ok``)."""
    return all(
        statement.get("status", "ok") == "ok" and not statement.get("errors") for statement in statements
    )
