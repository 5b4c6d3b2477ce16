"""Run health from OpenLineage runs: failed runs, and runs that took unusually long (or short).

Input: a frame with one row per run of one job, columns ``state`` (OpenLineage eventType of the
run's end: COMPLETE, FAIL, ABORT...), ``start`` and ``end`` (UTC), optionally ``run_id``.
Durations of completed runs go through the same robust model as volume, on a log scale; each run
is a bucket of the job's own rhythm (daily or hourly), or simply the next step when runs are more
frequent than that.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from detectors.findings import Finding, FindingKind, Severity, format_duration
from detectors.grid import DuplicateBucket, place_on_grid
from detectors.series import SeriesInput, judge
from detectors.settings import Direction, MetricKind, RunSettings, SeriesSettings, thresholds_for

SEQUENCE_START = pd.Timestamp("2001-01-01", tz="UTC")  # a Monday: anchor for runs judged as a sequence


def detect_runs(
    runs: pd.DataFrame, *, key: str, since: datetime | None = None, settings: RunSettings | None = None
) -> list[Finding]:
    """Findings for failed runs and duration anomalies of runs that started at or after ``since``."""
    settings = settings or RunSettings()
    if runs.empty:
        return []
    frame = runs.assign(
        start=pd.to_datetime(runs["start"], utc=True),
        end=pd.to_datetime(runs["end"], utc=True),
        state=runs["state"].astype(str).str.upper(),
    ).sort_values("start", kind="stable")
    cutoff = _cutoff(frame, since)
    findings = [
        _failed(key, row)
        for row in frame[frame["start"] >= cutoff].itertuples()
        if row.state in settings.failed_states
    ]
    findings += _durations(key, frame, cutoff, settings)
    return sorted(findings, key=lambda f: f.timestamp)


def _cutoff(frame: pd.DataFrame, since: datetime | None) -> pd.Timestamp:
    if since is None:
        return pd.Timestamp(frame["start"].iloc[-1])
    cutoff = pd.Timestamp(since)
    return cutoff.tz_localize("UTC") if cutoff.tz is None else cutoff.tz_convert("UTC")


def _failed(key: str, row: object) -> Finding:
    start: pd.Timestamp = row.start  # type: ignore[attr-defined]
    state: str = row.state  # type: ignore[attr-defined]
    run_id = getattr(row, "run_id", None)
    return Finding(
        kind=FindingKind.RUN_FAILED,
        key=key,
        timestamp=start.to_pydatetime(),
        severity=Severity.ERROR,
        score=1.0,
        observed=None,
        expected=None,
        lower=None,
        upper=None,
        direction="failed",
        explanation=f"{key}: the run started {start:%Y-%m-%d %H:%M} UTC ended in {state}.",
        details={"state": state, "run_id": run_id},
    )


def _durations(key: str, frame: pd.DataFrame, cutoff: pd.Timestamp, settings: RunSettings) -> list[Finding]:
    done = frame[(frame["state"] == "COMPLETE") & frame["end"].notna()]
    if len(done) < 2:
        return []
    seconds = (done["end"] - done["start"]).dt.total_seconds().to_numpy()
    starts = pd.DatetimeIndex(done["start"])
    try:
        place_on_grid(starts)
        index = starts
    except DuplicateBucket:  # several runs per bucket: judge them as a plain sequence
        index = pd.date_range(SEQUENCE_START, periods=len(done), freq="D")
    thresholds = thresholds_for(MetricKind.COUNT, settings.sensitivity)
    series_settings = SeriesSettings(
        kind=MetricKind.COUNT,
        direction=Direction.BOTH,
        thresholds=thresholds,
        sensitivity=settings.sensitivity,
    )
    judgement = judge([SeriesInput(key, pd.Series(seconds, index=index), series_settings)])[0]
    findings = []
    for position in np.flatnonzero(judgement.anomaly).tolist():
        run = done.iloc[position]  # runs are sorted by start, like the judgement
        if run["start"] < cutoff:
            continue
        observed = float(judgement.values[position])
        expected = float(judgement.expected[position])
        slower = observed > expected
        took = format_duration(pd.Timedelta(seconds=observed).to_pytimedelta())
        usual = format_duration(pd.Timedelta(seconds=expected).to_pytimedelta())
        findings.append(
            Finding(
                kind=FindingKind.RUN_DURATION,
                key=key,
                timestamp=run["start"].to_pydatetime(),
                severity=Severity.WARNING,
                score=round(float(judgement.score[position]), 3),
                observed=observed,
                expected=expected,
                lower=float(judgement.lower[position]),
                upper=float(judgement.upper[position]),
                direction="slow" if slower else "fast",
                explanation=(
                    f"{key}: the run started {run['start']:%Y-%m-%d %H:%M} UTC took {took}; runs usually take "
                    f"about {usual} ({'slower' if slower else 'faster'} than anything expected)."
                ),
                details={"run_id": run.get("run_id")},
            )
        )
    return findings
