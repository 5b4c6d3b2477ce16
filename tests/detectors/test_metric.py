"""Column-metric checks: rates in percentage points, levels relative to their size, event lag."""

from __future__ import annotations

import numpy as np

from detectors.findings import FindingKind
from detectors.metric import detect_event_freshness, detect_metric, judge_metric
from detectors.series import infer_metric_kind
from detectors.settings import MetricKind
from tests.detectors.helpers import daily


def test_a_null_rate_creeping_from_zero_to_half_a_percent_does_not_page():
    rates = np.zeros(100)
    rates[-1] = 0.005
    assert detect_metric(daily(rates), key="orders.email", metric="null rate") == []


def test_a_null_rate_jump_of_several_points_is_flagged_in_percent():
    rng = np.random.default_rng(1)
    rates = np.abs(rng.normal(0.002, 0.0005, 100))
    rates[-1] = 0.08
    findings = detect_metric(daily(rates), key="orders.email", metric="null rate")
    assert len(findings) == 1
    finding = findings[0]
    assert finding.kind is FindingKind.METRIC and finding.direction == "spike"
    assert finding.explanation.startswith("the null rate of orders.email was 8% on ")
    assert finding.lower is not None and finding.lower >= 0.0  # a rate's range never goes below 0 %


def test_a_mean_shift_is_flagged_and_noise_is_not():
    rng = np.random.default_rng(2)
    means = 250 + rng.normal(0, 3, 120)
    judgement = judge_metric(daily(means), key="orders.amount")
    assert not judgement.anomaly.any()
    means[-1] = 320
    assert judge_metric(daily(means), key="orders.amount").anomaly[-1]


def test_metric_kinds_are_inferred_from_values():
    assert infer_metric_kind(np.array([0.0, 0.2, 1.0])) is MetricKind.RATE
    assert infer_metric_kind(np.array([3.0, 1200.0, 87.0])) is MetricKind.COUNT
    assert infer_metric_kind(np.array([-2.5, 3.1])) is MetricKind.LEVEL


def test_growing_event_lag_is_an_event_freshness_finding():
    rng = np.random.default_rng(3)
    lags = 1800 * np.exp(rng.normal(0, 0.1, 60))
    lags[-1] = 6 * 3600
    findings = detect_event_freshness(daily(lags), key="events")
    assert len(findings) == 1
    assert findings[0].kind is FindingKind.EVENT_FRESHNESS
    assert "the newest event in events was 6h" in findings[0].explanation


def test_event_lag_shrinking_is_not_a_problem():
    rng = np.random.default_rng(4)
    lags = 1800 * np.exp(rng.normal(0, 0.1, 60))
    lags[-1] = 10
    assert detect_event_freshness(daily(lags), key="events") == []
