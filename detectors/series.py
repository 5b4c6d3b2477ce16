"""Judge whole metric histories: per-point judgements, walked forward.

This is the one path every series-shaped check takes (volume, column metrics, run durations) and
the one the backtest replays, so live checks and backtests cannot drift apart. A history is a
pandas Series, or :class:`Points` (numpy arrays): the computation itself needs numpy only, so a
caller that passes :class:`Points` (the sidecar's volume check) never loads pandas.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

import numpy as np

from detectors.grid import (
    CalendarDay,
    Frequency,
    bucket_times,
    calendar_days,
    instants,
    place_on_grid,
    quiet_buckets,
    utc_datetime,
    utc_nanoseconds,
)
from detectors.model import DAILY_CANDIDATES, HOURLY_CANDIDATES, SeriesBatch, walk_forward
from detectors.settings import Direction, MetricKind, SeriesSettings

if TYPE_CHECKING:
    import pandas as pd

RESIDUAL_WINDOW = {Frequency.DAILY: 42, Frequency.HOURLY: 168}
CANDIDATES = {Frequency.DAILY: DAILY_CANDIDATES, Frequency.HOURLY: HOURLY_CANDIDATES}


@dataclass(frozen=True)
class Points:
    """A history without pandas: ``times`` (datetime64[ns], UTC) and their ``values``, in any order."""

    times: np.ndarray
    values: np.ndarray


@dataclass(frozen=True)
class SeriesInput:
    """One history: ``values`` indexed by UTC timestamps (a pandas Series) or :class:`Points`, one
    point per bucket.

    ``excluded``: buckets confirmed as anomalies (never trained on). ``expected``: buckets marked
    expected (never alert, never trained on).
    """

    key: str
    values: pd.Series | Points
    settings: SeriesSettings = field(default_factory=SeriesSettings)
    excluded: Collection[datetime] = ()
    expected: Collection[datetime] = ()


@dataclass(frozen=True)
class SeriesJudgement:
    """What the walk-forward decided for each point, in time order."""

    key: str
    frequency: Frequency
    settings: SeriesSettings
    times: np.ndarray  # datetime64[ns], UTC
    values: np.ndarray
    expected: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    score: np.ndarray
    anomaly: np.ndarray
    period: np.ndarray
    trained: np.ndarray  # the point joined the training of later points

    @property
    def timestamps(self) -> pd.DatetimeIndex:
        """``times`` as a UTC pandas index (loads pandas)."""
        import pandas as pd

        return pd.DatetimeIndex(self.times).tz_localize("UTC")

    def time(self, index: int) -> datetime:
        """The UTC datetime of point ``index`` (negative counts from the end)."""
        return utc_datetime(int(self.times.view(np.int64)[index]))

    def frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(
            {
                "value": self.values,
                "expected": self.expected,
                "lower": self.lower,
                "upper": self.upper,
                "score": self.score,
                "anomaly": self.anomaly,
                "period": self.period,
            },
            index=self.timestamps,
        )


def utc_index(values: pd.Series) -> pd.DatetimeIndex:
    import pandas as pd

    index = pd.DatetimeIndex(values.index).as_unit("ns")
    if index.tz is None:
        return index.tz_localize("UTC")
    return index.tz_convert("UTC")


def infer_metric_kind(values: np.ndarray) -> MetricKind:
    """Shares stay within [0, 1]; non-negative whole numbers are counts; anything else is a level."""
    finite = values[np.isfinite(values)]
    if not finite.size:
        return MetricKind.LEVEL
    if finite.min() >= 0.0 and finite.max() <= 1.0:
        return MetricKind.RATE
    if finite.min() >= 0.0 and np.all(finite == np.round(finite)):
        return MetricKind.COUNT
    return MetricKind.LEVEL


def judge(inputs: Sequence[SeriesInput]) -> list[SeriesJudgement]:
    """Walk every history forward; series of one bucket frequency are computed together."""
    prepared = [_prepare(item) for item in inputs]
    results: list[SeriesJudgement | None] = [None] * len(prepared)
    for frequency in Frequency:
        members = [i for i, p in enumerate(prepared) if p.frequency is frequency]
        if not members:
            continue
        batch = _batch([prepared[i] for i in members], frequency)
        walked = walk_forward(batch)
        for row, i in enumerate(members):
            p = prepared[i]
            pos = p.positions
            results[i] = SeriesJudgement(
                key=p.item.key,
                frequency=frequency,
                settings=p.item.settings,
                times=p.times,
                values=p.values,
                expected=walked.expected[row, pos],
                lower=walked.lower[row, pos],
                upper=walked.upper[row, pos],
                score=walked.score[row, pos],
                anomaly=walked.anomaly[row, pos],
                period=walked.period[row, pos],
                trained=~(walked.anomaly[row, pos] | p.excluded_mask | p.expected_mask),
            )
    return [r for r in results if r is not None]


@dataclass(frozen=True)
class _Prepared:
    item: SeriesInput
    frequency: Frequency
    times: np.ndarray  # datetime64[ns], sorted
    values: np.ndarray  # sorted like times
    positions: np.ndarray
    length: int
    start: int  # ns since the epoch
    excluded_mask: np.ndarray
    expected_mask: np.ndarray


def _prepare(item: SeriesInput) -> _Prepared:
    if isinstance(item.values, Points):
        stamps = utc_nanoseconds(item.values.times)
        raw = np.asarray(item.values.values, dtype=float)
    else:
        stamps = utc_index(item.values).asi8
        raw = item.values.to_numpy(dtype=float)
    order = np.argsort(stamps, kind="stable")
    stamps = stamps[order]
    values = raw[order]
    grid = place_on_grid(stamps.view("M8[ns]"))
    return _Prepared(
        item=item,
        frequency=grid.frequency,
        times=stamps.view("M8[ns]"),
        values=values,
        positions=grid.positions,
        length=grid.length,
        start=grid.start,
        excluded_mask=np.isin(stamps, utc_nanoseconds(instants(item.excluded))),
        expected_mask=np.isin(stamps, utc_nanoseconds(instants(item.expected))),
    )


def _batch(members: list[_Prepared], frequency: Frequency) -> SeriesBatch:
    rows = len(members)
    length = max((m.length for m in members), default=0)
    values = np.full((rows, length), np.nan)
    excluded = np.zeros((rows, length), dtype=bool)
    expected = np.zeros((rows, length), dtype=bool)
    calendar = np.zeros((rows, length), dtype=np.int8)
    quiet = np.zeros((rows, length), dtype=bool)
    log_scale = np.zeros(rows, dtype=bool)
    unit_interval = np.zeros(rows, dtype=bool)
    k = np.zeros(rows)
    min_relative = np.zeros(rows)
    min_absolute = np.zeros(rows)
    allow_drop = np.zeros(rows, dtype=bool)
    allow_spike = np.zeros(rows, dtype=bool)
    calendars: dict[tuple[int, frozenset[date]], tuple[np.ndarray, np.ndarray]] = {}
    for row, member in enumerate(members):
        settings = member.item.settings
        values[row, member.positions] = member.values
        excluded[row, member.positions] = member.excluded_mask
        expected[row, member.positions] = member.expected_mask
        cache_key = (member.start, settings.holidays)
        if cache_key not in calendars:
            times = bucket_times(member.start, length, frequency)
            calendars[cache_key] = (calendar_days(times, settings.holidays), quiet_buckets(times, frequency))
        calendar[row], quiet[row] = calendars[cache_key]
        thresholds = settings.resolved_thresholds()
        log_scale[row] = settings.kind is MetricKind.COUNT
        unit_interval[row] = settings.kind is MetricKind.RATE
        k[row] = thresholds.k
        min_relative[row] = thresholds.min_relative
        min_absolute[row] = thresholds.min_absolute
        allow_drop[row] = settings.direction in (Direction.DROP, Direction.BOTH)
        allow_spike[row] = settings.direction in (Direction.SPIKE, Direction.BOTH)
    if frequency is Frequency.HOURLY:
        # Month boundaries are a daily-grid notion; holidays still apply to every hour of the day.
        calendar = (calendar & CalendarDay.HOLIDAY).astype(np.int8)
    return SeriesBatch(
        values=values,
        log_scale=log_scale,
        unit_interval=unit_interval,
        k=k,
        min_relative=min_relative,
        min_absolute=min_absolute,
        allow_drop=allow_drop,
        allow_spike=allow_spike,
        excluded=excluded,
        expected=expected,
        calendar=calendar,
        quiet=quiet,
        candidates=CANDIDATES[frequency],
        residual_window=RESIDUAL_WINDOW[frequency],
    )
