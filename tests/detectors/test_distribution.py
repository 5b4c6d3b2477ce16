"""Window-to-window distribution checks are gated by effect size, not only by p-values."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import numpy as np

from detectors.distribution import (
    category_finding,
    compare_categories,
    compare_quantiles,
    compare_samples,
    numeric_finding,
)

AT = datetime(2026, 3, 3, tzinfo=UTC)
QUANTILES = [0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99]


def test_a_negligible_shift_on_many_rows_is_significant_but_not_reported():
    rng = np.random.default_rng(0)
    shift = compare_samples(rng.normal(0, 1, 200_000), rng.normal(0.02, 1, 200_000))
    assert shift.p_value < 0.001
    assert not shift.shifted
    assert numeric_finding("orders.amount", AT, shift) is None


def test_a_real_shift_is_reported_with_both_medians():
    rng = np.random.default_rng(1)
    shift = compare_samples(rng.normal(40, 10, 5_000), rng.normal(50, 10, 5_000))
    finding = numeric_finding("orders.amount", AT, shift)
    assert finding is not None
    assert re.match(
        r"the distribution of orders.amount shifted: the median moved from 39\.\d+ to 50\.\d+;",
        finding.explanation,
    )
    assert finding.explanation.endswith("(KS D = 0.39, p < 0.001).")


def test_quantile_sketches_are_compared_like_samples():
    rng = np.random.default_rng(2)
    a, b = rng.normal(0, 1, 50_000), rng.normal(0.5, 1, 50_000)
    sketch = compare_quantiles(
        dict(zip(QUANTILES, np.quantile(a, QUANTILES), strict=True)),
        dict(zip(QUANTILES, np.quantile(b, QUANTILES), strict=True)),
        50_000,
        50_000,
    )
    exact = compare_samples(a, b)
    assert sketch.shifted and abs(sketch.statistic - exact.statistic) < 0.03
    same = compare_quantiles(
        dict(zip(QUANTILES, np.quantile(a, QUANTILES), strict=True)),
        dict(zip(QUANTILES, np.quantile(a, QUANTILES), strict=True)),
        50_000,
        50_000,
    )
    assert not same.shifted


def test_category_mix_changes_use_psi_and_ignore_tiny_moves():
    stable = compare_categories(
        {"a": 5_000_000, "b": 3_000_000, "c": 2_000_000}, {"a": 5_010_000, "b": 2_995_000, "c": 1_995_000}
    )
    assert stable.p_value < 0.001 and not stable.shifted
    moved = compare_categories({"paid": 9_000, "refunded": 1_000}, {"paid": 6_000, "refunded": 4_000})
    finding = category_finding("orders.status", AT, moved)
    assert finding is not None
    assert (
        "'refunded' grew from 10% to 40% of rows" in finding.explanation
        or "'paid' shrank" in finding.explanation
    )
    assert moved.psi > 0.2


def test_a_new_category_is_named():
    moved = compare_categories(
        {"paid": 9_000, "refunded": 1_000}, {"paid": 5_000, "refunded": 1_000, "chargeback": 4_000}
    )
    finding = category_finding("orders.status", AT, moved)
    assert finding is not None and "a new value 'chargeback' appeared with 40% of rows" in finding.explanation
