"""Seeded generator of labelled, realistic table histories for the detector benchmark.

Follows the design in ``shared/reference/anomaly-detection-peers.md`` section 5.2. Each scenario has
a latent process (level, weekly and daily rhythm, month ends, holidays, trend, legitimate level
shifts, noise that is lognormal for big tables and Poisson for small ones, sparse bursty tables,
new tables), the history a monitor would see (written in the ``observer backtest`` CSV formats),
and labelled events: injected anomalies with a ``material`` flag, and nuisance events labelled as
*not* anomalies (holidays, month ends, weekends of weekday-only tables, legitimate level shifts,
new tables, schedule changes).

Materiality (reference 5.3): volume change >= 30 %; a freshness delay of at least one expected
update interval (the gap is >= 2x the usual gap); a null or category share change >= 1 pp
(category shares also >= 20 % relative); a mean shift >= 1 sigma of the column; other metric
changes >= 30 %.

Not representable in the backtest CSV format (one value per bucket, written once), so not
generated: backfills that rewrite past buckets and late-arriving data that fills recent buckets in.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

END = pd.Timestamp("2026-01-01", tz="UTC")  # every history ends here (exclusive)
DAY = pd.Timedelta(days=1)
HOUR = pd.Timedelta(hours=1)


@dataclass
class Event:
    series: str
    start: str  # ISO timestamp of the first affected bucket (freshness: when the update was due)
    end: str  # ISO timestamp of the last affected bucket (freshness: when it finally landed)
    type: str
    label: str  # "anomaly" or "nuisance"
    material: bool = False
    magnitude: float = 0.0
    # Volume: the change in standard deviations of the series' own noise at the affected buckets
    # (log scale: lognormal CV and Poisson), capped at 99; it sets the anomaly's difficulty tier.
    noise_sigmas: float | None = None


@dataclass
class Scenario:
    """One generated file set: rows for the backtest CSV plus its labels."""

    signal: str  # volume | metric | freshness
    rows: list[pd.DataFrame] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    series: list[dict[str, object]] = field(default_factory=list)

    def frame(self) -> pd.DataFrame:
        return pd.concat(self.rows, ignore_index=True)

    def write(self, folder: Path, name: str) -> tuple[Path, Path]:
        folder.mkdir(parents=True, exist_ok=True)
        csv_path = folder / f"{name}.csv"
        labels_path = folder / f"{name}.labels.json"
        frame = self.frame()
        frame["timestamp"] = pd.DatetimeIndex(frame["timestamp"]).strftime("%Y-%m-%dT%H:%M:%SZ")
        frame.to_csv(csv_path, index=False)
        labels = {"signal": self.signal, "series": self.series, "events": [asdict(e) for e in self.events]}
        labels_path.write_text(json.dumps(labels, indent=1), encoding="utf-8")
        return csv_path, labels_path


def us_holidays(years: range) -> set[date]:
    """Fixed and floating US federal holidays (the calendar many warehouses feel)."""

    def nth(year: int, month: int, weekday: int, n: int) -> date:
        first = date(year, month, 1)
        offset = (weekday - first.weekday()) % 7
        if n > 0:
            return first + timedelta(days=offset + 7 * (n - 1))
        last = (pd.Timestamp(year, month, 1) + pd.offsets.MonthEnd(0)).date()
        return last - timedelta(days=(last.weekday() - weekday) % 7)

    days: set[date] = set()
    for y in years:
        days |= {date(y, 1, 1), date(y, 6, 19), date(y, 7, 4), date(y, 11, 11), date(y, 12, 25)}
        days |= {nth(y, 1, 0, 3), nth(y, 2, 0, 3), nth(y, 5, 0, -1), nth(y, 9, 0, 1), nth(y, 10, 0, 2)}
        thanksgiving = nth(y, 11, 3, 4)
        days |= {thanksgiving, thanksgiving + timedelta(days=1), date(y, 12, 24), date(y, 12, 31)}
    return days


HOLIDAYS = us_holidays(range(2024, 2027))


def _iso(moment: pd.Timestamp) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------------------- volume


@dataclass
class _Shape:
    """The latent rhythm of a count series."""

    level: float
    weekly: np.ndarray  # 7 factors, Monday first
    hourly: np.ndarray | None
    month_end: float
    month_start: float
    holiday: float | None
    trend: float  # per day, multiplicative
    cv: float
    sparse: bool


def _volume_shape(rng: np.random.Generator, hourly: bool) -> tuple[_Shape, dict[str, object]]:
    level = float(10 ** rng.uniform(1.0, 7.0))
    kind = rng.choice(["flat", "weekend", "weekday_only", "shaped"], p=[0.3, 0.4, 0.15, 0.15])
    weekly = np.ones(7)
    if kind == "weekend":
        weekly[5:] = rng.uniform(0.2, 0.9)
    elif kind == "weekday_only":
        weekly[5:] = 0.0
    elif kind == "shaped":
        weekly = rng.uniform(0.7, 1.3, 7)
    day_curve = None
    if hourly:
        trough = rng.choice([0.0, rng.uniform(0.05, 0.8)], p=[0.15, 0.85])
        peak = rng.uniform(10, 16)
        hours = np.arange(24)
        shape = 0.5 * (1 + np.cos((hours - peak) / 24 * 2 * np.pi))
        day_curve = trough + (1 - trough) * shape
        day_curve = day_curve / day_curve.mean()
    month_end = float(rng.uniform(1.5, 3.0)) if (not hourly and rng.random() < 0.15) else 1.0
    month_start = float(rng.uniform(1.3, 2.0)) if (not hourly and rng.random() < 0.07) else 1.0
    holiday = None
    if kind in ("weekend", "weekday_only") and rng.random() < 0.6:
        holiday = float(weekly[6])  # the table rests on holidays like on a Sunday
    elif rng.random() < 0.1:
        holiday = float(rng.uniform(0.3, 0.7))
    trend = float(rng.uniform(-0.003, 0.005)) if rng.random() < 0.5 else 0.0
    cv = float(10 ** rng.uniform(-2.0, np.log10(0.3)))
    sparse = rng.random() < 0.05
    if sparse:
        level = float(rng.uniform(20, 500))
    meta = {
        "weekly": str(kind),
        "level": round(level, 1),
        "cv": round(cv, 4),
        "trend": trend,
        "month_end": month_end > 1,
        "holiday": holiday is not None,
        "sparse": sparse,
    }
    shape = _Shape(level, weekly, day_curve, month_end, month_start, holiday, trend, cv, sparse)
    return shape, meta


def _expected_counts(shape: _Shape, times: pd.DatetimeIndex, hourly: bool) -> np.ndarray:
    days = ((times - times[0]) / DAY).to_numpy()
    mean = shape.level * shape.weekly[times.day_of_week.to_numpy()] * (1 + shape.trend) ** days
    if hourly and shape.hourly is not None:
        mean = mean * shape.hourly[times.hour.to_numpy()]
    dates = times.tz_convert("UTC").tz_localize(None).normalize()
    if not hourly:
        mean = np.where(times.day.to_numpy() == times.days_in_month.to_numpy(), mean * shape.month_end, mean)
        mean = np.where(times.day.to_numpy() == 1, mean * shape.month_start, mean)
    if shape.holiday is not None:
        holiday = np.isin(dates.date, list(HOLIDAYS))
        mean = np.where(holiday, shape.level * shape.holiday * (1 + shape.trend) ** days, mean)
        if hourly and shape.hourly is not None:
            mean = np.where(holiday, mean * shape.hourly[times.hour.to_numpy()], mean)
    return mean


def _observe(rng: np.random.Generator, mean: np.ndarray, shape: _Shape) -> np.ndarray:
    if shape.sparse:
        burst = rng.random(mean.size) < 0.15
        return np.where(burst, rng.poisson(np.maximum(mean, 0) * rng.lognormal(0, 1.0, mean.size)), 0).astype(
            float
        )
    sigma = np.sqrt(np.log1p(shape.cv**2))
    noisy = mean * rng.lognormal(-0.5 * sigma**2, sigma, mean.size)
    return rng.poisson(np.maximum(noisy, 0)).astype(float) if shape.level < 5000 else np.round(noisy)


def volume_scenario(
    rng: np.random.Generator, daily: int, days: int, hourly: int, hours_days: int
) -> Scenario:
    scenario = Scenario(signal="volume")
    for i in range(daily + hourly):
        is_hourly = i >= daily
        name = f"{'h' if is_hourly else 'd'}vol_{i:04d}"
        step = HOUR if is_hourly else DAY
        length = (hours_days * 24) if is_hourly else days
        if rng.random() < 0.08:  # a new table: only its first weeks are seen
            length = int(rng.integers(10, 40)) * (24 if is_hourly else 1)
            new_table = True
        else:
            new_table = False
        times = pd.date_range(END - length * step, periods=length, freq=step)
        shape, meta = _volume_shape(rng, is_hourly)
        mean = _expected_counts(shape, times, is_hourly)
        events: list[Event] = []
        if new_table:
            events.append(
                Event(name, _iso(times[0]), _iso(times[min(13, length - 1)]), "new_table", "nuisance")
            )
        mean = _level_shift(rng, name, mean, times, events, is_hourly)
        values = _observe(rng, mean, shape)
        burn_in = 21 if not is_hourly else 24 * 4
        if not shape.sparse and not new_table and rng.random() < 0.6:
            for _ in range(int(rng.integers(1, 3))):
                values = _inject_volume(rng, name, values, mean, times, shape, burn_in, is_hourly, events)
        events += _volume_nuisances(name, times, shape, is_hourly)
        scenario.rows.append(pd.DataFrame({"series": name, "timestamp": times, "value": values}))
        scenario.events += events
        scenario.series.append({"series": name, "frequency": "hourly" if is_hourly else "daily", **meta})
    return scenario


def _level_shift(
    rng: np.random.Generator,
    name: str,
    mean: np.ndarray,
    times: pd.DatetimeIndex,
    events: list[Event],
    hourly: bool,
) -> np.ndarray:
    if len(times) < 60 or rng.random() >= 0.15:
        return mean
    at = int(rng.integers(len(times) // 3, len(times) - 10))
    factor = float(rng.choice([rng.uniform(0.45, 0.75), rng.uniform(1.35, 2.2)]))
    end = min(at + (24 * 2 if hourly else 6), len(times) - 1)
    events.append(Event(name, _iso(times[at]), _iso(times[end]), "level_shift", "nuisance", magnitude=factor))
    shifted = mean.copy()
    shifted[at:] *= factor
    return shifted


def _volume_nuisances(name: str, times: pd.DatetimeIndex, shape: _Shape, hourly: bool) -> list[Event]:
    events = []
    dates = times.tz_convert("UTC").tz_localize(None).normalize()
    if shape.holiday is not None:
        for day in sorted(set(dates[np.isin(dates.date, list(HOLIDAYS))])):
            start = pd.Timestamp(day, tz="UTC")
            end = start + (23 * HOUR if hourly else pd.Timedelta(0))
            events.append(Event(name, _iso(start), _iso(end), "holiday", "nuisance"))
    if shape.month_end > 1 or shape.month_start > 1:
        special = (times.day == times.days_in_month) if shape.month_end > 1 else np.zeros(len(times), bool)
        if shape.month_start > 1:
            special = special | (times.day == 1)
        for moment in times[np.asarray(special)]:
            events.append(Event(name, _iso(moment), _iso(moment), "month_boundary", "nuisance"))
    if shape.weekly[5] == 0.0 and not hourly:
        for moment in times[times.day_of_week == 5]:
            events.append(
                Event(name, _iso(moment), _iso(moment + DAY), "weekend_of_weekday_table", "nuisance")
            )
    return events


def _inject_volume(
    rng: np.random.Generator,
    name: str,
    values: np.ndarray,
    mean: np.ndarray,
    times: pd.DatetimeIndex,
    shape: _Shape,
    burn_in: int,
    hourly: bool,
    events: list[Event],
) -> np.ndarray:
    kinds = ["drop_to_zero", "partial_load", "duplicate_load", "spike", "slow_drift", "seasonality_break"]
    if shape.weekly[5] == 0.0 and not hourly:
        kinds.append("missing_weekday_load")
    kind = str(rng.choice(kinds, p=_kind_weights(len(kinds))))
    unit = 24 if hourly else 1
    duration = {"drop_to_zero": int(rng.integers(1, 4)) * (3 if hourly else 1), "slow_drift": 21 * unit}
    length = duration.get(kind, int(rng.integers(1, 4)) if kind == "partial_load" else 1)
    if hourly and kind in ("partial_load", "spike"):
        length = int(rng.integers(1, 7))
    if kind == "seasonality_break":
        length = 14 * unit
    free = _free_window(rng, values.size, burn_in, length, events, times)
    if free is None:
        return values
    start = free
    stop = start + length
    if (
        kind not in ("missing_weekday_load", "slow_drift", "seasonality_break")
        and not values[start:stop].any()
    ):
        return values  # a change to buckets that are empty anyway changes nothing
    out = values.copy()
    factor = 1.0
    if kind in ("drop_to_zero", "missing_weekday_load"):
        factor = 0.0
        if kind == "missing_weekday_load":
            weekdays = np.flatnonzero((times.day_of_week < 5)[start:]) + start
            if not weekdays.size:
                return values
            start = int(weekdays[0])
            stop = start + 1
        out[start:stop] = 0.0
    elif kind == "partial_load":
        factor = float(rng.uniform(0.1, 0.8))
        out[start:stop] = np.round(out[start:stop] * factor)
    elif kind == "duplicate_load":
        factor = 2.0
        out[start:stop] = out[start:stop] * 2
    elif kind == "spike":
        factor = float(10 ** rng.uniform(np.log10(1.5), 1.0))
        out[start:stop] = np.round(out[start:stop] * factor)
    elif kind == "slow_drift":
        ramp = (1 - 0.01) ** np.arange(1, len(out) - start + 1)
        out[start:] = np.round(out[start:] * ramp)
        factor = float(ramp[min(length, ramp.size) - 1])
    elif kind == "seasonality_break":
        if hourly or shape.weekly.std() < 0.05:
            return values
        target = shape.weekly.mean() / np.maximum(shape.weekly, 1e-9)
        affected = np.arange(start, len(out))
        ratio = target[times.day_of_week.to_numpy()[affected]]
        ratio = np.where(shape.weekly[times.day_of_week.to_numpy()[affected]] == 0, 1.0, ratio)
        out[affected] = np.round(out[affected] * ratio)
        # The day whose volume changes most, as a ratio (0.71 on a weekday-only table: a 29 % drop).
        factor = float(ratio[np.argmax(np.abs(ratio - 1.0))])
        stop = min(start + length, len(out))
    change = abs(factor - 1.0) if factor <= 1 else factor - 1.0
    material = change >= 0.3 and kind != "slow_drift"
    if kind == "slow_drift":
        material = False
    noise = float(np.sqrt(np.log1p(shape.cv**2) + 1.0 / max(float(np.mean(mean[start:stop])), 1.0)))
    sigmas = min(abs(float(np.log(factor))) / noise, 99.0) if factor > 0 else 99.0
    events.append(
        Event(
            name,
            _iso(times[start]),
            _iso(times[stop - 1]),
            kind,
            "anomaly",
            material,
            factor,
            noise_sigmas=round(sigmas, 2),
        )
    )
    return out


def _kind_weights(count: int) -> np.ndarray:
    weights = np.array([0.18, 0.3, 0.12, 0.2, 0.08, 0.07, 0.05][:count])
    return weights / weights.sum()


def _free_window(
    rng: np.random.Generator,
    size: int,
    burn_in: int,
    length: int,
    events: list[Event],
    times: pd.DatetimeIndex,
    tries: int = 20,
) -> int | None:
    """A start position for an injected event that does not touch an earlier event (+- a week)."""
    if size - length - burn_in <= 1:
        return None
    taken = [(pd.Timestamp(e.start), pd.Timestamp(e.end)) for e in events if e.type != "holiday"]
    for _ in range(tries):
        start = int(rng.integers(burn_in, size - length))
        lo, hi = times[start] - 7 * DAY, times[start + length - 1] + 7 * DAY
        if all(hi < s or lo > e for s, e in taken):
            return start
    return None


# --------------------------------------------------------------------------------------- metrics


def metric_scenario(rng: np.random.Generator, count: int, days: int) -> Scenario:
    scenario = Scenario(signal="metric")
    kinds = ["null_rate", "category_share", "mean", "p95", "distinct_count", "event_lag"]
    for i in range(count):
        kind = kinds[i % len(kinds)]
        name = f"metric_{i:04d}_{kind}"
        length = days if rng.random() >= 0.06 else int(rng.integers(10, 40))
        times = pd.date_range(END - length * DAY, periods=length, freq=DAY)
        rows = _row_counts(rng, times)
        events: list[Event] = []
        if length < days:
            events.append(
                Event(name, _iso(times[0]), _iso(times[min(13, length - 1)]), "new_table", "nuisance")
            )
        values, meta = _metric_values(rng, kind, times, rows, events, name, inject=length == days)
        scenario.rows.append(pd.DataFrame({"series": name, "timestamp": times, "value": values}))
        scenario.events += events
        scenario.series.append({"series": name, "frequency": "daily", "metric": kind, **meta})
    return scenario


def _row_counts(rng: np.random.Generator, times: pd.DatetimeIndex) -> np.ndarray:
    level = 10 ** rng.uniform(2.5, 6.5)
    weekend = rng.choice([1.0, rng.uniform(0.3, 0.9)])
    factor = np.where(times.day_of_week >= 5, weekend, 1.0)
    return np.maximum(rng.poisson(level * factor * rng.lognormal(0, 0.1, len(times))), 1)


def _metric_values(
    rng: np.random.Generator,
    kind: str,
    times: pd.DatetimeIndex,
    rows: np.ndarray,
    events: list[Event],
    name: str,
    inject: bool,
) -> tuple[np.ndarray, dict[str, object]]:
    n = len(times)
    weekend = np.asarray(times.day_of_week >= 5)
    burn_in = 21
    shift_at, shift = _metric_shift(rng, n)
    if kind in ("null_rate", "category_share"):
        if kind == "null_rate":
            base = float(rng.choice([0.0, 10 ** rng.uniform(-3, np.log10(0.05)), rng.uniform(0.05, 0.3)]))
        else:
            base = float(rng.uniform(0.03, 0.6))
        drift = np.exp(rng.normal(0, float(rng.uniform(0.02, 0.15)), n))
        weekly = np.where(weekend, rng.uniform(0.8, 1.25), 1.0)
        p = np.clip(base * drift * weekly, 0, 1)
        if shift_at is not None and base > 0:
            p[shift_at:] = np.clip(p[shift_at:] * (1 + shift * 0.5), 0, 1)
            _shift_event(events, name, times, shift_at, 1 + shift * 0.5)
        anomaly_p = p.copy()
        if inject:
            anomaly_p = _inject_share(rng, kind, name, p, base, times, burn_in, events)
        values = rng.binomial(rows, anomaly_p) / rows
        return values, {"base": base}
    if kind in ("mean", "p95"):
        mu = float(rng.uniform(-50, 500))
        sigma = float(abs(mu) * rng.uniform(0.1, 1.0) + 1)
        tau = sigma * float(rng.uniform(0.01, 0.1))  # real day-to-day movement of the column
        weekly = np.where(weekend, rng.normal(0, 0.1) * sigma, 0.0)
        center = mu + (1.645 * sigma if kind == "p95" else 0.0)
        latent = center + weekly + rng.normal(0, tau, n)
        if shift_at is not None:
            latent[shift_at:] += shift * 0.4 * sigma
            _shift_event(events, name, times, shift_at, shift * 0.4)
        noise = rng.normal(0, sigma / np.sqrt(rows) * (1.3 if kind == "p95" else 1.0))
        values = latent + noise
        if inject:
            values = _inject_level(rng, kind, name, values, sigma, times, burn_in, events)
        return values, {"mu": mu, "sigma": sigma}
    if kind == "distinct_count":
        ratio = float(rng.uniform(0.05, 0.9))
        values = np.round(rows * ratio * rng.lognormal(0, 0.03, n))
        if inject:
            values = _inject_factor(
                rng, name, values, times, burn_in, events, "distinct_collapse", (0.05, 0.6)
            )
        return values, {"ratio": ratio}
    base_lag = float(10 ** rng.uniform(np.log10(600), np.log10(6 * 3600)))
    values = base_lag * rng.lognormal(0, float(rng.uniform(0.05, 0.3)), n)
    if inject:
        values = _inject_factor(rng, name, values, times, burn_in, events, "event_lag_growth", (2.0, 20.0))
    return values, {"base_lag": base_lag}


def _metric_shift(rng: np.random.Generator, n: int) -> tuple[int | None, float]:
    if n < 60 or rng.random() >= 0.12:
        return None, 0.0
    return int(rng.integers(n // 3, n - 10)), float(rng.choice([-1.0, 1.0]))


def _shift_event(events: list[Event], name: str, times: pd.DatetimeIndex, at: int, magnitude: float) -> None:
    end = min(at + 6, len(times) - 1)
    events.append(
        Event(name, _iso(times[at]), _iso(times[end]), "level_shift", "nuisance", magnitude=magnitude)
    )


def _window(
    rng: np.random.Generator, n: int, burn_in: int, events: list[Event], times: pd.DatetimeIndex
) -> tuple[int, int] | None:
    length = int(rng.integers(1, 5))
    start = _free_window(rng, n, burn_in, length, events, times)
    return None if start is None else (start, start + length)


def _inject_share(
    rng: np.random.Generator,
    kind: str,
    name: str,
    p: np.ndarray,
    base: float,
    times: pd.DatetimeIndex,
    burn_in: int,
    events: list[Event],
) -> np.ndarray:
    if rng.random() >= 0.6:
        return p
    window = _window(rng, len(p), burn_in, events, times)
    if window is None:
        return p
    start, stop = window
    out = p.copy()
    if kind == "null_rate":
        delta = float(10 ** rng.uniform(np.log10(0.003), np.log10(0.3)))
        out[start:stop] = np.clip(out[start:stop] + delta, 0, 1)
        material = delta >= 0.01
        label = "null_rate_jump"
    else:
        mode = rng.choice(["shift", "disappears"], p=[0.8, 0.2])
        if mode == "disappears":
            delta = -base
            out[start:stop] = 0.0
            label = "category_disappears"
        else:
            factor = float(rng.choice([rng.uniform(0.3, 0.9), rng.uniform(1.1, 2.0)]))
            out[start:stop] = np.clip(out[start:stop] * factor, 0, 1)
            delta = base * (factor - 1)
            label = "category_share_shift"
        material = abs(delta) >= 0.01 and abs(delta) / max(base, 1e-9) >= 0.2
    events.append(Event(name, _iso(times[start]), _iso(times[stop - 1]), label, "anomaly", material, delta))
    return out


def _inject_level(
    rng: np.random.Generator,
    kind: str,
    name: str,
    values: np.ndarray,
    sigma: float,
    times: pd.DatetimeIndex,
    burn_in: int,
    events: list[Event],
) -> np.ndarray:
    if rng.random() >= 0.6:
        return values
    window = _window(rng, len(values), burn_in, events, times)
    if window is None:
        return values
    start, stop = window
    out = values.copy()
    mode = rng.choice(["shift", "unit", "truncate"] if kind == "p95" else ["shift", "unit"], p=None)
    if mode == "shift":
        size = float(10 ** rng.uniform(-1, np.log10(3))) * float(rng.choice([-1, 1]))
        out[start:stop] += size * sigma
        label, material, magnitude = "mean_shift", abs(size) >= 1.0, size
    elif mode == "unit":
        factor = float(rng.choice([100.0, 1000.0, 0.01]))
        out[start:stop] *= factor
        label, material, magnitude = "unit_change", True, factor
    else:
        factor = float(rng.uniform(0.4, 0.9))
        out[start:stop] *= factor
        label, material, magnitude = "truncated_range", factor <= 0.7, factor
    events.append(
        Event(name, _iso(times[start]), _iso(times[stop - 1]), label, "anomaly", material, magnitude)
    )
    return out


def _inject_factor(
    rng: np.random.Generator,
    name: str,
    values: np.ndarray,
    times: pd.DatetimeIndex,
    burn_in: int,
    events: list[Event],
    label: str,
    factors: tuple[float, float],
) -> np.ndarray:
    if rng.random() >= 0.6:
        return values
    window = _window(rng, len(values), burn_in, events, times)
    if window is None:
        return values
    start, stop = window
    low, high = factors
    factor = float(10 ** rng.uniform(np.log10(low), np.log10(high)))
    out = values.copy()
    out[start:stop] = out[start:stop] * factor
    if label == "distinct_collapse":
        out[start:stop] = np.round(out[start:stop])
    material = (
        abs(factor - 1) >= 0.3 if factor < 1 else factor >= 2.0 if label == "event_lag_growth" else True
    )
    events.append(Event(name, _iso(times[start]), _iso(times[stop - 1]), label, "anomaly", material, factor))
    return out


# --------------------------------------------------------------------------------------- freshness


def freshness_scenario(rng: np.random.Generator, count: int, days: int) -> Scenario:
    scenario = Scenario(signal="freshness")
    kinds = ["hourly", "every_n_hours", "daily", "weekdays", "irregular", "cdc"]
    weights = np.array([0.2, 0.15, 0.3, 0.15, 0.1, 0.1])
    for i in range(count):
        kind = str(rng.choice(kinds, p=weights / weights.sum()))
        name = f"fresh_{i:04d}_{kind}"
        start = END - days * DAY
        updates, period, meta = _schedule(rng, kind, start)
        events: list[Event] = []
        updates = _inject_freshness(rng, name, kind, updates, period, start, events)
        updates = np.sort(updates[(updates >= start.value) & (updates < END.value)])
        stamps = pd.to_datetime(updates, utc=True)
        scenario.rows.append(pd.DataFrame({"series": name, "timestamp": stamps}))
        scenario.events += events
        scenario.series.append({"series": name, "schedule": kind, "period_s": period / 1e9, **meta})
    return scenario


def _schedule(
    rng: np.random.Generator, kind: str, start: pd.Timestamp
) -> tuple[np.ndarray, int, dict[str, object]]:
    """Update times (ns) over the whole span, before anomalies."""
    span = (END - start).value
    if kind in ("irregular", "cdc"):
        mean_gap = (
            float(rng.uniform(2, 12)) * 3600e9 if kind == "irregular" else float(rng.uniform(5, 15)) * 60e9
        )
        gaps = rng.exponential(mean_gap, int(span / mean_gap * 1.3) + 10)
        if kind == "irregular":
            gaps = np.maximum(gaps, 0.2 * mean_gap)
        times = start.value + np.cumsum(gaps).astype(np.int64)
        return times[times < END.value], int(mean_gap), {"mean_gap_s": mean_gap / 1e9}
    period = {
        "hourly": 3600,
        "every_n_hours": int(rng.choice([2, 3, 4, 6, 12])) * 3600,
        "daily": 86400,
        "weekdays": 86400,
    }[kind] * 10**9
    phase = (
        int(rng.integers(0, period // 60e9)) * 60 * 10**9
        if period < 86400e9
        else int(rng.integers(0, 24 * 4)) * 15 * 60 * 10**9
    )
    slots = start.value - start.value % period + phase + period * np.arange(span // period + 2)
    if kind == "weekdays":
        weekday = pd.to_datetime(slots, utc=True).day_of_week.to_numpy()
        slots = slots[weekday < 5]
    median_delay = min(float(rng.uniform(2, 30)) * 60e9, period / 10)
    sigma = float(rng.uniform(0.3, 0.8))
    delays = median_delay * rng.lognormal(0, sigma, slots.size)
    tail = rng.random(slots.size) < 0.03
    delays = np.where(tail, delays * rng.uniform(3, 8, slots.size), delays)
    delays = np.minimum(delays, period * 0.45)
    return (
        (slots + delays).astype(np.int64),
        period,
        {"median_delay_s": median_delay / 1e9, "phase_s": phase / 1e9},
    )


def _inject_freshness(
    rng: np.random.Generator,
    name: str,
    kind: str,
    updates: np.ndarray,
    period: int,
    start: pd.Timestamp,
    events: list[Event],
) -> np.ndarray:
    burn_in = start.value + 21 * DAY.value
    candidates = np.flatnonzero(updates > burn_in)[:-5]
    if candidates.size == 0:
        return updates
    out = updates.copy()
    if rng.random() < 0.12 and kind in ("daily", "weekdays", "every_n_hours", "hourly"):
        at = int(rng.choice(candidates))
        moved = int(rng.uniform(0.2, 0.45) * period)
        out[at:] += moved
        gap_end = out[at]
        events.append(
            Event(
                name,
                _iso(pd.Timestamp(updates[at], tz="UTC")),
                _iso(pd.Timestamp(gap_end, tz="UTC")),
                "schedule_change",
                "nuisance",
                magnitude=moved / 1e9,
            )
        )
    if rng.random() >= 0.6:
        return out
    kinds = ["late_load", "skipped_loads", "stuck_table"]
    anomaly = str(rng.choice(kinds, p=[0.45, 0.35, 0.2]))
    if kind in ("irregular", "cdc"):
        anomaly = "stuck_table"  # without a schedule, a late or skipped update is not an event
    for _ in range(20):
        at = int(rng.choice(candidates))
        lo, hi = out[at] - 3 * max(period, 3600 * 10**9), out[min(at + 8, len(out) - 1)] + 3 * period
        if all(hi < pd.Timestamp(e.start).value or lo > pd.Timestamp(e.end).value for e in events):
            break
    else:
        return out
    typical = period if kind not in ("irregular", "cdc") else int(np.median(np.diff(updates)))
    due = int(out[at])  # the update that goes wrong was due around here
    if anomaly == "late_load":
        extra = int(float(rng.uniform(0.3, 4.0)) * typical)
        out[at] += extra
        out = np.sort(out)
        landed = int(updates[at] + extra)
        material = extra >= typical
        magnitude = extra / typical
    elif anomaly == "skipped_loads":
        skipped = int(rng.integers(1, 4))
        keep = np.ones(out.size, dtype=bool)
        keep[at : at + skipped] = False
        landed = int(out[min(at + skipped, out.size - 1)])
        out = out[keep]
        material, magnitude = True, float(skipped)
    else:
        stuck = int(float(rng.uniform(2, 7)) * DAY.value)
        if kind in ("cdc", "irregular"):
            stuck = max(stuck, 10 * typical)
        keep = (out < due) | (out >= due + stuck)
        landed = int(out[keep][np.searchsorted(out[keep], due)]) if (out[keep] >= due).any() else END.value
        out = out[keep]
        material, magnitude = True, stuck / typical
    events.append(
        Event(
            name,
            _iso(pd.Timestamp(due, tz="UTC")),
            _iso(pd.Timestamp(landed, tz="UTC")),
            anomaly,
            "anomaly",
            material,
            magnitude,
        )
    )
    return out


# --------------------------------------------------------------------------------------- probes


def probe_scenario(rng: np.random.Generator, positions: range, per_position: int) -> Scenario:
    """New tables with one big spike (x8) at bucket ``k``: how much history before the first alert?"""
    scenario = Scenario(signal="probe")
    for k in positions:
        for j in range(per_position):
            name = f"probe_k{k:02d}_{j:02d}"
            length = k + 5
            times = pd.date_range(END - length * DAY, periods=length, freq=DAY)
            level = 10 ** rng.uniform(2, 6)
            values = np.round(level * rng.lognormal(0, 0.05, length))
            values[k] *= 8
            scenario.rows.append(pd.DataFrame({"series": name, "timestamp": times, "value": values}))
            scenario.events.append(Event(name, _iso(times[k]), _iso(times[k]), "spike", "anomaly", True, 8.0))
            scenario.series.append({"series": name, "frequency": "daily", "position": k})
    return scenario


def generate(folder: Path, seed: int, tier: str = "small") -> dict[str, tuple[Path, Path]]:
    """Write every scenario of a tier under ``folder``; returns {signal: (csv, labels)}."""
    sizes = {
        "small": {
            "daily": 500,
            "days": 180,
            "hourly": 100,
            "hours_days": 30,
            "metric": 600,
            "freshness": 300,
        },
        "tiny": {"daily": 60, "days": 120, "hourly": 10, "hours_days": 21, "metric": 60, "freshness": 30},
    }[tier]
    out = {}
    rng = np.random.default_rng([seed, 1])
    out["volume"] = volume_scenario(
        rng, sizes["daily"], sizes["days"], sizes["hourly"], sizes["hours_days"]
    ).write(folder, "volume")
    rng = np.random.default_rng([seed, 2])
    out["metric"] = metric_scenario(rng, sizes["metric"], sizes["days"]).write(folder, "metric")
    rng = np.random.default_rng([seed, 3])
    out["freshness"] = freshness_scenario(rng, sizes["freshness"], min(sizes["days"], 120)).write(
        folder, "freshness"
    )
    rng = np.random.default_rng([seed, 4])
    out["probe"] = probe_scenario(rng, range(2, 16), 20).write(folder, "probe")
    calendar = folder / "holidays.txt"
    calendar.write_text("".join(f"{day.isoformat()}\n" for day in sorted(HOLIDAYS)), encoding="utf-8")
    out["holidays"] = (calendar, calendar)
    return out
