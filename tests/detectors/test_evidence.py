"""Evidence the volume model gathers beyond one bucket's band: runs of near misses, early weekends."""

from __future__ import annotations

import numpy as np
import pandas as pd

from detectors.metric import judge_metric
from detectors.settings import MetricKind
from detectors.volume import detect_volume, judge_volume
from tests.detectors.helpers import daily, weekly_rows

NOISY = 0.08  # day-to-day noise of the table (lognormal CV)


def _just_inside(history, at: int) -> float:
    """A value below the expected one by 90 % of the band: no alert by itself."""
    judged = judge_volume(history, key="orders")
    expected, lower = judged.expected[at], judged.lower[at]
    assert not judged.anomaly[at] and lower > 0
    return float(np.expm1(np.log1p(expected) - 0.9 * (np.log1p(expected) - np.log1p(lower))))


def test_two_low_days_in_a_row_alert_where_either_alone_does_not():
    history = weekly_rows(90, level=50_000, cv=NOISY, seed=3)
    first, second = 80, 81  # a Thursday and a Friday
    low = history.copy()
    low.iloc[first] = _just_inside(history, first)
    alone = judge_volume(low, key="orders")
    assert not alone.anomaly[first]
    low.iloc[second] = _just_inside(low, second)
    both = judge_volume(low, key="orders")
    assert not both.anomaly[first]
    assert both.anomaly[second]
    assert not judge_volume(history, key="orders").anomaly[70:].any()


def test_a_low_day_followed_by_a_high_day_does_not_alert():
    history = weekly_rows(90, level=50_000, cv=NOISY, seed=3)
    low = history.copy()
    low.iloc[80] = _just_inside(history, 80)
    judged = judge_volume(low, key="orders")
    expected, upper = judged.expected[81], judged.upper[81]
    low.iloc[81] = float(np.expm1(np.log1p(expected) + 0.9 * (np.log1p(upper) - np.log1p(expected))))
    assert not judge_volume(low, key="orders").anomaly[80:83].any()


def test_an_empty_weekend_day_alerts_once_a_few_weekends_were_seen():
    profile = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5])
    history = weekly_rows(24, level=10_000, cv=0.03, seed=2, profile=profile)
    saturday = 19  # weekends seen before: days 5, 6, 12 and 13
    empty = history.copy()
    empty.iloc[saturday] = 0.0
    judged = judge_volume(empty, key="orders")
    assert judged.anomaly[saturday]
    assert not judge_volume(history, key="orders").anomaly.any()


def test_a_weekday_only_table_stays_quiet_on_its_early_weekends():
    profile = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0])
    history = weekly_rows(24, level=10_000, cv=0.03, seed=2, profile=profile)
    assert not judge_volume(daily(history.to_numpy()), key="orders").anomaly.any()


def test_the_finding_of_a_second_low_day_says_it_is_the_second_in_a_row():
    history = weekly_rows(90, level=50_000, cv=NOISY, seed=3)
    low = history.copy()
    low.iloc[80] = _just_inside(history, 80)
    low.iloc[81] = _just_inside(low, 81)
    findings = detect_volume(low, key="orders", since=low.index[75].to_pydatetime())
    assert [f.timestamp for f in findings] == [low.index[81].to_pydatetime()]
    finding = findings[0]
    assert finding.direction == "drop"
    assert finding.lower <= finding.observed < finding.expected
    assert "the second day in a row well below what was expected" in finding.explanation
    assert "for one day alone" in finding.explanation


def test_column_rates_do_not_use_the_two_in_a_row_rule():
    rng = np.random.default_rng(4)
    index = pd.date_range("2026-01-05", periods=90, freq="D", tz="UTC")
    history = pd.Series(rng.binomial(2_000, 0.05, 90) / 2_000, index=index)
    high = history.copy()
    for at in (80, 81):
        judged = judge_metric(high, key="orders.email", kind=MetricKind.RATE)
        assert not judged.anomaly[at]
        high.iloc[at] = judged.expected[at] + 0.9 * (judged.upper[at] - judged.expected[at])
    assert not judge_metric(high, key="orders.email", kind=MetricKind.RATE).anomaly[80:].any()
