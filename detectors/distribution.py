"""Distribution: compare a column's current window with a reference window.

Numbers: two-sample Kolmogorov-Smirnov, on raw samples or on quantile sketches (``{q: value}``,
as a profiler keeps them). Categories: population stability index (PSI) and a chi-square test,
with Cramér's V as the effect size. A shift is reported only when it is both significant and big
enough to matter (KS D, PSI or V over a floor): on a billion rows every shift is significant, and a
negligible one must not page anyone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from scipy import stats

from detectors.findings import Finding, FindingKind, Severity, format_number, format_rate
from detectors.settings import DistributionSettings

PSI_FLOOR = 1e-4  # share given to a category absent from one window


@dataclass(frozen=True)
class NumericShift:
    statistic: float  # KS D: the largest gap between the two cumulative distributions
    p_value: float
    reference_median: float
    current_median: float
    shifted: bool  # significant and at least ``min_ks_statistic``


@dataclass(frozen=True)
class CategoryShift:
    psi: float
    p_value: float
    cramers_v: float
    changes: list[tuple[str, float, float]]  # (category, reference share, current share), biggest first
    shifted: bool


def compare_samples(
    reference: np.ndarray, current: np.ndarray, settings: DistributionSettings | None = None
) -> NumericShift:
    """KS on two raw samples (NaN ignored)."""
    settings = settings or DistributionSettings()
    ref = np.asarray(reference, dtype=float)
    cur = np.asarray(current, dtype=float)
    ref, cur = ref[np.isfinite(ref)], cur[np.isfinite(cur)]
    result = stats.ks_2samp(ref, cur)
    statistic, p_value = float(result.statistic), float(result.pvalue)
    return NumericShift(
        statistic=statistic,
        p_value=p_value,
        reference_median=float(np.median(ref)),
        current_median=float(np.median(cur)),
        shifted=p_value < settings.alpha and statistic >= settings.min_ks_statistic,
    )


def compare_quantiles(
    reference: Mapping[float, float],
    current: Mapping[float, float],
    reference_count: int,
    current_count: int,
    settings: DistributionSettings | None = None,
) -> NumericShift:
    """KS on quantile sketches: each CDF is interpolated between its quantiles.

    The p-value uses the asymptotic KS distribution with the windows' row counts, so it is as
    strict as a test on the raw rows would be; the effect-size floor is what keeps big tables quiet.
    """
    settings = settings or DistributionSettings()
    ref_q, ref_v = _sketch(reference)
    cur_q, cur_v = _sketch(current)
    grid = np.union1d(ref_v, cur_v)
    ref_cdf = np.interp(grid, ref_v, ref_q, left=0.0, right=1.0)
    cur_cdf = np.interp(grid, cur_v, cur_q, left=0.0, right=1.0)
    statistic = float(np.max(np.abs(ref_cdf - cur_cdf)))
    effective = reference_count * current_count / max(reference_count + current_count, 1)
    p_value = float(stats.kstwobign.sf(statistic * np.sqrt(effective))) if effective > 0 else 1.0
    return NumericShift(
        statistic=statistic,
        p_value=p_value,
        reference_median=float(np.interp(0.5, ref_q, ref_v)),
        current_median=float(np.interp(0.5, cur_q, cur_v)),
        shifted=p_value < settings.alpha and statistic >= settings.min_ks_statistic,
    )


def _sketch(quantiles: Mapping[float, float]) -> tuple[np.ndarray, np.ndarray]:
    pairs = sorted((float(q), float(v)) for q, v in quantiles.items())
    q = np.array([p[0] for p in pairs])
    v = np.maximum.accumulate(np.array([p[1] for p in pairs]))  # a sketch must not decrease
    return q, v


def compare_categories(
    reference: Mapping[str, int], current: Mapping[str, int], settings: DistributionSettings | None = None
) -> CategoryShift:
    """PSI, chi-square and Cramér's V between two category count tables."""
    settings = settings or DistributionSettings()
    categories = sorted(set(reference) | set(current))
    ref = np.array([reference.get(c, 0) for c in categories], dtype=float)
    cur = np.array([current.get(c, 0) for c in categories], dtype=float)
    ref_share = ref / max(ref.sum(), 1.0)
    cur_share = cur / max(cur.sum(), 1.0)
    a = np.maximum(ref_share, PSI_FLOOR)
    b = np.maximum(cur_share, PSI_FLOOR)
    psi = float(np.sum((b - a) * np.log(b / a)))
    table = np.vstack([ref, cur])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        p_value, v = 1.0, 0.0
    else:
        chi2, p_value, _, _ = stats.chi2_contingency(table, correction=False)
        v = float(np.sqrt(chi2 / table.sum() / (min(table.shape) - 1)))
    order = np.argsort(-np.abs(cur_share - ref_share))
    changes = [(categories[i], float(ref_share[i]), float(cur_share[i])) for i in order]
    big_enough = psi >= settings.min_psi or v >= settings.min_cramers_v
    return CategoryShift(
        psi=psi,
        p_value=float(p_value),
        cramers_v=v,
        changes=changes,
        shifted=float(p_value) < settings.alpha and big_enough,
    )


def numeric_finding(key: str, at: datetime, shift: NumericShift) -> Finding | None:
    """A finding for a numeric column whose distribution shifted (None when it did not)."""
    if not shift.shifted:
        return None
    severity = Severity.ERROR if shift.statistic >= 0.3 else Severity.WARNING
    return Finding(
        kind=FindingKind.DISTRIBUTION,
        key=key,
        timestamp=at,
        severity=severity,
        score=round(shift.statistic, 4),
        observed=shift.current_median,
        expected=shift.reference_median,
        lower=None,
        upper=None,
        direction="shift",
        explanation=(
            f"the distribution of {key} shifted: the median moved from {format_number(shift.reference_median)} "
            f"to {format_number(shift.current_median)}; the two windows' cumulative shares differ by up to "
            f"{shift.statistic:.0%} (KS D = {shift.statistic:.2f}, {_p(shift.p_value)})."
        ),
        details={"ks_statistic": shift.statistic, "p_value": shift.p_value},
    )


def _p(value: float) -> str:
    return "p < 0.001" if value < 0.001 else f"p = {value:.3f}"


def category_finding(key: str, at: datetime, shift: CategoryShift) -> Finding | None:
    """A finding for a categorical column whose mix shifted (None when it did not)."""
    if not shift.shifted:
        return None
    category, before, after = shift.changes[0]
    if before == 0:
        what = f"a new value {category!r} appeared with {format_rate(after)} of rows"
    elif after == 0:
        what = f"{category!r} disappeared (it had {format_rate(before)} of rows)"
    else:
        verb = "grew" if after > before else "shrank"
        what = f"{category!r} {verb} from {format_rate(before)} to {format_rate(after)} of rows"
    severity = Severity.ERROR if shift.psi >= 0.5 else Severity.WARNING
    return Finding(
        kind=FindingKind.DISTRIBUTION,
        key=key,
        timestamp=at,
        severity=severity,
        score=round(shift.psi, 4),
        observed=after,
        expected=before,
        lower=None,
        upper=None,
        direction="shift",
        explanation=f"the mix of {key} shifted: {what} (PSI = {shift.psi:.2f}, Cramér's V = {shift.cramers_v:.2f}).",
        details={
            "psi": shift.psi,
            "p_value": shift.p_value,
            "cramers_v": shift.cramers_v,
            "category": category,
        },
    )
