"""Run health: failed runs and duration anomalies of one job's runs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from detectors.findings import FindingKind
from detectors.runs import detect_runs


def job_runs(count: int = 40, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    starts = pd.date_range("2026-01-01 02:00", periods=count, freq="D", tz="UTC")
    starts = starts + pd.to_timedelta(rng.integers(0, 600, count), unit="s")
    seconds = 600 * np.exp(rng.normal(0, 0.05, count))
    return pd.DataFrame(
        {"state": "COMPLETE", "start": starts, "end": starts + pd.to_timedelta(seconds, unit="s")}
    )


def test_ordinary_runs_raise_nothing():
    runs = job_runs()
    assert detect_runs(runs, key="job", since=runs["start"].iloc[0]) == []


def test_a_failed_run_is_reported():
    runs = job_runs()
    runs.loc[39, "state"] = "FAIL"
    findings = detect_runs(runs, key="daily_orders")
    assert [f.kind for f in findings] == [FindingKind.RUN_FAILED]
    assert findings[0].explanation.endswith("ended in FAIL.")


def test_a_run_five_times_slower_than_usual_is_reported():
    runs = job_runs()
    runs.loc[39, "end"] = runs.loc[39, "start"] + pd.Timedelta(minutes=50)
    findings = detect_runs(runs, key="daily_orders")
    assert [f.kind for f in findings] == [FindingKind.RUN_DURATION]
    assert findings[0].direction == "slow"
    assert "took 50m; runs usually take about 10m" in findings[0].explanation


def test_many_runs_a_day_are_judged_as_a_sequence():
    rng = np.random.default_rng(3)
    starts = pd.date_range("2026-01-01", periods=200, freq="20min", tz="UTC")
    seconds = 60 * np.exp(rng.normal(0, 0.05, 200))
    seconds[-1] = 900
    runs = pd.DataFrame(
        {"state": "COMPLETE", "start": starts, "end": starts + pd.to_timedelta(seconds, unit="s")}
    )
    findings = detect_runs(runs, key="streaming_job")
    assert len(findings) == 1 and findings[0].direction == "slow"
