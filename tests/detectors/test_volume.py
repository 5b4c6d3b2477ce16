"""Volume checks, as a user of ``detect_volume`` sees them."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from detectors.findings import FindingKind, Severity
from detectors.settings import Direction, SeriesSettings
from detectors.volume import (
    detect_volume,
    detect_volume_batch,
    judge_volume,
    rows_from_runs,
    rows_from_totals,
)
from tests.detectors.helpers import daily, weekly_rows


def test_a_tuesday_drop_is_flagged_with_the_range_of_past_tuesdays():
    rows = weekly_rows(120)
    tuesday = rows.index[rows.index.day_of_week == 1][-1]
    rows[tuesday] = 1_204
    findings = detect_volume(rows, key="orders", since=rows.index[-10])
    assert [f.timestamp for f in findings] == [tuesday.to_pydatetime()]
    finding = findings[0]
    assert finding.kind is FindingKind.VOLUME
    assert finding.direction == "drop"
    assert finding.severity is Severity.CRITICAL
    assert finding.observed == 1_204
    assert finding.lower is not None and finding.upper is not None
    assert finding.lower > 1_204 and finding.lower < finding.expected < finding.upper
    assert finding.explanation.startswith(
        f"orders got 1,204 rows on Tuesday {tuesday:%Y-%m-%d}; the last 8 Tuesdays had "
    )
    assert "(expected " in finding.explanation and "\u2013" in finding.explanation  # an en dash range


def test_quiet_weekends_are_learned_and_do_not_alert():
    rows = weekly_rows(150)
    judgement = judge_volume(rows, key="orders")
    assert not judgement.anomaly.any()
    assert (judgement.period[-60:] == 7).all()  # the weekly season was found, not configured


def test_the_judged_point_is_not_part_of_its_own_training():
    # Eight quiet days then a tenfold spike: a z-score computed with the spike inside its own window
    # cannot exceed 2.5 here (Samuelson); ours flags it.
    rows = daily(np.array([100, 104, 98, 101, 99, 103, 97, 100, 1000.0]))
    findings = detect_volume(rows, key="orders")
    assert len(findings) == 1 and findings[0].direction == "spike"


def test_a_legitimate_level_shift_stops_alerting_after_a_few_points():
    rows = weekly_rows(140, seed=3)
    rows.iloc[100:] = np.round(rows.iloc[100:] * 1.8)
    judgement = judge_volume(rows, key="orders")
    alerts = np.flatnonzero(judgement.anomaly)
    assert set(alerts) <= {100, 101, 102}
    assert not judgement.anomaly[103:].any()


def test_a_multi_day_incident_does_not_leave_alerts_behind_it():
    rows = weekly_rows(140, seed=4)
    rows.iloc[100:104] = np.round(rows.iloc[100:104] * 0.3)
    judgement = judge_volume(rows, key="orders")
    assert judgement.anomaly[100]
    assert not judgement.anomaly[105:].any()


def test_a_zero_heavy_sparse_series_does_not_alert_on_ordinary_zeros_or_bursts():
    rng = np.random.default_rng(7)
    values = np.where(rng.random(200) < 0.2, rng.poisson(40, 200), 0).astype(float)
    judgement = judge_volume(daily(values), key="rare_events")
    assert (values == 0).sum() > 120
    assert not judgement.anomaly.any()


def test_low_counts_do_not_alert_on_poisson_noise():
    rng = np.random.default_rng(8)
    judgement = judge_volume(daily(rng.poisson(3, 200).astype(float)), key="tiny")
    assert not judgement.anomaly.any()


def test_a_stable_table_does_not_alert_on_tiny_changes():
    values = np.full(100, 50_000.0)
    values[90] = 50_300  # +0.6 %: far outside a zero-variance band, but immaterial
    assert not judge_volume(daily(values), key="stable").anomaly.any()


def test_confirmed_anomalies_stay_out_of_training():
    rows = weekly_rows(120, seed=5)
    first, second = rows.index[80], rows.index[87]  # two Mondays a week apart
    rows[first] = 0
    rows[second] = 0
    judgement = judge_volume(rows, key="orders", excluded=[first])
    assert judgement.anomaly[80] and judgement.anomaly[87]
    assert not judgement.trained[80]


def test_points_marked_expected_never_alert_and_are_not_learned_from():
    rows = weekly_rows(120, seed=6)
    migration = rows.index[90]
    rows[migration] = rows[migration] * 20
    assert judge_volume(rows, key="orders").anomaly[90]
    judgement = judge_volume(rows, key="orders", expected=[migration])
    assert not judgement.anomaly.any()
    assert not judgement.trained[90]
    later = judge_volume(rows, key="orders", expected=[migration])
    assert later.upper[97] < rows.iloc[90]  # the next Wednesday's band did not stretch to the spike


def test_direction_drop_ignores_spikes():
    rows = weekly_rows(100)
    rows.iloc[-1] = rows.iloc[-1] * 10
    assert detect_volume(rows, key="orders", settings=SeriesSettings(direction=Direction.DROP)) == []
    assert detect_volume(rows, key="orders")[0].direction == "spike"


def test_holidays_from_the_calendar_are_not_read_as_outages():
    rows = weekly_rows(120, profile=np.array([1, 1, 1, 1, 1, 0, 0.0]))
    holiday = rows.index[100]
    assert holiday.day_of_week < 5
    rows[holiday] = 0
    assert judge_volume(rows, key="orders").anomaly[100]
    calendar = SeriesSettings(holidays=frozenset({holiday.date(), date(2026, 1, 1)}))
    assert not judge_volume(rows, key="orders", settings=calendar).anomaly[100]


def test_month_end_bumps_are_expected_and_learned():
    rows = weekly_rows(200, cv=0.02)
    month_end = rows.index.is_month_end
    rows[month_end] = rows[month_end] * 2.5
    assert not judge_volume(rows, key="billing").anomaly.any()
    rows = weekly_rows(200, cv=0.02)
    rows[month_end] = rows[month_end] * 8  # more than a month end usually brings: flagged at first
    judgement = judge_volume(rows, key="billing")
    alerts = rows.index[judgement.anomaly]
    assert all(moment.is_month_end for moment in alerts) and 1 <= len(alerts) <= 2
    assert not judgement.anomaly[np.asarray(month_end)][-3:].any()


def test_a_spike_on_a_holiday_does_not_teach_the_model_that_holidays_spike():
    rows = weekly_rows(150, cv=0.02)
    first, second = rows.index[72], rows.index[100]  # a Wednesday and a Thursday
    rows[first] = rows[first] * 2
    rows[second] = rows[second] * 2
    calendar = SeriesSettings(holidays=frozenset({first.date(), second.date()}))
    judgement = judge_volume(rows, key="orders", settings=calendar)
    assert judgement.anomaly[72] and judgement.anomaly[100]


def test_a_weekday_only_table_is_judged_in_its_first_weeks():
    rows = weekly_rows(28, cv=0.02, profile=np.array([1, 1, 1, 1, 1, 0, 0.0]))
    rows.iloc[22] = np.round(rows.iloc[22] * 0.5)  # the fourth Tuesday
    judgement = judge_volume(rows, key="orders")
    assert np.flatnonzero(judgement.anomaly).tolist() == [22]


def test_a_short_history_can_already_alert():
    rows = weekly_rows(8, profile=np.ones(7))
    rows.iloc[7] = rows.iloc[7] * 8
    judgement = judge_volume(rows, key="new_table")
    assert judgement.anomaly[7]
    assert np.isnan(judgement.expected[0])  # the very first points cannot be judged


def test_hourly_series_learn_their_daily_rhythm():
    rng = np.random.default_rng(2)
    index = pd.date_range("2026-01-05", periods=24 * 28, freq="h", tz="UTC")
    curve = 0.2 + np.sin(np.pi * index.hour / 24) ** 2
    rows = pd.Series(np.round(5_000 * curve * np.exp(rng.normal(0, 0.03, len(index)))), index=index)
    rows.iloc[-10] = 0
    findings = detect_volume(rows, key="events", since=index[-24])
    assert [f.timestamp for f in findings] == [index[-10].to_pydatetime()]
    assert "UTC" in findings[0].explanation and "at " in findings[0].explanation


def test_rows_from_totals_and_runs_build_bucket_series():
    times = pd.to_datetime(
        ["2026-01-01T01:00Z", "2026-01-01T20:00Z", "2026-01-02T03:00Z", "2026-01-03T05:00Z"]
    )
    totals = pd.Series([100.0, 150.0, 170.0, 260.0], index=times)
    deltas = rows_from_totals(totals)
    assert deltas.tolist() == [20.0, 90.0]
    runs = pd.DataFrame({"end": times, "rows": [5, 7, 11, 13]})
    per_day = rows_from_runs(runs)
    assert per_day.tolist() == [12.0, 11.0, 13.0]


def test_many_tables_are_judged_in_one_batch_like_one_by_one():
    tables = {f"t{i}": weekly_rows(90, seed=i) for i in range(5)}
    tables["t3"].iloc[-1] = 0
    batch = detect_volume_batch(tables)
    assert [f.key for f in batch] == ["t3"]
    single = detect_volume(tables["t3"], key="t3")
    assert batch[0].explanation == single[0].explanation


def test_a_new_weekly_pattern_is_learned_after_three_weeks():
    rows = weekly_rows(200, seed=3)
    saturdays = (rows.index.day_of_week == 5) & (np.arange(200) >= 100)
    rows[saturdays] = rows[saturdays] * 2.0
    judgement = judge_volume(rows, key="orders")
    alerts = np.flatnonzero(judgement.anomaly)
    assert len(alerts) == 3 and all(rows.index[i].day_of_week == 5 for i in alerts)
