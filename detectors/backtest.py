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

from detectors.freshness import DAY, learn_rhythms
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
    codes, names = pd.factorize(series)  # check each distinct name once
    blank = [i for i, name in enumerate(names) if not str(name).strip()]
    if blank:
        raise BacktestInputError(int(np.flatnonzero(np.isin(codes, blank))[0]), "empty series name")
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
            "timestamp": np.concatenate([j.times for j in judgements]),
            "value": np.concatenate([j.values for j in judgements]),
            "expected": np.concatenate([j.expected for j in judgements]),
            "lower": np.concatenate([j.lower for j in judgements]),
            "upper": np.concatenate([j.upper for j in judgements]),
            "score": np.concatenate([j.score for j in judgements]),
            "anomaly": np.concatenate([j.anomaly for j in judgements]),
        }
    )


def backtest_freshness(
    frame: pd.DataFrame, until: datetime, check_every: timedelta, settings: FreshnessSettings
) -> pd.DataFrame:
    """Every check time, from each series' first update to ``until``, that finds the table overdue.

    Exactly what :func:`detectors.freshness.freshness_status` answers at each check, computed in
    bulk: the rhythm changes only at midnight UTC (it is learned from the updates before the day)
    and the deadline only when an update lands, so each (update, day) stretch is asked once and is
    overdue from its deadline until the next update or midnight. All the days of a series are
    learned in one call (:func:`detectors.freshness.learn_rhythms`).
    """
    step = int(pd.Timedelta(check_every).value)
    end = pd.Timestamp(until).tz_convert("UTC").value if pd.Timestamp(until).tz else pd.Timestamp(until).value
    parts: list[pd.DataFrame] = []
    for name, updates in _updates_by_series(frame):
        first = int(updates[0])
        last = updates[updates <= end]
        if not last.size:
            continue
        # Checks strictly before the next update, up to ``until``, split at each midnight.
        stop = np.minimum(np.r_[updates[1:], end + 1][: last.size], end + 1)
        first_day = last - last % DAY
        days = _ceil_div(stop - first_day, DAY)
        update = np.repeat(np.arange(last.size), days)
        day = first_day[update] + (np.arange(update.size) - np.repeat(np.cumsum(days) - days, days)) * DAY
        cutoffs, model = np.unique(day, return_inverse=True)
        due, known = learn_rhythms(updates, cutoffs, settings).due(model, last[update], settings)
        segment_end = np.minimum(stop[update], day + DAY)
        late = np.flatnonzero(known & (due < segment_end))
        begin = np.maximum(np.maximum(due[late] + 1, last[update[late]]), day[late])
        low = _ceil_div(begin - first, step)
        count = np.maximum(_ceil_div(segment_end[late] - first, step) - low, 0)
        if not count.sum():
            continue
        offset = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
        parts.append(
            pd.DataFrame(
                {
                    "series": str(name),
                    "checked_at": pd.to_datetime(first + (np.repeat(low, count) + offset) * step, utc=True),
                    "last_update": pd.to_datetime(np.repeat(last[update[late]], count), utc=True),
                    "expected_by": pd.to_datetime(np.repeat(due[late], count), utc=True),
                }
            )
        )
    if not parts:
        return pd.DataFrame({name: [] for name in OVERDUE_FIELDS})
    result = pd.concat(parts, ignore_index=True)
    result["anomaly"] = True
    return result


def _updates_by_series(frame: pd.DataFrame) -> list[tuple[str, np.ndarray]]:
    """Each series' distinct update times (sorted int64 ns), in order of first appearance."""
    codes, names = pd.factorize(frame["series"])
    stamps = pd.DatetimeIndex(frame["timestamp"]).as_unit("ns").asi8
    order = np.lexsort((stamps, codes))
    codes, stamps = codes[order], stamps[order]
    keep = np.r_[True, (codes[1:] != codes[:-1]) | (stamps[1:] != stamps[:-1])]
    codes, stamps = codes[keep], stamps[keep]
    bounds = np.searchsorted(codes, np.arange(len(names) + 1))
    return [(str(names[i]), stamps[bounds[i] : bounds[i + 1]]) for i in range(len(names))]


def _ceil_div(a: np.ndarray, b: int) -> np.ndarray:
    return -((-a) // b)
