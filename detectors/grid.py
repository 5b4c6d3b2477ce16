"""Put a metric history on its regular bucket grid (daily or hourly) and derive its calendar.

Every series is judged on a regular grid, so "the same weekday last week" is simply seven buckets
back. The grid is inferred per series from the spacing of its timestamps.

Times are numpy ``datetime64[ns]`` arrays of UTC instants (a pandas ``DatetimeIndex``, converted by
``np.asarray(index, dtype="datetime64[ns]")``, is accepted too): the sidecar judges row counts with
this module and numpy alone, without loading pandas.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import IntFlag, StrEnum
from typing import Any

import numpy as np

HOUR_NS = 3_600_000_000_000
DAY_NS = 24 * HOUR_NS
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday (Monday is 0)


class Frequency(StrEnum):
    HOURLY = "hourly"
    DAILY = "daily"

    @property
    def step_ns(self) -> int:
        return HOUR_NS if self is Frequency.HOURLY else DAY_NS

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


def utc_nanoseconds(times: Any) -> np.ndarray:
    """int64 nanoseconds since the epoch of UTC ``times`` (datetime64 array or pandas DatetimeIndex;
    a naive pandas index is read as UTC)."""
    return np.asarray(times, dtype="datetime64[ns]").view(np.int64)


def utc_datetime(nanoseconds: int) -> datetime:
    """The timezone-aware UTC datetime of an instant (to the microsecond)."""
    seconds, rest = divmod(int(nanoseconds), 1_000_000_000)
    return datetime.fromtimestamp(seconds, UTC) + timedelta(microseconds=rest // 1000)


def instants(moments: Iterable[datetime]) -> np.ndarray:
    """datetime64[ns] UTC instants of datetimes (or pandas Timestamps); naive ones are UTC, as pandas
    reads them."""
    return np.array([_nanoseconds(moment) for moment in moments], dtype=np.int64).view("M8[ns]")


def _nanoseconds(moment: datetime) -> int:
    exact = getattr(moment, "value", None)  # a pandas Timestamp: its own nanoseconds since the epoch
    if exact is not None:
        return int(exact)
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return (aware - EPOCH) // timedelta(microseconds=1) * 1000


class DuplicateBucket(ValueError):
    """Two rows of one series fall into the same bucket."""

    def __init__(self, index: int, bucket: datetime) -> None:
        super().__init__(f"two values for the bucket starting {bucket.isoformat()}")
        self.index = index
        self.bucket = bucket


def infer_frequency(timestamps: Any) -> Frequency:
    """Hourly when consecutive points are typically less than half a day apart, daily otherwise."""
    if len(timestamps) < 2:
        return Frequency.DAILY
    gaps = np.diff(utc_nanoseconds(timestamps))
    return Frequency.HOURLY if float(np.median(gaps)) < 12 * 3600 * 1e9 else Frequency.DAILY


@dataclass(frozen=True)
class Grid:
    """Where each point of a series sits on its bucket grid."""

    frequency: Frequency
    start: int  # nanoseconds since the epoch (UTC) of the first bucket
    positions: np.ndarray  # int64, one per input point, in input order
    length: int


def place_on_grid(timestamps: Any, frequency: Frequency | None = None) -> Grid:
    """Floor each timestamp to its bucket; raise :class:`DuplicateBucket` when two share one."""
    stamps = utc_nanoseconds(timestamps)
    freq = frequency or infer_frequency(stamps.view("M8[ns]"))
    step = freq.step_ns
    buckets = stamps - stamps % step  # UTC buckets start on multiples of the step since the epoch
    start = int(buckets.min())
    positions = ((buckets - start) // step).astype(np.int64)
    order = np.argsort(positions, kind="stable")
    sorted_positions = positions[order]
    clashes = np.flatnonzero(sorted_positions[1:] == sorted_positions[:-1])
    if clashes.size:
        index = int(order[clashes[0] + 1])
        raise DuplicateBucket(index, utc_datetime(int(buckets[index])))
    length = int(sorted_positions[-1]) + 1 if len(positions) else 0
    return Grid(frequency=freq, start=start, positions=positions, length=length)


def bucket_times(start: int, length: int, frequency: Frequency) -> np.ndarray:
    """The ``length`` consecutive buckets from ``start`` (ns since the epoch), as datetime64[ns]."""
    return (start + np.arange(length, dtype=np.int64) * frequency.step_ns).view("M8[ns]")


def last_per_bucket(times: Any, values: np.ndarray, frequency: Frequency) -> tuple[np.ndarray, np.ndarray]:
    """Bucket starts (ascending, datetime64[ns]) and the last non-missing value of each, as pandas'
    ``groupby(floor).last()`` gives them (a bucket of missing values only keeps NaN)."""
    stamps = utc_nanoseconds(times)
    buckets = stamps - stamps % frequency.step_ns
    order = np.argsort(buckets, kind="stable")
    buckets, ordered = buckets[order], np.asarray(values, dtype=float)[order]
    starts = np.unique(buckets)
    present = ~np.isnan(ordered)
    kept_buckets, kept_values = buckets[present], ordered[present]
    is_last = np.r_[kept_buckets[1:] != kept_buckets[:-1], True][: len(kept_buckets)]
    last = np.full(len(starts), np.nan)
    last[np.searchsorted(starts, kept_buckets[is_last])] = kept_values[is_last]
    return starts.view("M8[ns]"), last


def calendar_days(times: np.ndarray, holidays: Collection[date] = ()) -> np.ndarray:
    """:class:`CalendarDay` flags per bucket (``times`` in UTC)."""
    days = np.zeros(len(times), dtype=np.int8)
    dates = np.asarray(times, dtype="datetime64[ns]").astype("datetime64[D]")
    months = dates.astype("datetime64[M]")
    days[dates == months.astype("datetime64[D]")] |= CalendarDay.MONTH_START
    days[(dates + 1).astype("datetime64[M]") != months] |= CalendarDay.MONTH_END
    if holidays:
        wanted = np.array(sorted(holidays), dtype="datetime64[D]")
        days[np.isin(dates, wanted)] |= CalendarDay.HOLIDAY
    return days


def weekdays(times: np.ndarray) -> np.ndarray:
    """Day of the week of UTC ``times`` (Monday 0 … Sunday 6)."""
    dates = np.asarray(times, dtype="datetime64[ns]").astype("datetime64[D]").view(np.int64)
    return (dates + EPOCH_WEEKDAY) % 7


def quiet_buckets(times: np.ndarray, frequency: Frequency) -> np.ndarray:
    """Buckets that commonly carry less data before a table's own rhythm is known.

    Weekends on a daily grid (many tables load on weekdays only); every hour on an hourly grid
    (night hours are quiet and an hourly rhythm takes two days to see).
    """
    if frequency is Frequency.HOURLY:
        return np.ones(len(times), dtype=bool)
    return weekdays(times) >= 5
