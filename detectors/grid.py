"""Put a metric history on its regular bucket grid (daily or hourly) and derive its calendar.

Every series is judged on a regular grid, so "the same weekday last week" is simply seven buckets
back. The grid is inferred per series from the spacing of its timestamps.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from enum import IntFlag, StrEnum

import numpy as np
import pandas as pd


class Frequency(StrEnum):
    HOURLY = "hourly"
    DAILY = "daily"

    @property
    def offset(self) -> pd.Timedelta:
        return pd.Timedelta(hours=1) if self is Frequency.HOURLY else pd.Timedelta(days=1)

    @property
    def pandas_alias(self) -> str:
        return "h" if self is Frequency.HOURLY else "D"


class CalendarDay(IntFlag):
    """Days whose behaviour is learned apart from the ordinary weekly rhythm (a day can be several)."""

    ORDINARY = 0
    MONTH_END = 1
    MONTH_START = 2
    HOLIDAY = 4


CALENDAR_KINDS = (CalendarDay.MONTH_END, CalendarDay.MONTH_START, CalendarDay.HOLIDAY)


class DuplicateBucket(ValueError):
    """Two rows of one series fall into the same bucket."""

    def __init__(self, index: int, bucket: pd.Timestamp) -> None:
        super().__init__(f"two values for the bucket starting {bucket.isoformat()}")
        self.index = index
        self.bucket = bucket


def infer_frequency(timestamps: pd.DatetimeIndex) -> Frequency:
    """Hourly when consecutive points are typically less than half a day apart, daily otherwise."""
    if len(timestamps) < 2:
        return Frequency.DAILY
    gaps = np.diff(timestamps.as_unit("ns").asi8)
    return Frequency.HOURLY if float(np.median(gaps)) < 12 * 3600 * 1e9 else Frequency.DAILY


@dataclass(frozen=True)
class Grid:
    """Where each point of a series sits on its bucket grid."""

    frequency: Frequency
    start: pd.Timestamp
    positions: np.ndarray  # int64, one per input point, in input order
    length: int


def place_on_grid(timestamps: pd.DatetimeIndex, frequency: Frequency | None = None) -> Grid:
    """Floor each timestamp to its bucket; raise :class:`DuplicateBucket` when two share one."""
    timestamps = timestamps.as_unit("ns")
    freq = frequency or infer_frequency(timestamps)
    step = freq.offset.value
    stamps = timestamps.asi8
    buckets = stamps - stamps % step  # UTC buckets start on multiples of the step since the epoch
    start = pd.Timestamp(int(buckets.min()), tz="UTC")
    positions = ((buckets - start.value) // step).astype(np.int64)
    order = np.argsort(positions, kind="stable")
    sorted_positions = positions[order]
    clashes = np.flatnonzero(sorted_positions[1:] == sorted_positions[:-1])
    if clashes.size:
        index = int(order[clashes[0] + 1])
        raise DuplicateBucket(index, pd.Timestamp(int(buckets[index]), tz="UTC"))
    length = int(sorted_positions[-1]) + 1 if len(positions) else 0
    return Grid(frequency=freq, start=start, positions=positions, length=length)


def calendar_days(times: pd.DatetimeIndex, holidays: Collection[date] = ()) -> np.ndarray:
    """:class:`CalendarDay` flags per bucket."""
    days = np.zeros(len(times), dtype=np.int8)
    day = times.day.to_numpy()
    days[day == 1] |= CalendarDay.MONTH_START
    days[day == times.days_in_month.to_numpy()] |= CalendarDay.MONTH_END
    if holidays:
        wanted = np.array(sorted(holidays), dtype="datetime64[D]")
        dates = times.tz_convert("UTC").tz_localize(None).to_numpy().astype("datetime64[D]")
        days[np.isin(dates, wanted)] |= CalendarDay.HOLIDAY
    return days


def quiet_buckets(times: pd.DatetimeIndex, frequency: Frequency) -> np.ndarray:
    """Buckets that commonly carry less data before a table's own rhythm is known.

    Weekends on a daily grid (many tables load on weekdays only); every hour on an hourly grid
    (night hours are quiet and an hourly rhythm takes two days to see).
    """
    if frequency is Frequency.HOURLY:
        return np.ones(len(times), dtype=bool)
    return np.asarray(times.day_of_week >= 5)
