"""Column metrics over time (null rate, distinct ratio, mean, stddev, quantiles, category shares,
event lag) through the same robust model as volume.

Rates in [0, 1] are judged in percentage points; counts on a log scale; other levels relative to
their own size. Event freshness is the lag between load time and the newest event time, judged as a
level that may only grow too much.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from datetime import datetime

import pandas as pd

from detectors.explain import anomalies_since, point_finding, rate_or_number
from detectors.findings import Finding, FindingKind, format_duration
from detectors.series import SeriesInput, SeriesJudgement, infer_metric_kind, judge
from detectors.settings import Direction, MetricKind, SeriesSettings


def judge_metric(
    values: pd.Series,
    *,
    key: str,
    kind: MetricKind | None = None,
    settings: SeriesSettings | None = None,
    excluded: Collection[pd.Timestamp] = (),
    expected: Collection[pd.Timestamp] = (),
) -> SeriesJudgement:
    """Walk a metric's history forward; ``kind`` is inferred from the values when not given."""
    chosen = kind or infer_metric_kind(values.to_numpy(dtype=float))
    settings = replace(settings or SeriesSettings(), kind=chosen)
    return judge([SeriesInput(key, values, settings, excluded=excluded, expected=expected)])[0]


def detect_metric(
    values: pd.Series,
    *,
    key: str,
    metric: str,
    kind: MetricKind | None = None,
    since: datetime | None = None,
    settings: SeriesSettings | None = None,
    excluded: Collection[pd.Timestamp] = (),
    expected: Collection[pd.Timestamp] = (),
) -> list[Finding]:
    """Findings for anomalous buckets of one column metric at or after ``since`` (default: latest).

    ``key`` names the column (``orders.email``), ``metric`` the measure (``null rate``).
    """
    judgement = judge_metric(
        values, key=key, kind=kind, settings=settings, excluded=excluded, expected=expected
    )
    fmt = rate_or_number(judgement.settings.kind)
    return [
        point_finding(
            judgement,
            index,
            FindingKind.METRIC,
            lambda value, when: f"the {metric} of {key} was {fmt(value)} on {when}",
        )
        for index in anomalies_since(judgement, since)
    ]


def detect_event_freshness(
    lag_seconds: pd.Series,
    *,
    key: str,
    since: datetime | None = None,
    settings: SeriesSettings | None = None,
) -> list[Finding]:
    """Findings when the lag of the newest event time (seconds, per bucket) grows out of its range."""
    settings = replace(settings or SeriesSettings(), kind=MetricKind.LEVEL, direction=Direction.SPIKE)
    judgement = judge([SeriesInput(key, lag_seconds, settings)])[0]
    return [
        point_finding(
            judgement,
            index,
            FindingKind.EVENT_FRESHNESS,
            lambda value, when: (
                f"the newest event in {key} was {format_duration(pd.Timedelta(seconds=value).to_pytimedelta())} "
                f"old on {when}"
            ),
        )
        for index in anomalies_since(judgement, since)
    ]
