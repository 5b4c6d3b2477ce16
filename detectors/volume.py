"""Volume: rows per bucket, total-row deltas and rows written per run, judged by the robust model.

Inputs are plain pandas: a Series of row counts indexed by UTC timestamps, one per bucket (daily or
hourly, inferred). ``rows_from_totals`` and ``rows_from_runs`` turn the other two sources into that
shape.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import replace
from datetime import datetime

import pandas as pd

from detectors.explain import anomalies_since, point_finding
from detectors.findings import Finding, FindingKind, format_number
from detectors.grid import Frequency, infer_frequency
from detectors.series import SeriesInput, SeriesJudgement, judge, utc_index
from detectors.settings import MetricKind, SeriesSettings


def judge_volume(
    rows: pd.Series,
    *,
    key: str,
    settings: SeriesSettings | None = None,
    excluded: Collection[pd.Timestamp] = (),
    expected: Collection[pd.Timestamp] = (),
) -> SeriesJudgement:
    """Walk the whole history forward; every point judged from the points before it."""
    settings = replace(settings or SeriesSettings(), kind=MetricKind.COUNT)
    return judge([SeriesInput(key, rows, settings, excluded=excluded, expected=expected)])[0]


def detect_volume(
    rows: pd.Series,
    *,
    key: str,
    since: datetime | None = None,
    settings: SeriesSettings | None = None,
    excluded: Collection[pd.Timestamp] = (),
    expected: Collection[pd.Timestamp] = (),
) -> list[Finding]:
    """Findings for anomalous buckets at or after ``since`` (default: the latest bucket only).

    ``excluded``: buckets confirmed as anomalies; ``expected``: buckets marked expected. Neither is
    ever trained on; expected buckets never alert.
    """
    judgement = judge_volume(rows, key=key, settings=settings, excluded=excluded, expected=expected)
    return [
        point_finding(judgement, index, FindingKind.VOLUME, _rows_sentence(key))
        for index in anomalies_since(judgement, since)
    ]


def detect_volume_batch(
    histories: Mapping[str, pd.Series],
    *,
    since: datetime | None = None,
    settings: SeriesSettings | None = None,
) -> list[Finding]:
    """:func:`detect_volume` for many tables at once (one vectorised walk; much faster per table)."""
    settings = replace(settings or SeriesSettings(), kind=MetricKind.COUNT)
    judgements = judge([SeriesInput(key, rows, settings) for key, rows in histories.items()])
    return [
        point_finding(judgement, index, FindingKind.VOLUME, _rows_sentence(judgement.key))
        for judgement in judgements
        for index in anomalies_since(judgement, since)
    ]


def _rows_sentence(key: str) -> Callable[[float, str], str]:
    return lambda value, when: f"{key} got {format_number(value)} rows on {when}"


def rows_from_totals(totals: pd.Series, frequency: Frequency | None = None) -> pd.Series:
    """Rows added per bucket from snapshots of a table's total row count (last snapshot per bucket).

    The first bucket has no delta and is dropped; a negative delta (rows deleted) is kept.
    """
    index = utc_index(totals)
    series = pd.Series(totals.to_numpy(dtype=float), index=index).sort_index()
    freq = frequency or infer_frequency(index.sort_values())
    last = series.groupby(index.sort_values().floor(freq.pandas_alias)).last()
    return last.diff().iloc[1:]


def rows_from_runs(runs: pd.DataFrame, frequency: Frequency = Frequency.DAILY) -> pd.Series:
    """Rows written per bucket from runs (columns ``end`` and ``rows``, e.g. outputStatistics.rowCount)."""
    ends = pd.DatetimeIndex(pd.to_datetime(runs["end"], utc=True))
    rows = pd.Series(runs["rows"].to_numpy(dtype=float), index=ends)
    return rows.groupby(ends.floor(frequency.pandas_alias)).sum()
