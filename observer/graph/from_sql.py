"""Lineage JSON (``observer.lineage.analyze_sql(...).to_dict()``) as a graph :class:`LineageBatch`.

The OpenLineage `sql` facet, the warehouse query log and dbt all parse SQL; this is the one place
their results become edges.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from observer.catalog.identity import DatasetRef, JobRef
from observer.graph.completeness import declared_complete, parsed_completely
from observer.graph.model import (
    ColumnEdge,
    ColumnRef,
    DatasetEdge,
    LineageBatch,
    LineageSource,
    Transformation,
)

Resolve = Callable[[str], DatasetRef]
"""Turns a dotted table name of the lineage JSON into a dataset identity."""


def lineage_batch(
    statements: Iterable[Mapping[str, Any]],
    *,
    resolve: Resolve,
    job: JobRef,
    source: LineageSource,
    observed_at: datetime,
    select_output: DatasetRef | None = None,
    run_id: str | None = None,
) -> LineageBatch:
    """Edges of every statement that writes something. ``select_output`` is the dataset a plain
    SELECT produces (a dbt model's relation); without it a SELECT contributes nothing. A parse read
    in full declares the job's whole lineage (see :mod:`observer.graph.completeness`)."""
    statements = list(statements)
    complete = declared_complete(source, partial=not parsed_completely(statements))
    batch = LineageBatch(observed_at=observed_at, source=source, run_id=run_id, complete=complete)
    seen_datasets: set[DatasetEdge] = set()
    seen_columns: set[ColumnEdge] = set()
    for statement in statements:
        outputs = [resolve(name) for name in statement.get("outputs") or []]
        if not outputs and select_output is not None and statement.get("type") == "SELECT":
            outputs = [select_output]
        if not outputs:
            continue
        dataset_edges = [DatasetEdge(job, output, "output") for output in outputs]
        dataset_edges += [DatasetEdge(job, resolve(name), "input") for name in statement.get("inputs") or []]
        for dataset_edge in dataset_edges:
            if dataset_edge not in seen_datasets:
                seen_datasets.add(dataset_edge)
                batch.dataset_edges.append(dataset_edge)
        for column in statement.get("columns") or []:
            for column_edge in _column_edges(column, outputs, resolve, job):
                if column_edge not in seen_columns:
                    seen_columns.add(column_edge)
                    batch.column_edges.append(column_edge)
    return batch


def _column_edges(
    column: Mapping[str, Any], outputs: list[DatasetRef], resolve: Resolve, job: JobRef
) -> Iterable[ColumnEdge]:
    output = column["output"]
    if output.get("table"):
        target_dataset = resolve(output["table"])
    elif len(outputs) == 1:
        target_dataset = outputs[0]
    else:
        return
    target = ColumnRef(target_dataset, output["column"])
    for source in column.get("inputs") or []:
        if not source.get("table"):
            continue
        origin = ColumnRef(resolve(source["table"]), source["column"])
        for transformation in source.get("transformations") or [{"type": "DIRECT", "subtype": None}]:
            yield ColumnEdge(
                source=origin,
                target=target,
                transformation=Transformation(
                    type="INDIRECT" if transformation.get("type") == "INDIRECT" else "DIRECT",
                    subtype=transformation.get("subtype"),
                    description=transformation.get("description"),
                    masking=bool(transformation.get("masking", False)),
                ),
                job=job,
            )
