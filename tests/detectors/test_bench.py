"""The benchmark's generator, scorer and Elementary-equivalent baseline behave as documented."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "detectors"
sys.path.insert(0, str(BENCH))

import baseline  # noqa: E402
import generator  # noqa: E402
import scorer  # noqa: E402


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    return generator.generate(tmp_path_factory.mktemp("bench"), seed=11, tier="tiny")


def test_the_generator_is_seeded_and_labelled(tiny, tmp_path: Path):
    again = generator.generate(tmp_path, seed=11, tier="tiny")
    for signal in ("volume", "metric", "freshness"):
        assert Path(tiny[signal][0]).read_bytes() == Path(again[signal][0]).read_bytes()
        labels = scorer.load_labels(tiny[signal][1])
        anomalies = [e for e in labels["events"] if e["label"] == "anomaly"]
        nuisances = [e for e in labels["events"] if e["label"] == "nuisance"]
        assert anomalies and nuisances
        assert any(e["material"] for e in anomalies)
        if signal != "freshness":
            assert any(not e["material"] for e in anomalies)
    volume = pd.read_csv(tiny["volume"][0])
    assert list(volume.columns) == ["series", "timestamp", "value"]
    assert list(pd.read_csv(tiny["freshness"][0]).columns) == ["series", "timestamp"]


def test_a_perfect_detector_scores_full_recall_and_no_false_alerts(tiny):
    frame = pd.read_csv(tiny["volume"][0])
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    labels = scorer.load_labels(tiny["volume"][1])
    frame["anomaly"] = False
    for event in labels["events"]:
        if event["label"] == "anomaly":
            hit = (frame["series"] == event["series"]) & (frame["timestamp"] == pd.Timestamp(event["start"]))
            frame.loc[hit, "anomaly"] = True
    score = scorer.score_points(labels, frame)
    assert score.recall == 1.0 and score.false_alerts == 0 and score.precision == 1.0
    assert score.delay(0.5) == 0.0
    frame["anomaly"] = True
    noisy = scorer.score_points(labels, frame)
    assert noisy.recall == 1.0 and noisy.false_per_series_month > 20


def test_the_baseline_keeps_the_tested_point_in_its_window():
    # Samuelson: with the point inside a window of n, |z| <= (n - 1) / sqrt(n); n = 10 cannot pass 3.
    values = [100.0] * 9 + [10_000.0]
    frame = pd.DataFrame(
        {
            "series": "s",
            "timestamp": pd.date_range("2026-01-01", periods=10, freq="D", tz="UTC"),
            "value": values,
        }
    )
    judged = baseline.series_baseline(frame, clip_at_zero=True)
    assert not judged["anomaly"].any()
    assert judged["score"].iloc[-1] == pytest.approx(9 / np.sqrt(10))


def test_the_freshness_baseline_alerts_on_a_long_silence():
    updates = pd.date_range("2026-01-01 02:00", periods=40, freq="D", tz="UTC")
    frame = pd.DataFrame({"series": "t", "timestamp": updates})
    until = (updates[-1] + pd.Timedelta(days=3)).to_pydatetime()
    alerts = baseline.freshness_baseline(frame, until, pd.Timedelta(hours=1).to_pytimedelta())
    assert len(alerts) and alerts["checked_at"].min() > updates[-1] + pd.Timedelta(hours=24)
