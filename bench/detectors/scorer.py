"""Score backtest output against the generator's labels (reference section 5.3).

* **Event-level recall**: an anomaly counts as detected when at least one alert on its series falls
  within the anomaly plus a grace of one bucket (freshness: one expected update interval). Reported
  overall and on material anomalies, and per anomaly type.
* **Precision**: detected anomalies / (detected anomalies + false alerts); several alerts on one
  anomaly are one true positive. **F1** from the two.
* **False alerts per series-month**: alerts matching no anomaly, per 30.44 days of judged history
  (hourly series count 730 buckets as a month). For volume and metrics every alerting bucket is one
  alert; for freshness one overdue episode (the checks between two updates) is one alert. The share
  of false alerts that fall on labelled nuisance events (holidays, level shifts, ...) is reported.
* **Difficulty tiers** (volume): material anomalies by the size of the change in standard deviations
  of the series' own noise (the generator's ``noise_sigmas``, set by noise CV and magnitude): hard
  under 4, moderate 4 to 6, easy 6 or more.
* **Detection delay**: first alert minus anomaly start, in buckets (freshness: in expected update
  intervals, from when the update was due); median and p90 over detected material anomalies.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

MONTH_DAYS = 30.44
TIERS = ("hard (< 4 sigma)", "moderate (4-6 sigma)", "easy (>= 6 sigma)")


def tier(noise_sigmas: float) -> str:
    """Difficulty tier of an anomaly from its size in noise standard deviations."""
    return TIERS[0] if noise_sigmas < 4.0 else TIERS[1] if noise_sigmas < 6.0 else TIERS[2]


@dataclass
class Score:
    anomalies: int = 0
    detected: int = 0
    material: int = 0
    material_detected: int = 0
    alerts: int = 0
    false_alerts: int = 0
    false_on_nuisance: int = 0
    series_months: float = 0.0
    delays: list[float] = field(default_factory=list)
    by_type: dict[str, list[int]] = field(default_factory=dict)
    by_tier: dict[str, list[int]] = field(default_factory=dict)  # material anomalies only

    @property
    def recall(self) -> float:
        return self.detected / self.anomalies if self.anomalies else float("nan")

    @property
    def material_recall(self) -> float:
        return self.material_detected / self.material if self.material else float("nan")

    @property
    def precision(self) -> float:
        total = self.detected + self.false_alerts
        return self.detected / total if total else float("nan")

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def false_per_series_month(self) -> float:
        return self.false_alerts / self.series_months if self.series_months else float("nan")

    def delay(self, q: float) -> float:
        return float(np.quantile(self.delays, q)) if self.delays else float("nan")

    def summary(self) -> dict[str, Any]:
        return {
            "recall": self.recall,
            "material_recall": self.material_recall,
            "precision": self.precision,
            "f1": self.f1,
            "false_per_series_month": self.false_per_series_month,
            "false_alerts": self.false_alerts,
            "false_on_nuisance": self.false_on_nuisance,
            "alerts": self.alerts,
            "anomalies": self.anomalies,
            "material": self.material,
            "median_delay": self.delay(0.5),
            "p90_delay": self.delay(0.9),
            "by_type": {k: {"detected": v[0], "total": v[1]} for k, v in sorted(self.by_type.items())},
            "material_by_tier": {
                k: {"detected": v[0], "total": v[1]}
                for k, v in sorted(self.by_tier.items(), key=lambda item: TIERS.index(item[0]))
            },
        }


def load_labels(path: Path) -> dict[str, Any]:
    labels: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return labels


def _events(labels: dict[str, Any], label: str) -> pd.DataFrame:
    rows = [e for e in labels["events"] if e["label"] == label]
    columns = ["series", "start", "end", "type", "label", "material", "magnitude", "noise_sigmas"]
    frame = pd.DataFrame(rows, columns=columns)
    frame["start"] = pd.to_datetime(frame["start"], utc=True)
    frame["end"] = pd.to_datetime(frame["end"], utc=True)
    return frame


def score_points(labels: dict[str, Any], points: pd.DataFrame) -> Score:
    """Score one-row-per-bucket output (volume, metric): ``series, timestamp, anomaly``."""
    bucket = {
        s["series"]: pd.Timedelta(hours=1) if s.get("frequency") == "hourly" else pd.Timedelta(days=1)
        for s in labels["series"]
    }
    points = points.assign(timestamp=pd.to_datetime(points["timestamp"], utc=True))
    score = Score()
    counts = points.groupby("series").size()
    for name, n in counts.items():
        step = bucket.get(str(name), pd.Timedelta(days=1))
        score.series_months += n * step / pd.Timedelta(days=MONTH_DAYS)
    alerts = points[points["anomaly"].astype(bool)]
    score.alerts = len(alerts)
    anomalies = _events(labels, "anomaly")
    nuisances = _events(labels, "nuisance")
    alerts_by_series = {k: _ns(g["timestamp"]) for k, g in alerts.groupby("series")}
    matched: dict[str, np.ndarray] = {k: np.zeros(len(v), dtype=bool) for k, v in alerts_by_series.items()}
    for event in anomalies.itertuples():
        step = bucket.get(event.series, pd.Timedelta(days=1))
        times = alerts_by_series.get(event.series)
        hit = np.zeros(0, dtype=bool)
        if times is not None:
            hit = (times >= event.start.value) & (times <= (event.end + step).value)
            matched[event.series] |= hit
        _count_event(score, event, hit.any())
        if hit.any() and event.material and times is not None:
            first = pd.Timestamp(int(times[hit].min()), tz="UTC")
            score.delays.append((first - event.start) / step)
    for name, times in alerts_by_series.items():
        false = times[~matched[name]]
        score.false_alerts += len(false)
        windows = nuisances[nuisances["series"] == name]
        step = bucket.get(name, pd.Timedelta(days=1))
        starts, ends = _ns(windows["start"]), _ns(windows["end"] + step)
        for moment in false:
            score.false_on_nuisance += int(((starts <= moment) & (ends >= moment)).any())
    return score


def _ns(times: pd.Series) -> np.ndarray:
    return pd.DatetimeIndex(times).as_unit("ns").asi8


def _count_event(score: Score, event: Any, detected: bool) -> None:
    score.anomalies += 1
    score.detected += int(detected)
    if event.material:
        score.material += 1
        score.material_detected += int(detected)
    tally = score.by_type.setdefault(event.type, [0, 0])
    tally[0] += int(detected)
    tally[1] += 1
    sigmas = getattr(event, "noise_sigmas", None)
    if event.material and sigmas is not None and np.isfinite(sigmas):
        tally = score.by_tier.setdefault(tier(float(sigmas)), [0, 0])
        tally[0] += int(detected)
        tally[1] += 1


def score_overdue(labels: dict[str, Any], checks: pd.DataFrame, span_days: float) -> Score:
    """Score freshness output: one row per overdue check, grouped into episodes per last update."""
    period = {s["series"]: pd.Timedelta(seconds=float(s["period_s"])) for s in labels["series"]}
    score = Score()
    score.series_months = len(labels["series"]) * span_days / MONTH_DAYS
    anomalies = _events(labels, "anomaly")
    nuisances = _events(labels, "nuisance")
    checks = checks.assign(
        checked_at=pd.to_datetime(checks["checked_at"], utc=True),
        last_update=pd.to_datetime(checks["last_update"], utc=True),
    )
    episodes = (
        checks.groupby(["series", "last_update"])["checked_at"].agg(["min", "max"]).reset_index()
        if len(checks)
        else pd.DataFrame(columns=["series", "last_update", "min", "max"])
    )
    score.alerts = len(episodes)
    used = np.zeros(len(episodes), dtype=bool)
    for event in anomalies.itertuples():
        grace = period.get(event.series, pd.Timedelta(hours=1))
        mine = episodes["series"].to_numpy() == event.series
        overlap = (
            mine
            & (episodes["max"] >= event.start).to_numpy()
            & (episodes["min"] <= event.end + grace).to_numpy()
        )
        used |= overlap
        detected = bool(overlap.any())
        _count_event(score, event, detected)
        if detected and event.material:
            first = max(episodes.loc[overlap, "min"].min(), event.start)
            score.delays.append((first - event.start) / grace)
    false = episodes[~used]
    score.false_alerts = len(false)
    for episode in false.itertuples():
        grace = period.get(episode.series, pd.Timedelta(hours=1))
        windows = nuisances[nuisances["series"] == episode.series]
        inside = (windows["start"] <= episode.max) & (windows["end"] + grace >= episode.min)
        score.false_on_nuisance += int(inside.any())
    return score


def history_needed(labels: dict[str, Any], points: pd.DataFrame, rate: float = 0.9) -> int | None:
    """Smallest history (buckets before the spike) from which spikes are caught at ``rate`` or better."""
    position = {s["series"]: int(s["position"]) for s in labels["series"]}
    points = points.assign(timestamp=pd.to_datetime(points["timestamp"], utc=True))
    spikes = _events(labels, "anomaly").set_index("series")["start"]
    hits: dict[int, list[bool]] = {}
    for name, rows in points.groupby("series"):
        at = spikes[name]
        caught = bool(rows.loc[rows["timestamp"] == at, "anomaly"].astype(bool).any())
        hits.setdefault(position[str(name)], []).append(caught)
    ok = sorted(k for k, v in hits.items() if np.mean(v) >= rate)
    for k in ok:
        if all(np.mean(hits[j]) >= rate for j in hits if j >= k):
            return k
    return None
