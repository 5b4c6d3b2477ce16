"""Pure conversions from what a warehouse said to catalog records: schema observations, table and column
metric points (names in docs/collectors.md), and zero-filled rows-per-bucket series."""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

from collectors.warehouse.base import TableInfo
from observer.catalog.identity import DatasetRef
from observer.catalog.records import MetricPoint, SchemaField, SchemaObservation

if TYPE_CHECKING:
    # profile builds its queries with sqlglot (~8 MiB resident), which the sidecar does not need
    from collectors.warehouse.profile import Bucket, ProfileColumn, ProfileResult

SOURCE: Final = "warehouse"
WRITE_COUNTERS = {"inserted": "rows_inserted", "updated": "rows_updated", "deleted": "rows_deleted"}
BUCKET_WIDTH: Mapping[str, timedelta] = {"day": timedelta(days=1), "hour": timedelta(hours=1)}
HEARTBEAT = timedelta(hours=1)
"""An unchanged table metric is stored again once an hour, so quiet series stay dense enough. Each table
has its own minute in the hour, so the rewrites spread over the passes instead of coming all at once."""


def heartbeat_due(key: str, stored_at: datetime, now: datetime) -> bool:
    """Whether the table's own hourly moment passed since its metrics were last stored."""
    period = HEARTBEAT.total_seconds()
    phase = zlib.crc32(key.encode()) / 2**32 * period
    return (now.timestamp() + phase) // period != (stored_at.timestamp() + phase) // period


def schema_observation(dataset: DatasetRef, table: TableInfo, observed_at: datetime) -> SchemaObservation:
    fields = tuple(
        SchemaField(
            name=column.name, type=column.type, description=column.description, nullable=column.nullable
        )
        for column in table.columns
    )
    return SchemaObservation(dataset=dataset, fields=fields, observed_at=observed_at, source=SOURCE)


def point(dataset: DatasetRef, metric: str, value: float, at: datetime, column: str = "") -> MetricPoint:
    return MetricPoint(
        dataset=dataset, metric=metric, measured_at=at, value=float(value), source=SOURCE, column=column
    )


def counter_deltas(current: Mapping[str, int], previous: Mapping[str, int] | None) -> dict[str, int] | None:
    """Growth of each write counter since the last pass; None without a previous reading. A counter
    that went down was reset (statistics reset, restart): its whole value counts as growth."""
    if previous is None or not current:
        return None
    deltas = {}
    for name, value in current.items():
        before = previous.get(name)
        deltas[name] = value if before is None or value < before else value - before
    return deltas


def column_points(
    dataset: DatasetRef, columns: list[ProfileColumn], result: ProfileResult, at: datetime
) -> list[MetricPoint]:
    """Per-column metrics of one profile: null/distinct counts and rates, moments, quartiles, shares."""
    from collectors.warehouse.profile import QUARTILES

    rows = result.value("", "rows") or 0.0
    points: list[MetricPoint] = []
    for column in columns:
        name = column.name
        non_null = result.value(name, "non_null")
        if non_null is None:
            continue
        nulls = rows - non_null
        points.append(point(dataset, "null_count", nulls, at, name))
        if rows > 0:
            points.append(point(dataset, "null_rate", nulls / rows, at, name))
        distinct = result.value(name, "distinct_count")
        if distinct is not None:
            points.append(point(dataset, "distinct_count", distinct, at, name))
            if non_null > 0:
                points.append(point(dataset, "distinct_ratio", min(distinct / non_null, 1.0), at, name))
        for metric in ("min", "max", "mean", "stddev", *(quartile for quartile, _ in QUARTILES)):
            value = result.value(name, metric)
            if value is not None:
                points.append(point(dataset, metric, value, at, name))
        if rows > 0:
            for label, count in result.categories.get(name, []):
                points.append(point(dataset, f"category_share:{label}", count / rows, at, name))
    return points


def bucket_points(
    dataset: DatasetRef,
    result: ProfileResult,
    *,
    bucket: Bucket,
    since: datetime,
    current: datetime,
) -> list[MetricPoint]:
    """``rows_per_bucket`` from the first non-empty bucket (or ``current``) to ``current``, empty
    buckets as 0. The bucket holding the collection time is partial and is re-measured next pass."""
    width = BUCKET_WIDTH[bucket]
    counts = {start: rows for start, rows in result.buckets if since <= start <= current}
    start = min(counts, default=current)
    points = []
    while start <= current:
        points.append(point(dataset, "rows_per_bucket", counts.get(start, 0), start))
        start += width
    return points


def bucket_start(moment: datetime, bucket: Bucket) -> datetime:
    moment = moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0) if bucket == "day" else moment
