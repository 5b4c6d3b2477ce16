"""Reading many datasets' histories from the catalog in one query each (not one per dataset)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import Connection, or_, select

from observer.catalog.identity import DatasetRef
from observer.catalog.tables import dataset_updates, datasets, metric_points


def all_datasets(connection: Connection) -> list[DatasetRef]:
    rows = connection.execute(select(datasets.c.namespace, datasets.c.name).order_by(datasets.c.id))
    return [DatasetRef(namespace, name) for namespace, name in rows]


def update_histories(connection: Connection, since: datetime) -> dict[DatasetRef, list[datetime]]:
    """Every dataset's distinct observed write times since ``since``, oldest first."""
    query = (
        select(datasets.c.namespace, datasets.c.name, dataset_updates.c.updated_at)
        .join(datasets, datasets.c.id == dataset_updates.c.dataset_id)
        .where(dataset_updates.c.updated_at >= since)
        .order_by(dataset_updates.c.updated_at)
    )
    histories: dict[DatasetRef, list[datetime]] = {}
    for namespace, name, moment in connection.execute(query):
        history = histories.setdefault(DatasetRef(namespace, name), [])
        if not history or history[-1] != moment:
            history.append(moment)
    return histories


def metric_histories(
    connection: Connection, metric: str, since: datetime
) -> dict[DatasetRef, list[tuple[datetime, float]]]:
    """Every dataset's table-level series of ``metric`` since ``since`` (one value per time)."""
    query = (
        select(datasets.c.namespace, datasets.c.name, metric_points.c.measured_at, metric_points.c.value)
        .join(datasets, datasets.c.id == metric_points.c.dataset_id)
        .where(
            metric_points.c.metric == metric,
            metric_points.c.column_name == "",
            metric_points.c.measured_at >= since,
        )
        .order_by(metric_points.c.measured_at, metric_points.c.id)
    )
    series: dict[DatasetRef, dict[datetime, float]] = {}
    for namespace, name, moment, value in connection.execute(query):
        series.setdefault(DatasetRef(namespace, name), {})[moment] = value
    return {ref: list(points.items()) for ref, points in series.items()}


def column_metric_histories(
    connection: Connection, metrics: Collection[str], prefixes: Collection[str], since: datetime
) -> dict[DatasetRef, dict[tuple[str, str], list[tuple[datetime, float]]]]:
    """Every dataset's column-level series of the named metrics (or metrics starting with a prefix)
    since ``since``, keyed by (column, metric); one value per time."""
    wanted = or_(
        metric_points.c.metric.in_(list(metrics)),
        *(metric_points.c.metric.startswith(prefix, autoescape=True) for prefix in prefixes),
    )
    query = (
        select(
            datasets.c.namespace,
            datasets.c.name,
            metric_points.c.column_name,
            metric_points.c.metric,
            metric_points.c.measured_at,
            metric_points.c.value,
        )
        .join(datasets, datasets.c.id == metric_points.c.dataset_id)
        .where(wanted, metric_points.c.column_name != "", metric_points.c.measured_at >= since)
        .order_by(metric_points.c.measured_at, metric_points.c.id)
    )
    series: dict[DatasetRef, dict[tuple[str, str], dict[datetime, float]]] = {}
    for namespace, name, column, metric, moment, value in connection.execute(query):
        series.setdefault(DatasetRef(namespace, name), {}).setdefault((column, metric), {})[moment] = value
    return {
        ref: {key: list(points.items()) for key, points in columns.items()} for ref, columns in series.items()
    }
