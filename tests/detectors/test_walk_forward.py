"""The backtest replays exactly what the live detectors would have said at each moment."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from detectors.backtest import backtest_freshness
from detectors.freshness import freshness_status
from detectors.settings import FreshnessSettings
from detectors.volume import judge_volume
from tests.detectors.helpers import weekly_rows


def test_each_point_is_judged_only_from_earlier_points():
    rows = weekly_rows(70, seed=9)
    rows.iloc[40] = 0
    rows.iloc[55] *= 3
    whole = judge_volume(rows, key="orders")
    for end in (20, 40, 41, 55, 69):
        live = judge_volume(rows.iloc[: end + 1], key="orders")
        assert live.anomaly[-1] == whole.anomaly[end]
        np.testing.assert_allclose(live.expected[-1], whole.expected[end])
        np.testing.assert_allclose(live.upper[-1], whole.upper[end])


def _daily_with_incidents() -> pd.DatetimeIndex:
    rng = np.random.default_rng(4)
    slots = pd.date_range("2026-01-01 03:00", periods=45, freq="D", tz="UTC")
    updates = slots + pd.to_timedelta(np.round(rng.lognormal(np.log(900), 0.5, len(slots))), unit="s")
    updates = updates.delete([30, 31, 40])  # two skipped days, then one more
    return updates.insert(20, updates[19] + pd.Timedelta(hours=9))  # an extra update


def _hourly_with_incidents() -> pd.DatetimeIndex:
    rng = np.random.default_rng(5)
    slots = pd.date_range("2026-01-01 00:00", periods=24 * 12, freq="h", tz="UTC")
    updates = slots + pd.to_timedelta(np.round(rng.lognormal(np.log(300), 0.4, len(slots))), unit="s")
    return updates.delete([*range(150, 156), 200, 201, 260])  # a six-hour outage, then skipped hours


@pytest.mark.parametrize(
    ("updates", "step"),
    [(_daily_with_incidents(), timedelta(hours=1)), (_hourly_with_incidents(), timedelta(minutes=20))],
    ids=["daily", "hourly"],
)
def test_the_freshness_backtest_matches_asking_the_live_check_at_every_check_time(
    updates: pd.DatetimeIndex, step: timedelta
):
    frame = pd.DataFrame({"series": "orders", "timestamp": updates})
    until = updates[-1].floor("D") + pd.Timedelta(days=2)
    result = backtest_freshness(frame, until.to_pydatetime(), step, FreshnessSettings())
    flagged = set(pd.DatetimeIndex(result["checked_at"]))
    moments = [u.to_pydatetime() for u in updates]
    checks = pd.date_range(updates[0], until, freq=step)
    live = {c for c in checks if freshness_status(moments, c.to_pydatetime()).overdue}
    assert flagged == live
    assert len(live) > 10
