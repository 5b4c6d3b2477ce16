"""The distribution check: each column metric the collectors measure (null rate, distinct ratio, mean,
stddev, quartiles, category shares), judged walk-forward like volume, one series per column and metric.

Category shares are judged as series of their own (one per value), not as a mix: the catalog holds
shares of the top values, not the counts a chi-square test needs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

import numpy as np

from detectors.findings import Finding, FindingKind
from detectors.settings import SeriesSettings
from observer.catalog.identity import DatasetRef
from observer.checks.results import CheckResult, Status

DISTRIBUTION_METRICS = ("null_rate", "distinct_ratio", "mean", "stddev", "p25", "p50", "p75")
CATEGORY_SHARE = "category_share:"
DISTRIBUTION_SPAN = timedelta(days=120)

ColumnSeries = dict[tuple[str, str], list[tuple[datetime, float]]]


def judge_distributions(
    datasets: dict[DatasetRef, tuple[SeriesSettings, ColumnSeries]], now: datetime
) -> list[CheckResult]:
    """One result per dataset: PROBLEM naming every column metric whose newest point is out of its
    range (the finding is the strongest), OK when all were judged in range, else UNKNOWN."""
    # pandas and the series model are imported here, when there is something to judge: a process that
    # only imports the checks (the sidecar, ``observer check freshness``) stays ~60 MiB smaller.
    import pandas as pd

    from detectors.explain import anomalies_since, point_finding, rate_or_number
    from detectors.series import SeriesInput, infer_metric_kind, judge

    inputs, owners = [], {}
    for ref, (settings, columns) in datasets.items():
        for (column, metric), points in columns.items():
            index = pd.DatetimeIndex([at for at, _ in points])
            values = pd.Series([value for _, value in points], index=index, dtype=float)
            hourly = values.groupby(index.floor("h")).last()
            kind = infer_metric_kind(hourly.to_numpy(dtype=float))
            key = f"{ref.node_id}|{column}|{metric}"
            inputs.append(SeriesInput(key, hourly, replace(settings, kind=kind)))
            owners[key] = (ref, column, metric)
    findings: dict[DatasetRef, list[Finding]] = {ref: [] for ref in datasets}
    judged: dict[DatasetRef, int] = dict.fromkeys(datasets, 0)
    for judgement in judge(inputs) if inputs else []:
        ref, column, metric = owners[judgement.key]
        if np.isnan(judgement.lower[-1]) or np.isnan(judgement.upper[-1]):
            continue
        judged[ref] += 1
        fmt = rate_or_number(judgement.settings.kind)
        name, label = f"{ref.name}.{column}", metric.replace("_", " ")
        for position in anomalies_since(judgement, None):
            finding = point_finding(
                replace(judgement, key=name),
                position,
                FindingKind.METRIC,
                _describe(label, name, fmt),
            )
            finding.details.update(column=column, metric=metric)
            findings[ref].append(finding)
    results = []
    for ref in datasets:
        if findings[ref]:
            strongest = max(findings[ref], key=lambda finding: finding.score)
            detail = ", ".join(f"{f.details['column']} {f.details['metric']}" for f in findings[ref])
            results.append(
                CheckResult("distribution", ref, Status.PROBLEM, now, f"out of range: {detail}", strongest)
            )
        elif judged[ref]:
            results.append(
                CheckResult("distribution", ref, Status.OK, now, f"{judged[ref]} column metrics in range")
            )
        else:
            results.append(
                CheckResult("distribution", ref, Status.UNKNOWN, now, "no column metric with enough history")
            )
    return results


def _describe(metric: str, column: str, fmt: Callable[[float], str]) -> Callable[[float, str], str]:
    """The observation in ``detectors.metric.detect_metric``'s words."""
    return lambda value, when: f"the {metric} of {column} was {fmt(value)} on {when}"
