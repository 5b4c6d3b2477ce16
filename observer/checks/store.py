"""``observer check``: the detectors over the histories the store already holds.

Freshness judges each dataset's observed writes (``dataset_updates``); volume judges its
``row_count`` series (last value per hour), walk-forward, and reports the newest point; schema reports
breaking changes since ``schema_since`` (default: the last 24 hours); distribution judges each column
metric's series like volume.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

import numpy as np

from detectors.findings import Finding, FindingKind, format_number, format_range, severity_for
from observer.catalog.identity import DatasetRef
from observer.checks.distribution import (
    CATEGORY_SHARE,
    DISTRIBUTION_METRICS,
    DISTRIBUTION_SPAN,
    judge_distributions,
)
from observer.checks.freshness import FreshnessCheck, FreshnessInput
from observer.checks.history import (
    all_datasets,
    column_metric_histories,
    metric_histories,
    update_histories,
)
from observer.checks.results import CheckResult, Status
from observer.checks.rules import CheckRules
from observer.checks.schema import breaking_changes
from observer.config.settings import ChecksSettings
from observer.incidents.lineage import LineageView, NoLineage
from observer.store import Store

AVAILABLE = ("freshness", "volume", "schema", "distribution")
FRESHNESS_SPAN = timedelta(weeks=5)
VOLUME_SPAN = timedelta(days=120)
VOLUME_METRIC = "row_count"
SCHEMA_WINDOW = timedelta(hours=24)


def run_checks(
    store: Store,
    settings: ChecksSettings,
    kinds: Collection[str],
    now: datetime,
    *,
    lineage: LineageView | None = None,
    schema_since: datetime | None = None,
    datasets: Collection[DatasetRef] | None = None,
) -> list[CheckResult]:
    """``lineage`` tells schema which dropped columns are used downstream (none when not given);
    ``datasets`` limits freshness, volume and distribution to those datasets (default: all)."""
    rules = CheckRules(settings)
    results: list[CheckResult] = []
    with store.engine.connect() as connection:
        watched = [
            ref
            for ref in all_datasets(connection)
            if rules.watches(ref) and (datasets is None or ref in datasets)
        ]
        if "freshness" in kinds:
            results += _freshness(rules, watched, update_histories(connection, now - FRESHNESS_SPAN), now)
        if "volume" in kinds:
            results += _volume(
                rules, watched, metric_histories(connection, VOLUME_METRIC, now - VOLUME_SPAN), now
            )
        if "schema" in kinds:
            since = schema_since or now - SCHEMA_WINDOW
            results += breaking_changes(
                connection,
                lineage or NoLineage(),
                since,
                now,
                include=lambda ref: rules.watches(ref) and rules.for_dataset(ref).schema,
            )
        if "distribution" in kinds:
            histories = column_metric_histories(
                connection, DISTRIBUTION_METRICS, [CATEGORY_SHARE], now - DISTRIBUTION_SPAN
            )
            results += _distribution(rules, watched, histories, now)
    return results


def _distribution(
    rules: CheckRules,
    watched: list[DatasetRef],
    histories: dict[DatasetRef, dict[tuple[str, str], list[tuple[datetime, float]]]],
    now: datetime,
) -> list[CheckResult]:
    datasets = {}
    for ref in watched:
        settings = rules.for_dataset(ref).distribution
        if settings is not None and ref in histories:
            datasets[ref] = (settings, histories[ref])
    return judge_distributions(datasets, now)


def _freshness(
    rules: CheckRules, watched: list[DatasetRef], histories: dict[DatasetRef, list[datetime]], now: datetime
) -> list[CheckResult]:
    check = FreshnessCheck()
    results = []
    for ref in watched:
        settings = rules.for_dataset(ref).freshness
        if settings is not None:
            results.append(check.judge(FreshnessInput(ref, histories.get(ref, []), settings), now))
    return results


def _volume(
    rules: CheckRules,
    watched: list[DatasetRef],
    series: dict[DatasetRef, list[tuple[datetime, float]]],
    now: datetime,
) -> list[CheckResult]:
    from detectors.grid import Frequency, instants, last_per_bucket
    from detectors.series import Points, SeriesInput, judge

    inputs, refs = [], {}
    unjudged: list[CheckResult] = []
    for ref in watched:
        settings = rules.for_dataset(ref).volume
        if settings is None:
            continue
        points = series.get(ref, [])
        if not points:
            unjudged.append(
                CheckResult("volume", ref, Status.UNKNOWN, now, f"no {VOLUME_METRIC} measured yet")
            )
            continue
        times = instants(at for at, _ in points)
        hours, values = last_per_bucket(times, np.array([value for _, value in points]), Frequency.HOURLY)
        inputs.append(SeriesInput(key=ref.node_id, values=Points(hours, values), settings=settings))
        refs[ref.node_id] = ref
    results = []
    for judgement in judge(inputs) if inputs else []:
        ref = refs[judgement.key]
        value, lower, upper = judgement.values[-1], judgement.lower[-1], judgement.upper[-1]
        if np.isnan(lower) or np.isnan(upper):
            results.append(
                CheckResult("volume", ref, Status.UNKNOWN, now, f"learning ({len(judgement.values)} points)")
            )
            continue
        expected_range = format_range(float(lower), float(upper))
        detail = f"{VOLUME_METRIC} {format_number(float(value))}, expected {expected_range}"
        if not judgement.anomaly[-1]:
            results.append(CheckResult("volume", ref, Status.OK, now, detail))
            continue
        expected = float(judgement.expected[-1])
        change = (float(value) - expected) / expected if expected else 1.0
        finding = Finding(
            kind=FindingKind.VOLUME,
            key=ref.name,
            timestamp=judgement.time(-1),
            severity=severity_for(float(judgement.score[-1]), change),
            score=float(judgement.score[-1]),
            observed=float(value),
            expected=expected,
            lower=float(lower),
            upper=float(upper),
            direction="drop" if value < lower else "spike",
            explanation=f"{ref.name} has {format_number(float(value))} rows; {expected_range} were expected.",
        )
        results.append(CheckResult("volume", ref, Status.PROBLEM, now, detail, finding=finding))
    return unjudged + results
