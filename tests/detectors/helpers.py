"""Small, readable histories for the detector tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

WEEKLY = np.array([1.0, 1.05, 1.0, 1.0, 0.95, 0.4, 0.3])  # Monday first: quiet weekends


def daily(values: np.ndarray, start: str = "2026-01-05") -> pd.Series:
    """A daily series starting on a Monday (2026-01-05)."""
    return pd.Series(values, index=pd.date_range(start, periods=len(values), freq="D", tz="UTC"))


def weekly_rows(
    days: int, level: float = 10_000, cv: float = 0.03, seed: int = 1, profile=WEEKLY
) -> pd.Series:
    rng = np.random.default_rng(seed)
    index = pd.date_range("2026-01-05", periods=days, freq="D", tz="UTC")
    values = level * profile[index.day_of_week] * np.exp(rng.normal(0, cv, days))
    return pd.Series(np.round(values), index=index)
