"""Turn a judged point of a series into a :class:`Finding` with a sentence a human understands.

For example: orders got 1,204 rows on Tuesday 2026-03-03; the last 6 Tuesdays had 9,800 to 11,300
(expected 8,900 to 12,400). Ranges are printed with an en dash.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import numpy as np
import pandas as pd

from detectors.findings import (
    WEEKDAYS,
    Finding,
    FindingKind,
    format_number,
    format_range,
    format_rate,
    severity_for,
)
from detectors.grid import Frequency
from detectors.series import SeriesJudgement
from detectors.settings import MetricKind

COMPARABLE_POINTS = 8  # how many comparable past buckets the sentence quotes at most


def moment(timestamp: pd.Timestamp, frequency: Frequency) -> str:
    """``Tuesday 2026-03-03`` (daily) or ``Tuesday 2026-03-03 14:00 UTC`` (hourly)."""
    day = f"{WEEKDAYS[timestamp.day_of_week]} {timestamp:%Y-%m-%d}"
    return day if frequency is Frequency.DAILY else f"{day} {timestamp:%H:%M} UTC"


def comparable(judgement: SeriesJudgement, index: int) -> tuple[str, np.ndarray]:
    """The past buckets the model compared this one with, and how to name them."""
    stamp = judgement.timestamps[index]
    period = int(judgement.period[index])
    past = judgement.timestamps[:index]
    keep = judgement.trained[:index]
    weekday = WEEKDAYS[stamp.day_of_week]
    if judgement.frequency is Frequency.DAILY and period == 7:
        same = (past.day_of_week == stamp.day_of_week) & keep
        one, many = weekday, f"{weekday}s"
    elif judgement.frequency is Frequency.HOURLY and period == 168:
        same = (past.day_of_week == stamp.day_of_week) & (past.hour == stamp.hour) & keep
        one, many = f"{weekday} at {stamp:%H:00}", f"{weekday}s at {stamp:%H:00}"
    elif judgement.frequency is Frequency.HOURLY and period == 24:
        same = (past.hour == stamp.hour) & keep
        one, many = f"day at {stamp:%H:00}", f"days at {stamp:%H:00}"
    else:
        same = keep
        one, many = ("day", "days") if judgement.frequency is Frequency.DAILY else ("hour", "hours")
    values = judgement.values[:index][np.asarray(same)][-COMPARABLE_POINTS:]
    return (f"the previous {one}" if len(values) == 1 else f"the last {len(values)} {many}"), values


def point_finding(
    judgement: SeriesJudgement,
    index: int,
    kind: FindingKind,
    describe: Callable[[float, str], str],
) -> Finding:
    """A finding for anomalous point ``index``; ``describe(value, when)`` words the observation."""
    value = float(judgement.values[index])
    expected = float(judgement.expected[index])
    lower, upper = float(judgement.lower[index]), float(judgement.upper[index])
    rate = judgement.settings.kind is MetricKind.RATE
    stamp = judgement.timestamps[index]
    label, past = comparable(judgement, index)
    history = (
        f"{label} had {format_range(float(past.min()), float(past.max()), rate=rate)}" if past.size else ""
    )
    expected_range = f"expected {format_range(max(lower, 0.0) if not rate else lower, upper, rate=rate)}"
    # Inside the range: the second of two buckets in a row that both fell well short of (or above)
    # what was expected, which together are as unlikely as one bucket outside it.
    in_a_row = lower <= value <= upper
    direction = (
        ("drop" if value < expected else "spike") if in_a_row else ("drop" if value < lower else "spike")
    )
    sentence = describe(value, moment(stamp, judgement.frequency))
    if in_a_row:
        unit = "day" if judgement.frequency is Frequency.DAILY else "hour"
        side = "below" if direction == "drop" else "above"
        sentence += f", the second {unit} in a row well {side} what was expected"
        expected_range += f" for one {unit} alone"
    sentence += f"; {history} ({expected_range})." if history else f"; {expected_range}."
    relative = (value - expected) / expected if expected else float("inf")
    score = float(judgement.score[index])
    return Finding(
        kind=kind,
        key=judgement.key,
        timestamp=stamp.to_pydatetime(),
        severity=severity_for(score, relative if np.isfinite(relative) else 1.0),
        score=round(score, 3),
        observed=value,
        expected=expected,
        lower=lower,
        upper=upper,
        direction=direction,
        explanation=sentence,
        details={"season": _season_name(judgement, index), "relative_change": round(relative, 4)},
    )


def _season_name(judgement: SeriesJudgement, index: int) -> str:
    period = int(judgement.period[index])
    names = {1: "none", 7: "weekly", 24: "daily", 168: "weekly"}
    return names.get(period, str(period))


def anomalies_since(judgement: SeriesJudgement, since: datetime | None) -> list[int]:
    """Indices of anomalous points at or after ``since`` (default: only the latest point)."""
    if not len(judgement.timestamps):
        return []
    if since is None:
        last = len(judgement.timestamps) - 1
        return [last] if judgement.anomaly[last] else []
    cutoff = pd.Timestamp(since)
    cutoff = cutoff.tz_localize("UTC") if cutoff.tz is None else cutoff.tz_convert("UTC")
    recent = np.asarray(judgement.timestamps >= cutoff)
    return np.flatnonzero(recent & judgement.anomaly).tolist()


def rate_or_number(kind: MetricKind) -> Callable[[float], str]:
    return format_rate if kind is MetricKind.RATE else format_number
