"""Freshness: the learned rhythm predicts when the next update is due; late tables are flagged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from detectors.findings import FindingKind
from detectors.freshness import DAY, Rhythm, detect_freshness, freshness_status, learn_rhythms
from detectors.settings import FreshnessSettings, FreshnessSLA

MONDAY = datetime(2026, 1, 5, tzinfo=UTC)


def daily_updates(days: int, hour: int = 2, weekdays_only: bool = False, seed: int = 0) -> list[datetime]:
    rng = np.random.default_rng(seed)
    out = []
    for day in range(days):
        moment = MONDAY + timedelta(days=day, hours=hour, minutes=float(rng.lognormal(np.log(15), 0.4)))
        if weekdays_only and moment.weekday() >= 5:
            continue
        out.append(moment)
    return out


def test_a_daily_table_is_fresh_until_its_usual_time_has_clearly_passed():
    updates = daily_updates(40)
    last = updates[-1]
    next_day = last.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    assert detect_freshness(updates, next_day + timedelta(hours=2, minutes=30), key="orders") is None
    finding = detect_freshness(updates, next_day + timedelta(hours=12), key="orders")
    assert finding is not None
    assert finding.kind is FindingKind.FRESHNESS and finding.direction == "late"
    assert "it usually updates daily at about 02:" in finding.explanation
    assert finding.explanation.startswith(f"orders was last updated {last:%Y-%m-%d %H:%M} UTC")


def test_the_finding_clears_when_the_table_updates():
    updates = daily_updates(40)
    late = updates[-1] + timedelta(days=1, hours=10)
    assert detect_freshness(updates, late, key="orders") is not None
    assert detect_freshness([*updates, late], late + timedelta(minutes=1), key="orders") is None


def test_weekday_only_tables_are_not_expected_on_weekends():
    updates = daily_updates(40, weekdays_only=True)
    friday = updates[-1]
    assert friday.weekday() == 4
    status = freshness_status(updates, friday + timedelta(days=2, hours=12))  # Sunday afternoon
    assert not status.overdue
    assert status.model is not None and "weekdays only" in status.model.describe()
    assert freshness_status(updates, friday + timedelta(days=3, hours=12)).overdue  # Monday afternoon


def test_an_hourly_table_is_flagged_within_about_an_hour_of_a_missed_update():
    start = MONDAY
    updates = [start + timedelta(hours=h, minutes=5 + (h * 7) % 4) for h in range(24 * 20)]
    last = updates[-1]
    assert not freshness_status(updates, last + timedelta(minutes=50)).overdue
    assert freshness_status(updates, last + timedelta(hours=2, minutes=30)).overdue


def test_irregular_tables_are_judged_on_their_gaps():
    rng = np.random.default_rng(5)
    gaps = rng.exponential(3 * 3600, 300)
    updates = [MONDAY + timedelta(seconds=float(s)) for s in np.cumsum(gaps)]
    status = freshness_status(updates, updates[-1] + timedelta(hours=6))
    assert status.model is not None and status.model.rhythm is Rhythm.IRREGULAR
    assert not status.overdue
    assert freshness_status(updates, updates[-1] + timedelta(days=4)).overdue


def test_too_little_history_is_not_judged():
    updates = daily_updates(2)
    assert detect_freshness(updates, updates[-1] + timedelta(days=30), key="orders") is None


def test_an_explicit_max_age_overrides_the_learned_rhythm():
    updates = daily_updates(40)
    sla = FreshnessSettings(sla=FreshnessSLA(max_age=timedelta(hours=6)))
    now = updates[-1] + timedelta(hours=7)
    assert detect_freshness(updates, now, key="orders") is None
    finding = detect_freshness(updates, now, key="orders", settings=sla)
    assert finding is not None and "on its SLA" in finding.explanation


def test_a_cron_expected_by_sla_sets_the_deadline():
    updates = [MONDAY + timedelta(hours=1)]
    sla = FreshnessSettings(sla=FreshnessSLA(expected_by="0 6 * * *"))
    assert not freshness_status(updates, MONDAY + timedelta(days=1, hours=5), sla).overdue
    status = freshness_status(updates, MONDAY + timedelta(days=1, hours=7), sla)
    assert status.overdue and status.due_by == MONDAY + timedelta(days=1, hours=6)


def test_naive_times_are_read_as_utc():
    updates = [u.replace(tzinfo=None) for u in daily_updates(40)]
    status = freshness_status(updates, datetime(2026, 2, 20, 12))
    assert status.last_update is not None and status.last_update.tzinfo is not None


@pytest.mark.parametrize("sensitivity", ["low", "medium", "high"])
def test_every_sensitivity_flags_a_skipped_day(sensitivity: str):
    updates = daily_updates(40)
    settings = FreshnessSettings(sensitivity=sensitivity)  # type: ignore[arg-type]
    assert freshness_status(updates, updates[-1] + timedelta(days=2), settings).overdue


def _same_model(a, b) -> bool:
    if a is None or b is None:
        return a is b
    fields = ("rhythm", "period", "phase", "typical_lateness", "tolerance", "max_gap")
    same_active = (a.active is None and b.active is None) or (
        a.active is not None and b.active is not None and np.array_equal(a.active, b.active)
    )
    return same_active and all(getattr(a, f) == getattr(b, f) for f in fields)


@pytest.mark.parametrize(
    "updates",
    [
        daily_updates(60, weekdays_only=True, seed=3),
        [MONDAY + timedelta(hours=h, minutes=(h * 13) % 9) for h in range(24 * 45) if h % 24 not in (3, 4)],
        [MONDAY + timedelta(hours=6 * k, minutes=20 + (k * 7) % 11) for k in range(4 * 50)],
        [
            MONDAY + timedelta(seconds=float(s))
            for s in np.cumsum(np.random.default_rng(2).exponential(5 * 3600, 250))
        ],
    ],
    ids=["weekdays", "hourly-with-quiet-hours", "every-6h", "irregular"],
)
def test_learning_every_day_at_once_gives_what_each_day_learns_alone(updates: list[datetime]):
    stamps = np.array([int(u.timestamp()) * 10**9 for u in updates], dtype=np.int64)
    first_day = stamps[0] - stamps[0] % DAY
    cutoffs = np.arange(first_day, stamps[-1] + 2 * DAY, DAY)
    bulk = learn_rhythms(stamps, cutoffs, FreshnessSettings())
    learned = 0
    for row, cutoff in enumerate(cutoffs.tolist()):
        alone = learn_rhythms(stamps[stamps < cutoff], np.array([cutoff]), FreshnessSettings()).model(0)
        assert _same_model(bulk.model(row), alone), row
        learned += alone is not None
    assert learned >= len(cutoffs) - 5
