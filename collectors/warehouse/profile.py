"""Column profiles computed in the warehouse, one query per table, written once as sqlglot
expressions and generated for each engine's dialect.

The query returns rows of ``(section, column_name, label, v0 … vN)``:

- one ``stats`` row whose values are the aggregates listed in :attr:`ProfileQuery.slots`
  (row count, non-null and distinct counts, min/max/mean/stddev/quartiles, newest event time);
- ``category`` rows, the most frequent values of each text or boolean column (``v0`` = rows);
- ``bucket`` rows, rows per day or hour of the timestamp column (``v0`` = bucket start as epoch
  seconds, ``v1`` = rows).

Where sqlglot's neutral function has no equivalent in an engine, the equivalent is chosen here:
PostgreSQL has no approximate distinct count or quantile (exact ``COUNT(DISTINCT)`` and
``PERCENTILE_CONT``), BigQuery spells epoch seconds ``UNIX_SECONDS`` and quantiles ``APPROX_QUANTILES``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sqlglot import exp

ColumnKind = Literal["numeric", "temporal", "text", "boolean", "other"]
Bucket = Literal["day", "hour"]

QUARTILES = (("p25", 0.25), ("p50", 0.5), ("p75", 0.75))
_EXACT_ONLY = frozenset({"postgres"})
_TEMPORAL = {
    exp.DataType.Type.DATE,
    exp.DataType.Type.DATETIME,
    exp.DataType.Type.DATETIME64,
    exp.DataType.Type.TIMESTAMP,
    exp.DataType.Type.TIMESTAMPTZ,
    exp.DataType.Type.TIMESTAMPLTZ,
    exp.DataType.Type.TIMESTAMPNTZ,
    exp.DataType.Type.TIMESTAMP_S,
    exp.DataType.Type.TIMESTAMP_MS,
    exp.DataType.Type.TIMESTAMP_NS,
}
_ZONED = {exp.DataType.Type.TIMESTAMPTZ, exp.DataType.Type.TIMESTAMPLTZ}


def parse_type(type_text: str | None, dialect: str) -> exp.DataType | None:
    if not type_text:
        return None
    try:
        return exp.DataType.build(type_text, dialect=dialect)
    except Exception:
        return None


def column_kind(type_text: str | None, dialect: str) -> ColumnKind:
    """What a column's catalog type allows to be measured."""
    data_type = parse_type(type_text, dialect)
    if data_type is None:
        return "other"
    if data_type.this in _TEMPORAL:
        return "temporal"
    if data_type.this == exp.DataType.Type.BOOLEAN:
        return "boolean"
    if data_type.is_type(*exp.DataType.NUMERIC_TYPES):
        return "numeric"
    if data_type.is_type(*exp.DataType.TEXT_TYPES):
        return "text"
    return "other"


@dataclass(frozen=True)
class ProfileColumn:
    name: str
    type: str | None
    kind: ColumnKind


@dataclass(frozen=True)
class Slot:
    """What one value of the ``stats`` row holds: ``metric`` of ``column`` ('' for the table)."""

    column: str
    metric: str


@dataclass(frozen=True)
class ProfileQuery:
    sql: str
    slots: tuple[Slot, ...]


@dataclass
class ProfileResult:
    values: dict[Slot, float | None] = field(default_factory=dict)
    categories: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    buckets: list[tuple[datetime, int]] = field(default_factory=list)

    def value(self, column: str, metric: str) -> float | None:
        return self.values.get(Slot(column, metric))


