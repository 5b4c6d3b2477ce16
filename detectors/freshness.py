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
from functools import lru_cache

import numpy as np
from croniter import croniter

from detectors.findings import Finding, FindingKind, Severity, format_duration
from detectors.settings import FreshnessSettings, Sensitivity

NS = 1_000_000_000
MINUTE = 60 * NS
HOUR = 60 * MINUTE
DAY = 24 * HOUR
WEEK = 7 * DAY
PERIODS = np.array([5, 10, 15, 20, 30, 60, 120, 180, 240, 360, 480, 720, 1440], dtype=np.int64) * MINUTE
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
_IRREGULAR = {Sensitivity.HIGH: 0.2, Sensitivity.MEDIUM: 0.05, Sensitivity.LOW: 0.01}
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


def _quantile(ordered: np.ndarray, q: float) -> float:
    return float(ordered[round(q * (len(ordered) - 1))])


def learn_rhythm(history: np.ndarray, settings: FreshnessSettings) -> FreshnessModel | None:
    """The rhythm of sorted update times (int64 ns); None while there are too few updates."""
    if settings.sla.max_age is not None or settings.sla.expected_by is not None:
        return FreshnessModel(rhythm=Rhythm.SLA)
    if len(history) < settings.min_updates:
        return None
    last = int(history[-1])
    recent = history[max(0, len(history) - MAX_UPDATES) :]
    recent = recent[recent >= last - LEARNING_SPAN]
    if len(recent) < settings.min_updates:
        recent = history[-settings.min_updates :]
    gaps = np.diff(recent)
    gaps = np.sort(gaps[gaps > 0])
    if gaps.size == 0:
        return None
    typical_gap = _quantile(gaps, 0.5)
    period = int(PERIODS[np.argmin(np.abs(np.log(PERIODS / typical_gap)))])
    if typical_gap > 1.5 * DAY or period < 15 * MINUTE:
        return _irregular(gaps, settings)
    offsets = recent % period
    angles = offsets * (2 * np.pi / period)
    phase = int((np.arctan2(np.sin(angles).sum(), np.cos(angles).sum()) / (2 * np.pi)) % 1.0 * period)
    lateness = np.sort((offsets - phase + period // 2) % period - period // 2)
    median = _quantile(lateness, 0.5)
    deviation = np.sort(np.abs(lateness - median))
    if _quantile(deviation, 0.75) > period / 6:
        return _irregular(gaps, settings)
    skip, tail, share = _TOLERANCE[settings.sensitivity]
    spread = 1.4826 * _quantile(deviation, 0.5)
    early = max(_quantile(lateness, 0.02), median - 3 * spread)  # one odd update cannot move the slots
    phase = int(phase + early) % period  # slots start where the earliest ordinary updates land
    latest = float(lateness[len(lateness) - 1 - int(skip * len(lateness))])
    tolerance = max(latest - early + max(share * period, tail * (latest - median)), 5 * MINUTE)
    return FreshnessModel(
        rhythm=Rhythm.SCHEDULED,
        period=period,
        phase=phase,
        typical_lateness=int(median - early),
        tolerance=int(tolerance),
        active=_active_slots(recent, period, phase),
    )


def _irregular(gaps: np.ndarray, settings: FreshnessSettings) -> FreshnessModel:
    """``gaps`` sorted. For memoryless updates, P(gap > g) = exp(-g / mean)."""
    mean = float(gaps.mean()) * (1.0 + 2.0 / np.sqrt(gaps.size))  # a cautious mean for short histories
    per_month = MONTH / mean
    memoryless = mean * np.log(max(per_month / _IRREGULAR[settings.sensitivity], 2.0))
    return FreshnessModel(rhythm=Rhythm.IRREGULAR, max_gap=int(max(memoryless, 1.5 * float(gaps[-1]))))


def _active_slots(updates: np.ndarray, period: int, phase: int) -> np.ndarray | None:
    """Which slots of the (epoch-aligned) week got updates in at least half the weeks seen.

    None until two weeks have been seen.
    """
    span = int(updates[-1] - updates[0])
    if span < 2 * WEEK - DAY:
        return None
    slots_per_week = WEEK // period
    slots = _slot(updates, period, phase)
    slots = np.unique(slots)
    seen = np.bincount(slots % slots_per_week, minlength=slots_per_week)
    active = seen >= ACTIVE_SHARE * (span / WEEK)
    return active if active.any() else None


def _slot(moment: np.ndarray | int, period: int, phase: int) -> np.ndarray:
    """The scheduled slot an update belongs to (slots start at ``phase`` + k·period)."""
    return np.asarray((np.asarray(moment) - phase + period // 2) // period)


def _weekdays(model: FreshnessModel) -> list[bool] | None:
    """Monday-first activity of a daily rhythm (the epoch, day 0, was a Thursday)."""
    if model.active is None or model.period != DAY or model.active.all():
        return None
    return [bool(model.active[(weekday - 3) % 7]) for weekday in range(7)]


def next_due(model: FreshnessModel | None, history: np.ndarray, settings: FreshnessSettings) -> int | None:
    """When the next update must have landed (ns), given the last update in ``history``."""
    if model is None or len(history) == 0:
        return None
    last = int(history[-1])
    if model.rhythm is Rhythm.SLA:
        return _sla_due(last, settings)
    if model.rhythm is Rhythm.IRREGULAR:
        return last + model.max_gap
    period = model.period
    slot = (last - model.phase + period // 2) // period
    active = model.active
    if active is None and period == DAY:
        active = _ASSUMED_WEEK  # until a week is learned, a daily table is not expected on weekends
    step = 1 if active is None else _steps_to_active(active.tobytes())[slot % len(active)]
    return model.phase + (slot + step) * period + model.tolerance


@lru_cache(maxsize=256)
def _steps_to_active(active: bytes) -> tuple[int, ...]:
    """For each slot of the week, how many slots ahead the next active one is."""
    flags = np.frombuffer(active, dtype=bool)
    size = len(flags)
    return tuple(
        next((step for step in range(1, size + 1) if flags[(slot + step) % size]), 1) for slot in range(size)
    )


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
    model = learn_rhythm(history[history < learning_cutoff(cutoff)], settings)
    due = next_due(model, history, settings)
    return FreshnessStatus(
        last_update=_dt(int(history[-1])),
        due_by=_dt(due) if due is not None else None,
        overdue=due is not None and cutoff > due,
        model=model,
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
