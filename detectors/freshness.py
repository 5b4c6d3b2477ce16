"""Freshness: learn when a table is updated, predict when the next update is due, flag it when late.

The rhythm is learned from the table's own history of updates (COMPLETE runs writing it, warehouse
last-modified observations):

* **period** — the typical gap, snapped to a schedule people use (5 min ... 12 h, daily);
* **phase and lateness** — where in the period updates land, and how late they run (robust
  quantiles, so a heavy-tailed load delay widens the tolerance instead of causing alerts);
* **active slots** — which slots of the week normally get an update (weekdays only, office hours);
* **irregular** tables, whose updates do not cluster on a phase, are judged on the gaps between
  updates instead.

The next update is due at the first active slot after the last update, plus the tolerated lateness.
An explicit SLA (``max_age``, or a cron ``expected_by``) replaces the learned rhythm. Everything is
in integer nanoseconds since the epoch internally; the public functions take datetimes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import numpy as np
from croniter import croniter

from detectors.findings import Finding, FindingKind, Severity, format_duration
from detectors.settings import FreshnessSettings, Sensitivity

NS = 1_000_000_000
MINUTE = 60 * NS
HOUR = 60 * MINUTE
DAY = 24 * HOUR
WEEK = 7 * DAY
PERIODS = tuple(m * MINUTE for m in (5, 10, 15, 20, 30, 60, 120, 180, 240, 360, 480, 720, 1440))
LEARNING_SPAN = 5 * WEEK  # how far back the rhythm is learned from
MAX_UPDATES = 600  # and at most this many updates
ACTIVE_SHARE = 0.5  # a slot of the week is "active" when it got an update in half the weeks seen
_ASSUMED_WEEK = np.array([(day + 3) % 7 < 5 for day in range(7)])  # epoch-aligned: day 0 was a Thursday

# How late an update may land: past the latest ordinary update seen (ignoring the latest ``skip``
# share, which may be incidents), extrapolated by ``tail`` times how far that latest one sat from the
# typical lateness, and never less than ``share`` of the period. Updates are frequent, so the
# tolerance must sit beyond almost all of them: an hourly table has 720 chances a month to be late.
_TOLERANCE = {  # (skip, tail, share)
    Sensitivity.HIGH: (0.005, 0.5, 0.15),
    Sensitivity.MEDIUM: (0.0, 1.0, 0.25),
    Sensitivity.LOW: (0.0, 1.5, 0.4),
}
# Irregular tables: due when a gap this long would be expected this often per month or less, were
# updates memoryless with the mean gap seen; and never before 1.5x the longest gap seen.
_IRREGULAR_RATE = {Sensitivity.HIGH: 0.2, Sensitivity.MEDIUM: 0.05, Sensitivity.LOW: 0.01}
MONTH = 30 * DAY


class Rhythm(StrEnum):
    SCHEDULED = "scheduled"  # updates land on a phase of a fixed period
    IRREGULAR = "irregular"  # judged on the gaps between updates
    SLA = "sla"  # an explicit expectation, nothing learned


@dataclass(frozen=True)
class FreshnessModel:
    """A learned (or declared) update rhythm."""

    rhythm: Rhythm
    period: int = 0  # ns
    phase: int = 0  # ns after each period boundary (epoch-aligned) where updates typically land
    typical_lateness: int = 0  # ns: the median lateness relative to ``phase``
    tolerance: int = 0  # ns after the slot's start by which the update must have landed
    active: np.ndarray | None = None  # bool per slot of the week (None: every slot)
    max_gap: int = 0  # ns, irregular tables: the longest acceptable gap

    def describe(self) -> str:
        if self.rhythm is Rhythm.IRREGULAR:
            return f"irregularly, with gaps up to about {format_duration(timedelta(microseconds=self.max_gap / 1000))}"
        if self.rhythm is Rhythm.SLA:
            return "on its SLA"
        typical = _clock_time(self.phase + self.typical_lateness)
        if self.period >= DAY:
            weekdays = _weekdays(self)
            days = ""
            if weekdays is not None:
                days = " on weekdays only" if weekdays == [True] * 5 + [False] * 2 else " on some days only"
            return f"daily at about {typical} UTC{days}"
        if self.period == HOUR:
            return "hourly"
        every = format_duration(timedelta(microseconds=self.period / 1000))
        return f"every {every}"


def _clock_time(ns: int) -> str:
    minutes = (ns % DAY) // MINUTE
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def learning_cutoff(now: int) -> int:
    """The rhythm is learned from updates before the start of the current UTC day (ns)."""
    return now - now % DAY


_PERIODS = np.array(PERIODS, dtype=np.int64)
_PERIOD_MIDPOINTS = np.sqrt(_PERIODS[:-1].astype(float) * _PERIODS[1:])  # snap to the nearest (log scale)
_QUANTUM = 2.0**32  # angles are added up as integers of this resolution: exact in any order
_NONE, _SCHEDULED, _IRREGULAR, _SLA = 0, 1, 2, 3
_CODES = {_SCHEDULED: Rhythm.SCHEDULED, _IRREGULAR: Rhythm.IRREGULAR, _SLA: Rhythm.SLA}


@dataclass(frozen=True)
class Rhythms:
    """The rhythms one table had at several learning cutoffs: one entry per cutoff.

    ``code``: 0 too few updates, 1 scheduled, 2 irregular, 3 SLA; the other arrays are the
    :class:`FreshnessModel` fields (ns). ``weeks[period]``: the active slots of the week of each
    cutoff whose rhythm has that period (a row with none has no weekly pattern yet).
    """

    code: np.ndarray
    period: np.ndarray
    phase: np.ndarray
    typical_lateness: np.ndarray
    tolerance: np.ndarray
    max_gap: np.ndarray
    weeks: dict[int, np.ndarray]

    def model(self, row: int) -> FreshnessModel | None:
        code = int(self.code[row])
        if code == _NONE:
            return None
        period = int(self.period[row])
        active = self.weeks[period][row] if period in self.weeks else None
        return FreshnessModel(
            rhythm=_CODES[code],
            period=period,
            phase=int(self.phase[row]),
            typical_lateness=int(self.typical_lateness[row]),
            tolerance=int(self.tolerance[row]),
            active=active if active is not None and active.any() else None,
            max_gap=int(self.max_gap[row]),
        )

    def due(
        self, rows: np.ndarray, last: np.ndarray, settings: FreshnessSettings
    ) -> tuple[np.ndarray, np.ndarray]:
        """When the next update must have landed (ns) after ``last[i]``, under the rhythm of
        ``rows[i]``; and whether there is a deadline at all (a rhythm was learned)."""
        code = self.code[rows]
        due = np.zeros(len(rows), dtype=np.int64)
        irregular = code == _IRREGULAR
        due[irregular] = last[irregular] + self.max_gap[rows[irregular]]
        for i in np.flatnonzero(code == _SLA).tolist():
            due[i] = _sla_due(int(last[i]), settings)
        scheduled = np.flatnonzero(code == _SCHEDULED)
        periods = self.period[rows[scheduled]]
        for period in np.unique(periods).tolist():
            members = scheduled[periods == period]
            models, position = np.unique(rows[members], return_inverse=True)
            active = self.weeks[period][models]
            unknown = ~active.any(axis=1)
            # Until a week is learned, a daily table is not expected on weekends.
            active[unknown] = _ASSUMED_WEEK if period == DAY else True
            phase = self.phase[rows[members]]
            slot = (last[members] - phase + period // 2) // period
            step = _steps_to_active(active)[position, slot % active.shape[1]]
            due[members] = phase + (slot + step) * period + self.tolerance[rows[members]]
        return due, code != _NONE


def _steps_to_active(active: np.ndarray) -> np.ndarray:
    """Per row and slot of the week, how many slots ahead the next active slot is (1 when none is)."""
    size = active.shape[1]
    twice = np.concatenate([active, active], axis=1)
    positions = np.where(twice, np.arange(2 * size), 2 * size)
    following = np.minimum.accumulate(positions[:, ::-1], axis=1)[:, ::-1]  # next active at or after
    steps = following[:, 1 : size + 1] - np.arange(size)
    return np.where(steps > size, 1, steps)


def learn_rhythms(updates: np.ndarray, cutoffs: np.ndarray, settings: FreshnessSettings) -> Rhythms:
    """The rhythm learned from the updates before each cutoff, for many cutoffs at once.

    ``updates``: sorted, distinct update times (int64 ns). For each cutoff the learning window is the
    last ``MAX_UPDATES`` updates before it that lie within ``LEARNING_SPAN`` of the newest one (at
    least ``min_updates`` of them). All windows are learned together, row by row of one array, so a
    backtest learns a year of daily rhythms in a few array operations instead of one call per day;
    a live check asks for one cutoff and gets exactly the same answer.
    """
    rows = len(cutoffs)
    code = np.full(rows, _NONE, dtype=np.int64)
    rhythms = Rhythms(
        code=code,
        period=np.zeros(rows, dtype=np.int64),
        phase=np.zeros(rows, dtype=np.int64),
        typical_lateness=np.zeros(rows, dtype=np.int64),
        tolerance=np.zeros(rows, dtype=np.int64),
        max_gap=np.zeros(rows, dtype=np.int64),
        weeks={},
    )
    if settings.sla.max_age is not None or settings.sla.expected_by is not None:
        code[:] = _SLA
        return rhythms
    end = np.searchsorted(updates, cutoffs, side="left")  # the window is updates[start:end]
    newest = updates[np.maximum(end - 1, 0)] if updates.size else np.zeros(rows, dtype=np.int64)
    start = np.maximum(end - MAX_UPDATES, np.searchsorted(updates, newest - LEARNING_SPAN, side="left"))
    start = np.where(end - start < settings.min_updates, np.maximum(end - settings.min_updates, 0), start)
    learned = np.flatnonzero((end >= settings.min_updates) & (end - start >= 2))
    if not learned.size:
        return rhythms
    count = (end - start)[learned]
    width = int(count.max())
    valid = np.arange(width) < count[:, None]
    window = updates[np.minimum(start[learned, None] + np.arange(width), end[learned, None] - 1)]
    gaps = np.sort(np.where(valid[:, 1:], np.diff(window, axis=1), np.iinfo(np.int64).max), axis=1)
    gap_count = count - 1
    typical_gap = _pick(gaps, 0.5, gap_count).astype(float)
    period = _PERIODS[np.searchsorted(_PERIOD_MIDPOINTS, typical_gap, side="left")]
    span = window[np.arange(len(learned)), count - 1] - window[:, 0]
    # Irregular tables: for memoryless updates, P(gap > g) = exp(-g / mean); due when a gap this
    # long is rare, and never before 1.5x the longest gap seen.
    mean = span / gap_count * (1.0 + 2.0 / np.sqrt(gap_count))  # a cautious mean for short histories
    memoryless = mean * np.log(np.maximum(MONTH / mean / _IRREGULAR_RATE[settings.sensitivity], 2.0))
    longest = gaps[np.arange(len(learned)), gap_count - 1]
    max_gap = np.maximum(memoryless, 1.5 * longest).astype(np.int64)
    irregular = (typical_gap > 1.5 * DAY) | (period < 15 * MINUTE)
    for value in np.unique(period[~irregular]).tolist():
        group = np.flatnonzero(~irregular & (period == value))
        scheduled = _learn_schedule(
            updates, start[learned[group]], window[group], valid[group], count[group], value, settings
        )
        irregular[group[~scheduled.ok]] = True
        rows_of = learned[group[scheduled.ok]]
        rhythms.period[rows_of] = value
        rhythms.phase[rows_of] = scheduled.phase[scheduled.ok]
        rhythms.typical_lateness[rows_of] = scheduled.typical_lateness[scheduled.ok]
        rhythms.tolerance[rows_of] = scheduled.tolerance[scheduled.ok]
        code[rows_of] = _SCHEDULED
        weeks = np.zeros((rows, WEEK // value), dtype=bool)
        weeks[rows_of] = _active_slots(window[group], valid[group], span[group], value, scheduled.phase)[
            scheduled.ok
        ]
        rhythms.weeks[value] = weeks
    code[learned[irregular]] = _IRREGULAR
    rhythms.max_gap[learned[irregular]] = max_gap[irregular]
    return rhythms


@dataclass(frozen=True)
class _Schedules:
    ok: np.ndarray  # the updates cluster on a phase (otherwise the table is irregular)
    phase: np.ndarray
    typical_lateness: np.ndarray
    tolerance: np.ndarray


def _learn_schedule(
    updates: np.ndarray,
    start: np.ndarray,
    window: np.ndarray,
    valid: np.ndarray,
    count: np.ndarray,
    period: int,
    settings: FreshnessSettings,
) -> _Schedules:
    """Phase and lateness of windows (rows, from ``updates[start]`` on) whose typical gap is ``period``."""
    # The circular mean of the offsets within the period, from running sums of each update's angle.
    # The sums are integers, so a window's sum does not depend on how it was added up.
    first, stop = int(start.min()), int((start + count).max())
    angles = updates[first:stop] % period * (2 * np.pi / period)
    sin = np.r_[0, np.cumsum(np.rint(np.sin(angles) * _QUANTUM).astype(np.int64))]
    cos = np.r_[0, np.cumsum(np.rint(np.cos(angles) * _QUANTUM).astype(np.int64))]
    low, high = start - first, start - first + count
    turn = np.arctan2((sin[high] - sin[low]).astype(float), (cos[high] - cos[low]).astype(float)) / (
        2 * np.pi
    )
    center = (turn % 1.0 * period).astype(np.int64)
    half = period // 2
    big = np.iinfo(np.int64).max
    lateness = np.sort(
        np.where(valid, (window % period - center[:, None] + half) % period - half, big), axis=1
    )
    median = _pick(lateness, 0.5, count).astype(float)
    deviation = np.sort(np.where(valid, np.abs(lateness - median[:, None]), np.inf), axis=1)
    ok = _pick(deviation, 0.75, count) <= period / 6
    skip, tail, share = _TOLERANCE[settings.sensitivity]
    spread = 1.4826 * _pick(deviation, 0.5, count)
    early = np.maximum(_pick(lateness, 0.02, count).astype(float), median - 3 * spread)
    phase = (center + early).astype(np.int64) % period  # slots start where the earliest ordinary updates land
    latest = lateness[np.arange(len(count)), count - 1 - (skip * count).astype(np.int64)].astype(float)
    tolerance = np.maximum(latest - early + np.maximum(share * period, tail * (latest - median)), 5 * MINUTE)
    return _Schedules(
        ok=ok,
        phase=phase,
        typical_lateness=(median - early).astype(np.int64),
        tolerance=tolerance.astype(np.int64),
    )


def _pick(ordered: np.ndarray, q: float, count: np.ndarray) -> np.ndarray:
    """Per row, the ``q`` quantile of the first ``count`` (sorted) values: the nearest rank."""
    return ordered[np.arange(len(count)), np.round(q * (count - 1)).astype(np.int64)]


def _active_slots(
    window: np.ndarray, valid: np.ndarray, span: np.ndarray, period: int, phase: np.ndarray
) -> np.ndarray:
    """Which slots of the (epoch-aligned) week got updates in at least half the weeks seen.

    Slots start at ``phase`` + k·period. Rows that have not seen two weeks get no active slot.
    """
    per_week = WEEK // period
    slots = (window - phase[:, None] + period // 2) // period
    distinct = valid & np.concatenate([valid[:, :1], slots[:, 1:] != slots[:, :-1]], axis=1)
    row, column = np.nonzero(distinct)
    seen = np.bincount(row * per_week + slots[row, column] % per_week, minlength=len(window) * per_week)
    active = seen.reshape(len(window), per_week) >= ACTIVE_SHARE * (span[:, None] / WEEK)
    active[span < 2 * WEEK - DAY] = False
    return active


def _weekdays(model: FreshnessModel) -> list[bool] | None:
    """Monday-first activity of a daily rhythm (the epoch, day 0, was a Thursday)."""
    if model.active is None or model.period != DAY or model.active.all():
        return None
    return [bool(model.active[(weekday - 3) % 7]) for weekday in range(7)]


def _sla_due(last: int, settings: FreshnessSettings) -> int:
    dues = []
    if settings.sla.max_age is not None:
        dues.append(last + int(settings.sla.max_age.total_seconds() * NS))
    if settings.sla.expected_by is not None:
        # The last update counts for the first deadline at or after it; the next one needs a new update.
        schedule = croniter(settings.sla.expected_by, datetime.fromtimestamp(last / NS, tz=UTC))
        schedule.get_next(datetime)
        dues.append(int(schedule.get_next(datetime).timestamp() * NS))
    return min(dues)


@dataclass(frozen=True)
class FreshnessStatus:
    """Where a table stands at ``now``."""

    last_update: datetime | None
    due_by: datetime | None
    overdue: bool
    model: FreshnessModel | None


def _ns(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1_000_000) * 1000


def _dt(ns: int) -> datetime:
    return datetime.fromtimestamp(ns // 1000 / 1_000_000, tz=UTC)


def freshness_status(
    updates: Sequence[datetime], now: datetime, settings: FreshnessSettings | None = None
) -> FreshnessStatus:
    """Say whether the table is overdue at ``now``.

    The rhythm is learned from the updates before the start of ``now``'s UTC day (so it is learned
    once a day); the deadline counts from the last update at or before ``now``.
    """
    settings = settings or FreshnessSettings()
    cutoff = _ns(now)
    history = np.unique(np.array([_ns(u) for u in updates], dtype=np.int64))
    history = history[history <= cutoff]
    if history.size == 0:
        return FreshnessStatus(last_update=None, due_by=None, overdue=False, model=None)
    rhythms = learn_rhythms(history, np.array([learning_cutoff(cutoff)], dtype=np.int64), settings)
    last = int(history[-1])
    dues, known = rhythms.due(np.zeros(1, dtype=np.int64), np.array([last], dtype=np.int64), settings)
    due = int(dues[0]) if known[0] else None
    return FreshnessStatus(
        last_update=_dt(last),
        due_by=_dt(due) if due is not None else None,
        overdue=due is not None and cutoff > due,
        model=rhythms.model(0),
    )


def detect_freshness(
    updates: Sequence[datetime], now: datetime, *, key: str, settings: FreshnessSettings | None = None
) -> Finding | None:
    """A finding when the table is overdue at ``now``; None when it is fresh (or cannot be judged yet).

    The finding clears by itself: once an update lands, the next call returns None.
    """
    settings = settings or FreshnessSettings()
    status = freshness_status(updates, now, settings)
    if not status.overdue or status.last_update is None or status.due_by is None:
        return None
    age = now - status.last_update
    late = now - status.due_by
    rhythm = status.model.describe() if status.model else "on its SLA"
    expected_gap = (status.due_by - status.last_update).total_seconds()
    score = age.total_seconds() / max(expected_gap, 1.0)
    severity = Severity.CRITICAL if score >= 3 else Severity.ERROR if score >= 1.5 else Severity.WARNING
    explanation = (
        f"{key} was last updated {status.last_update:%Y-%m-%d %H:%M} UTC, {format_duration(age)} ago; "
        f"it usually updates {rhythm}, so the next update was due by {status.due_by:%Y-%m-%d %H:%M} UTC "
        f"({format_duration(late)} late)."
    )
    return Finding(
        kind=FindingKind.FRESHNESS,
        key=key,
        timestamp=now,
        severity=severity,
        score=round(score, 3),
        observed=age.total_seconds(),
        expected=expected_gap,
        lower=None,
        upper=expected_gap,
        direction="late",
        explanation=explanation,
        details={
            "last_update": status.last_update.isoformat(),
            "due_by": status.due_by.isoformat(),
            "rhythm": status.model.rhythm.value if status.model else None,
        },
    )