def build_profile_query(
    table: exp.Table,
    columns: Sequence[ProfileColumn],
    *,
    dialect: str,
    timestamp: ProfileColumn | None = None,
    bucket: Bucket = "day",
    buckets_since: datetime | None = None,
    buckets_until: datetime | None = None,
    rows_since: datetime | None = None,
    top_categories: int = 10,
) -> ProfileQuery:
    """The one profile statement for ``table`` in ``dialect``.

    ``rows_since`` limits the column metrics to recent rows of ``timestamp``; the rows-per-bucket
    series covers ``[buckets_since, buckets_until)``.
    """
    sql_fns = _Functions(dialect)
    base = exp.select("*").from_(table.copy())
    if rows_since is not None and timestamp is not None:
        base = base.where(_at_or_after(timestamp, rows_since, dialect))
    slots: list[Slot] = [Slot("", "rows")]
    aggregates: list[exp.Expression] = [exp.Count(this=exp.Star())]
    if timestamp is not None:
        slots.append(Slot(timestamp.name, "newest"))
        aggregates.append(sql_fns.epoch(exp.Max(this=_column(timestamp))))
    for column in columns:
        for metric, aggregate in _column_aggregates(column, sql_fns):
            slots.append(Slot(column.name, metric))
            aggregates.append(aggregate)
    width = max(len(aggregates), 2)
    branches: list[exp.Select] = [
        _row("stats", None, None, [exp.cast(value, "DOUBLE") for value in aggregates], width).from_("base")
    ]
    for column in columns:
        if column.kind in ("text", "boolean") and top_categories > 0:
            branches.append(_categories(column, top_categories, width))
    if timestamp is not None and buckets_since is not None:
        branches.append(
            _buckets(table, timestamp, bucket, buckets_since, buckets_until, sql_fns, dialect, width)
        )
    union: exp.Query = branches[0]
    for branch in branches[1:]:
        union = exp.union(union, branch, distinct=False)
    statement = exp.select("*").from_(union.subquery("profile")).with_("base", as_=base)
    return ProfileQuery(sql=statement.sql(dialect=dialect), slots=tuple(slots))


def read_profile(query: ProfileQuery, rows: Iterable[Sequence[Any]]) -> ProfileResult:
    result = ProfileResult()
    for row in rows:
        section, column_name, label, *values = row
        if section == "stats":
            for slot, value in zip(query.slots, values, strict=False):
                result.values[slot] = None if value is None else float(value)
        elif section == "category":
            result.categories.setdefault(column_name, []).append((str(label), int(values[0])))
        elif section == "bucket" and values[0] is not None:
            result.buckets.append((datetime.fromtimestamp(float(values[0]), UTC), int(values[1])))
    result.buckets.sort()
    for items in result.categories.values():
        items.sort(key=lambda item: (-item[1], item[0]))
    return result


def build_count_query(tables: Sequence[tuple[str, exp.Table]], dialect: str) -> str:
    """Exact row counts of several tables in one statement: rows of ``(key, rows)``."""
    branches = [
        exp.select(
            exp.alias_(exp.Literal.string(key), "table_key"),
            exp.alias_(exp.Count(this=exp.Star()), "row_count"),
        ).from_(table.copy())
        for key, table in tables
    ]
    union: exp.Query = branches[0]
    for branch in branches[1:]:
        union = exp.union(union, branch, distinct=False)
    return union.sql(dialect=dialect)


class _Functions:
    """The few aggregates whose neutral sqlglot form some engines lack."""

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect

    @property
    def timestamp(self) -> exp.DataType:
        """A point-in-time type: BigQuery's ``TIMESTAMP`` is sqlglot's TIMESTAMPTZ (its DATETIME is naive)."""
        return exp.DataType.build("TIMESTAMPTZ" if self.dialect == "bigquery" else "TIMESTAMP")

    def epoch(self, value: exp.Expression) -> exp.Expression:
        if self.dialect == "bigquery":
            return exp.UnixSeconds(this=exp.cast(value, self.timestamp))
        return exp.TimeToUnix(this=value)

    def distinct(self, value: exp.Expression) -> exp.Expression:
        if self.dialect in _EXACT_ONLY:
            return exp.Count(this=exp.Distinct(expressions=[value]))
        return exp.ApproxDistinct(this=value)

    def quantile(self, value: exp.Expression, q: float) -> exp.Expression:
        if self.dialect in _EXACT_ONLY:
            return exp.PercentileCont(this=value, expression=exp.Literal.number(q))
        return exp.ApproxQuantile(this=value, quantile=exp.Literal.number(q))


def _column(column: ProfileColumn) -> exp.Column:
    return exp.column(column.name, quoted=True)


