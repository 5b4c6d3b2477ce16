"""Walk-forward replays of history files through the live detector code.

``observer backtest volume|metric`` reads ``series,timestamp,value`` rows and judges every point
from the earlier rows of its series only; ``observer backtest freshness`` reads ``series,timestamp``
update rows and asks, at every check time, whether the table is overdue given the updates seen so
far. Reading and writing files lives in the CLI; these functions take and return pandas frames.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from detectors.freshness import DAY, FreshnessModel, learn_rhythm, learning_cutoff, next_due
from detectors.series import SeriesInput, SeriesJudgement, infer_metric_kind, judge
from detectors.settings import FreshnessSettings, MetricKind, SeriesSettings

HOUR_NS = 3_600_000_000_000
DAY_NS = 24 * HOUR_NS
SERIES_COLUMNS = ("series", "timestamp", "value")
UPDATE_COLUMNS = ("series", "timestamp")
POINT_FIELDS = ("series", "timestamp", "value", "expected", "lower", "upper", "score", "anomaly")
OVERDUE_FIELDS = ("series", "checked_at", "last_update", "expected_by", "anomaly")


class BacktestInputError(ValueError):
    """A history row that cannot be used; ``row`` is its 0-based position among the data rows."""

    def __init__(self, row: int | None, message: str) -> None:
        super().__init__(message)
        self.row = row
        self.message = message


def parse_series_rows(raw: pd.DataFrame, *, with_values: bool = True) -> pd.DataFrame:
    """Validate string columns read from a history file; return typed ``series, timestamp[, value]``."""
    wanted = SERIES_COLUMNS if with_values else UPDATE_COLUMNS
    missing = [c for c in wanted if c not in raw.columns]
    if missing:
        raise BacktestInputError(None, f"header must be {','.join(wanted)} (missing {', '.join(missing)})")
    series = raw["series"].fillna("")
    empty = np.flatnonzero((series.str.strip() == "").to_numpy())
    if empty.size:
        raise BacktestInputError(int(empty[0]), "empty series name")
    times = pd.to_datetime(raw["timestamp"], utc=True, format="ISO8601", errors="coerce")
    bad = np.flatnonzero(times.isna().to_numpy())
    if bad.size:
        row = int(bad[0])
        raise BacktestInputError(row, f"not an ISO 8601 timestamp: {raw['timestamp'].iloc[row]!r}")
    frame = pd.DataFrame({"series": series.to_numpy(), "timestamp": times.dt.as_unit("ns")})
    if with_values:
        values = pd.to_numeric(raw["value"], errors="coerce")
        bad = np.flatnonzero((values.isna() | ~np.isfinite(values.fillna(0.0))).to_numpy())
        if bad.size:
            row = int(bad[0])
            raise BacktestInputError(row, f"not a number: {raw['value'].iloc[row]!r}")
        frame["value"] = values.astype(float).to_numpy()
    return frame


def series_inputs(
    frame: pd.DataFrame, kind: MetricKind | None, settings: SeriesSettings
) -> list[SeriesInput]:
    """One :class:`SeriesInput` per series, in order of first appearance.

    ``kind=None`` infers each series' kind from its values (metric backtests).
    """
    inputs = []
    for name, rows in frame.groupby("series", sort=False):
        values = pd.Series(rows["value"].to_numpy(), index=pd.DatetimeIndex(rows["timestamp"]))
        series_kind = kind or infer_metric_kind(values.to_numpy())
        inputs.append(SeriesInput(key=str(name), values=values, settings=settings.with_kind(series_kind)))
    return inputs


def backtest_series(
    frame: pd.DataFrame,
    kind: MetricKind | None,
    settings: SeriesSettings,
    judge_all: Callable[[Sequence[SeriesInput]], list[SeriesJudgement]] = judge,
) -> pd.DataFrame:
    """Judge every point walk-forward; one output row per input point (``POINT_FIELDS``)."""
    check_buckets(frame)
    return point_records(judge_all(series_inputs(frame, kind, settings)))


def check_buckets(frame: pd.DataFrame) -> None:
    """Every series has at most one row per bucket of its (inferred) grid."""
    stamps = pd.DatetimeIndex(frame["timestamp"]).as_unit("ns").asi8
    order = np.lexsort((stamps, frame["series"].to_numpy()))
    names = frame["series"].to_numpy()[order]
    ordered = stamps[order]
    same_series = np.r_[False, names[1:] == names[:-1]]
    gaps = np.where(same_series, np.r_[0, np.diff(ordered)], np.nan)
    typical = pd.Series(gaps).groupby(names).transform("median").to_numpy()
    step = np.where(typical < 12 * 3600 * 1e9, HOUR_NS, DAY_NS).astype(np.int64)
    buckets = ordered - ordered % step
    clash = np.flatnonzero(same_series & np.r_[False, buckets[1:] == buckets[:-1]])
    if clash.size:
        row = int(frame.index[order[clash[0]]])
        first = pd.Timestamp(int(buckets[clash[0]]), tz="UTC")
        raise BacktestInputError(
            row, f"series {names[clash[0]]!r} has two rows in the bucket starting {first}"
        )


def point_records(judgements: Sequence[SeriesJudgement]) -> pd.DataFrame:
    if not judgements:
        return pd.DataFrame({name: [] for name in POINT_FIELDS})
    return pd.DataFrame(
        {
            "series": np.repeat([j.key for j in judgements], [len(j.values) for j in judgements]),
            "timestamp": np.concatenate([j.timestamps.as_unit("ns").asi8 for j in judgements]).view("M8[ns]"),
            "value": np.concatenate([j.values for j in judgements]),
            "expected": np.concatenate([j.expected for j in judgements]),
            "lower": np.concatenate([j.lower for j in judgements]),
            "upper": np.concatenate([j.upper for j in judgements]),
            "score": np.concatenate([j.score for j in judgements]),
            "anomaly": np.concatenate([j.anomaly for j in judgements]),
        }
    )


def backtest_freshness(
    frame: pd.DataFrame,
    until: datetime,
    check_every: timedelta,
    settings: FreshnessSettings,
    learn: Callable[[np.ndarray, FreshnessSettings], FreshnessModel | None] = learn_rhythm,
) -> pd.DataFrame:
    """Every check time, from each series' first update to ``until``, that finds the table overdue.

    Exactly what :func:`detectors.freshness.freshness_status` answers at each check, computed in
    bulk: the rhythm changes only at midnight UTC (it is learned from the updates before the day)
    and the deadline only when an update lands, so each (update, day) stretch is asked once and is
    overdue from its deadline until the next update or midnight.
    """
    step = int(pd.Timedelta(check_every).value)
    end = pd.Timestamp(until).tz_convert("UTC").value if pd.Timestamp(until).tz else pd.Timestamp(until).value
    names: list[str] = []
    checks: list[np.ndarray] = []
    lasts: list[np.ndarray] = []
    dues: list[np.ndarray] = []
    for name, rows in frame.groupby("series", sort=False):
        updates = np.unique(pd.DatetimeIndex(rows["timestamp"]).as_unit("ns").asi8)
        first = int(updates[0])
        models: dict[int, FreshnessModel | None] = {}
        for i, last in enumerate(updates.tolist()):
            if last > end:
                break
            following = int(updates[i + 1]) if i + 1 < len(updates) else end + 1
            stop = min(following, end + 1)  # checks strictly before the next update, up to until
            day = learning_cutoff(last)
            while day < stop:
                if day not in models:
                    models[day] = learn(updates[: np.searchsorted(updates, day)], settings)
                due = next_due(models[day], updates[: i + 1], settings)
                segment_end = min(stop, day + DAY)
                if due is not None and due < segment_end:
                    begin = max(due + 1, last, day)
                    times = (
                        first
                        + np.arange(_ceil_div(begin - first, step), _ceil_div(segment_end - first, step))
                        * step
                    )
                    if times.size:
                        names.append(str(name))
                        checks.append(times)
                        lasts.append(np.full(times.size, last))
                        dues.append(np.full(times.size, due))
                day += DAY
    if not checks:
        return pd.DataFrame({name: [] for name in OVERDUE_FIELDS})
    sizes = [c.size for c in checks]
    result = pd.DataFrame(
        {
            "series": np.repeat(names, sizes),
            "checked_at": pd.to_datetime(np.concatenate(checks), utc=True),
            "last_update": pd.to_datetime(np.concatenate(lasts), utc=True),
            "expected_by": pd.to_datetime(np.concatenate(dues), utc=True),
        }
    )
    result["anomaly"] = True
    return result


def _ceil_div(a: int, b: int) -> int:
    return -((-a) // b)
