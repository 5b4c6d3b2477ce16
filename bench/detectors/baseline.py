"""An Elementary-equivalent baseline (dbt-data-reliability 0.25 defaults; reference section 2).

* Volume and metrics: z = (x - mean) / sample stddev over the last 14 buckets *including the tested
  one*; no score below 2 points, z = 0 when the stddev is 0; alert when |z| > 3. Expected range
  mean +- 3 stddev, clipped at 0 for row counts. No seasonality (Elementary's default).
* Freshness (``freshness_anomalies``): per daily bucket, the larger of the longest gap between
  updates that starts in the bucket and the time from the last update to min(bucket end, now);
  z over the last 14 daily buckets including the current one; spike-only; alert when z > 3.

Both produce exactly the backtest CLI's output rows, so one scorer reads both.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd

WINDOW = 14
THRESHOLD = 3.0
DAY_NS = 86_400 * 10**9


def series_baseline(frame: pd.DataFrame, clip_at_zero: bool) -> pd.DataFrame:
    """``series,timestamp,value`` rows -> the backtest's point rows, judged Elementary's way."""
    frame = frame.sort_values(["series", "timestamp"], kind="stable").reset_index(drop=True)
    grouped = frame.groupby("series", sort=False)["value"]
    mean = grouped.transform(lambda v: v.rolling(WINDOW, min_periods=2).mean())
    std = grouped.transform(lambda v: v.rolling(WINDOW, min_periods=2).std(ddof=1))
    values = frame["value"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(std.to_numpy() > 0, (values - mean.to_numpy()) / std.to_numpy(), 0.0)
    z = np.where(mean.isna().to_numpy(), np.nan, z)
    lower = mean - THRESHOLD * std
    if clip_at_zero:
        lower = lower.clip(lower=0)
    return pd.DataFrame(
        {
            "series": frame["series"],
            "timestamp": frame["timestamp"],
            "value": values,
            "expected": mean,
            "lower": lower,
            "upper": mean + THRESHOLD * std,
            "score": np.abs(z),
            "anomaly": np.nan_to_num(np.abs(z), nan=0.0) > THRESHOLD,
        }
    )


def freshness_baseline(frame: pd.DataFrame, until: datetime, check_every: timedelta) -> pd.DataFrame:
    """``series,timestamp`` update rows -> one row per check where Elementary would alert."""
    step = int(pd.Timedelta(check_every).value)
    end = pd.Timestamp(until).value
    parts = []
    for name, rows in frame.groupby("series", sort=False):
        updates = np.unique(pd.DatetimeIndex(rows["timestamp"]).as_unit("ns").asi8)
        checks = np.arange(updates[0], end + 1, step, dtype=np.int64)
        flagged, last = _freshness_alerts(updates, checks)
        if flagged.any():
            parts.append(
                pd.DataFrame(
                    {
                        "series": name,
                        "checked_at": pd.to_datetime(checks[flagged], utc=True),
                        "last_update": pd.to_datetime(last[flagged], utc=True),
                        "expected_by": pd.NaT,
                        "anomaly": True,
                    }
                )
            )
    if not parts:
        return pd.DataFrame(columns=["series", "checked_at", "last_update", "expected_by", "anomaly"])
    return pd.concat(parts, ignore_index=True)


def _freshness_alerts(updates: np.ndarray, checks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    first_day = int(updates[0] // DAY_NS)
    days = updates // DAY_NS - first_day
    n_days = int((checks[-1] // DAY_NS) - first_day) + 1
    gaps = np.diff(updates)
    # Full value of each past day: longest gap starting in it, or staleness at its end.
    full = np.full(n_days, -np.inf)
    np.maximum.at(full, days[:-1], gaps.astype(float))
    day_end = (np.arange(n_days) + first_day + 1) * DAY_NS
    last_before_end = np.searchsorted(updates, day_end, side="left") - 1
    stale = np.where(last_before_end >= 0, day_end - updates[np.maximum(last_before_end, 0)], np.nan)
    full = np.fmax(full, stale)
    full[np.isinf(full)] = np.nan
    # Longest gap closed so far within the day of update k (before the open gap that starts at k).
    within = pd.Series(np.r_[np.nan, gaps.astype(float)]).where(np.r_[False, days[1:] == days[:-1]])
    running = within.groupby(days).cummax().to_numpy()

    k = np.searchsorted(updates, checks, side="right") - 1
    last = updates[k]
    last_day = days[k]
    check_day = checks // DAY_NS - first_day
    offsets = np.arange(-(WINDOW - 1), 1)
    j = check_day[:, None] + offsets[None, :]
    valid = j >= 0
    jj = np.clip(j, 0, n_days - 1)
    end_j = (jj + first_day + 1) * DAY_NS
    open_since = (end_j - last[:, None]).astype(float)
    values = np.where(jj < last_day[:, None], full[jj], open_since)
    own_day = jj == last_day[:, None]
    values = np.where(own_day, np.fmax(running[k][:, None], open_since), values)
    current = (checks - last).astype(float)
    values[:, -1] = np.where(check_day == last_day, np.fmax(running[k], current), current)
    values = np.where(valid, values, np.nan)
    count = np.sum(~np.isnan(values), axis=1)
    mean = np.nanmean(values, axis=1)
    std = np.sqrt(np.nansum((values - mean[:, None]) ** 2, axis=1) / np.maximum(count - 1, 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where((std > 0) & (count >= 2), (values[:, -1] - mean) / std, 0.0)
    return z > THRESHOLD, last