def _column_aggregates(column: ProfileColumn, fns: _Functions) -> list[tuple[str, exp.Expression]]:
    value = _column(column)
    aggregates: list[tuple[str, exp.Expression]] = [("non_null", exp.Count(this=value.copy()))]
    if column.kind == "other":
        return aggregates
    aggregates.append(("distinct_count", fns.distinct(value.copy())))
    if column.kind == "numeric":
        number = exp.cast(value.copy(), "DOUBLE")
        aggregates += [
            ("min", exp.Min(this=number.copy())),
            ("max", exp.Max(this=number.copy())),
            ("mean", exp.Avg(this=number.copy())),
            ("stddev", exp.Stddev(this=number.copy())),
        ]
        aggregates += [(name, fns.quantile(number.copy(), q)) for name, q in QUARTILES]
    elif column.kind == "temporal":
        aggregates += [
            ("min", fns.epoch(exp.Min(this=value.copy()))),
            ("max", fns.epoch(exp.Max(this=value.copy()))),
        ]
    return aggregates


def _row(
    section: str,
    column: str | None,
    label: exp.Expression | None,
    values: Sequence[exp.Expression],
    width: int,
) -> exp.Select:
    padded = [*values] + [exp.cast(exp.null(), "DOUBLE") for _ in range(width - len(values))]
    return exp.select(
        exp.alias_(exp.Literal.string(section), "section"),
        exp.alias_(
            exp.Literal.string(column) if column is not None else exp.cast(exp.null(), "TEXT"), "column_name"
        ),
        exp.alias_(label if label is not None else exp.cast(exp.null(), "TEXT"), "label"),
        *(exp.alias_(value, f"v{index}") for index, value in enumerate(padded)),
    )


def _categories(column: ProfileColumn, top: int, width: int) -> exp.Select:
    label = exp.cast(_column(column), "TEXT")
    counted = exp.Count(this=exp.Star())
    frequent = (
        exp.select(exp.alias_(label.copy(), "label"), exp.alias_(counted.copy(), "rows_"))
        .from_("base")
        .where(exp.not_(_column(column).is_(exp.null())))
        .group_by(label.copy())
        .order_by(exp.Ordered(this=counted.copy(), desc=True), label.copy())
        .limit(top)
    )
    row = _row("category", column.name, exp.column("label"), [exp.cast(exp.column("rows_"), "DOUBLE")], width)
    return row.from_(frequent.subquery("frequent"))


def _buckets(
    table: exp.Table,
    timestamp: ProfileColumn,
    bucket: Bucket,
    since: datetime,
    until: datetime | None,
    fns: _Functions,
    dialect: str,
    width: int,
) -> exp.Select:
    start = exp.TimestampTrunc(this=exp.cast(_column(timestamp), fns.timestamp), unit=exp.var(bucket.upper()))
    condition: exp.Expression = _at_or_after(timestamp, since, dialect)
    if until is not None:
        condition = exp.and_(condition, _before(timestamp, until, dialect)).assert_is(exp.Expression)
    counts = (
        exp.select(exp.alias_(start.copy(), "bucket_start"), exp.alias_(exp.Count(this=exp.Star()), "rows_"))
        .from_(table.copy())
        .where(condition)
        .group_by(start.copy())
    )
    values = [
        exp.cast(fns.epoch(exp.column("bucket_start")), "DOUBLE"),
        exp.cast(exp.column("rows_"), "DOUBLE"),
    ]
    return _row("bucket", timestamp.name, None, values, width).from_(counts.subquery("buckets"))


def _moment(column: ProfileColumn, moment: datetime, dialect: str) -> exp.Expression:
    """``moment`` as a literal of the column's own type, so the comparison can use an index."""
    moment = moment.astimezone(UTC)
    data_type = parse_type(column.type, dialect) or exp.DataType.build("TIMESTAMP")
    if data_type.this == exp.DataType.Type.DATE:
        text = moment.strftime("%Y-%m-%d")
    elif data_type.this in _ZONED or (
        dialect == "bigquery" and data_type.this == exp.DataType.Type.TIMESTAMP
    ):
        text = moment.strftime("%Y-%m-%d %H:%M:%S+00:00")
    else:
        text = moment.strftime("%Y-%m-%d %H:%M:%S")
    return exp.cast(exp.Literal.string(text), data_type)


def _at_or_after(column: ProfileColumn, moment: datetime, dialect: str) -> exp.Expression:
    return exp.GTE(this=_column(column), expression=_moment(column, moment, dialect))


def _before(column: ProfileColumn, moment: datetime, dialect: str) -> exp.Expression:
    return exp.LT(this=_column(column), expression=_moment(column, moment, dialect))
