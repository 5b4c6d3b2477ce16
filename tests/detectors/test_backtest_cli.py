"""``observer backtest volume|metric|freshness``: the file formats of DESIGN.md, and clear input errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from observer.cli.main import app
from tests.detectors.helpers import weekly_rows

runner = CliRunner()
POINT_KEYS = ["series", "timestamp", "value", "expected", "lower", "upper", "score", "anomaly"]


def write_series_csv(path: Path) -> None:
    a = weekly_rows(60, seed=1)
    a.iloc[-1] = 0
    b = weekly_rows(30, seed=2, level=500)
    rows = [("orders", t, v) for t, v in a.items()] + [("users", t, v) for t, v in b.items()]
    frame = pd.DataFrame(rows, columns=["series", "timestamp", "value"])
    frame["timestamp"] = pd.DatetimeIndex(frame["timestamp"]).strftime("%Y-%m-%dT%H:%M:%SZ")
    frame.to_csv(path, index=False)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_volume_backtest_writes_one_judgement_per_point(tmp_path: Path):
    source, out = tmp_path / "history.csv", tmp_path / "out.jsonl"
    write_series_csv(source)
    result = runner.invoke(app, ["backtest", "volume", "--input", str(source), "--output", str(out)])
    assert result.exit_code == 0, result.output
    records = read_jsonl(out)
    assert len(records) == 90
    assert all(list(r) == POINT_KEYS for r in records)
    first = records[0]
    assert first["series"] == "orders" and first["timestamp"] == "2026-01-05T00:00:00Z"
    assert first["anomaly"] is False and first["expected"] is None and first["lower"] is None
    last_orders = [r for r in records if r["series"] == "orders"][-1]
    assert last_orders["value"] == 0 and last_orders["anomaly"] is True
    assert last_orders["lower"] > 0 and last_orders["upper"] > last_orders["expected"] > last_orders["lower"]


def test_sensitivity_changes_the_band(tmp_path: Path):
    source = tmp_path / "history.csv"
    write_series_csv(source)
    widths = {}
    for level in ("low", "high"):
        out = tmp_path / f"{level}.jsonl"
        result = runner.invoke(
            app, ["backtest", "volume", "--input", str(source), "--output", str(out), "--sensitivity", level]
        )
        assert result.exit_code == 0, result.output
        last = read_jsonl(out)[58]
        widths[level] = last["upper"] - last["lower"]
    assert widths["high"] < widths["low"]


def test_metric_backtest_reads_rates(tmp_path: Path):
    source, out = tmp_path / "rates.csv", tmp_path / "out.jsonl"
    times = pd.date_range("2026-01-01", periods=50, freq="D").strftime("%Y-%m-%d")
    rates = np.full(50, 0.01)
    rates[-1] = 0.2
    pd.DataFrame({"series": "orders.email.null_rate", "timestamp": times, "value": rates}).to_csv(
        source, index=False
    )
    result = runner.invoke(app, ["backtest", "metric", "--input", str(source), "--output", str(out)])
    assert result.exit_code == 0, result.output
    records = read_jsonl(out)
    assert [r["anomaly"] for r in records].count(True) == 1 and records[-1]["anomaly"] is True
    assert records[-1]["upper"] <= 1.0


def test_freshness_backtest_reports_overdue_checks(tmp_path: Path):
    source, out = tmp_path / "updates.csv", tmp_path / "out.jsonl"
    days = pd.date_range("2026-01-01 02:10", periods=30, freq="D", tz="UTC")
    updates = days.delete(25)  # the load of the 26th day never happens
    pd.DataFrame({"series": "orders", "timestamp": updates.strftime("%Y-%m-%dT%H:%M:%SZ")}).to_csv(
        source, index=False
    )
    args = ["backtest", "freshness", "--input", str(source), "--until", "2026-01-30T12:00:00Z"]
    result = runner.invoke(app, [*args, "--check-every", "15m", "--output", str(out)])
    assert result.exit_code == 0, result.output
    records = read_jsonl(out)
    assert records and all(
        list(r) == ["series", "checked_at", "last_update", "expected_by", "anomaly"] for r in records
    )
    assert {r["last_update"] for r in records} == {"2026-01-25T02:10:00Z"}
    assert all(r["anomaly"] is True for r in records)
    checked = pd.to_datetime([r["checked_at"] for r in records])
    assert checked.min() > pd.Timestamp("2026-01-26T02:10:00Z") and checked.max() < pd.Timestamp(
        "2026-01-27T02:10Z"
    )
    assert all(r["checked_at"] > r["expected_by"] for r in records)


def test_a_bad_value_names_the_file_and_line(tmp_path: Path):
    source = tmp_path / "bad.csv"
    source.write_text("series,timestamp,value\norders,2026-01-01,10\norders,2026-01-02,ten\n")
    result = runner.invoke(
        app, ["backtest", "volume", "--input", str(source), "--output", str(tmp_path / "o")]
    )
    assert result.exit_code == 2
    assert f"{source}:3: not a number: 'ten'" in result.output


def test_a_bad_timestamp_and_a_bad_header_exit_2(tmp_path: Path):
    source = tmp_path / "bad.csv"
    source.write_text("series,timestamp,value\norders,yesterday,10\n")
    result = runner.invoke(
        app, ["backtest", "metric", "--input", str(source), "--output", str(tmp_path / "o")]
    )
    assert result.exit_code == 2 and f"{source}:2: not an ISO 8601 timestamp" in result.output
    source.write_text("name,when,value\norders,2026-01-01,10\n")
    result = runner.invoke(
        app, ["backtest", "volume", "--input", str(source), "--output", str(tmp_path / "o")]
    )
    assert result.exit_code == 2 and f"{source}:1: header must be series,timestamp,value" in result.output


def test_two_rows_in_one_bucket_exit_2(tmp_path: Path):
    source = tmp_path / "dup.csv"
    source.write_text(
        "series,timestamp,value\norders,2026-01-01,10\norders,2026-01-02,11\norders,2026-01-02,12\n"
    )
    result = runner.invoke(
        app, ["backtest", "volume", "--input", str(source), "--output", str(tmp_path / "o")]
    )
    assert (
        result.exit_code == 2 and f"{source}:4: series 'orders' has two rows in the bucket" in result.output
    )


def test_a_missing_file_exits_2(tmp_path: Path):
    result = runner.invoke(
        app, ["backtest", "volume", "--input", str(tmp_path / "nope.csv"), "--output", str(tmp_path / "o")]
    )
    assert result.exit_code == 2 and "nope.csv: no such file" in result.output


def test_freshness_rejects_a_bad_until(tmp_path: Path):
    source = tmp_path / "u.csv"
    source.write_text("series,timestamp\norders,2026-01-01T00:00:00Z\n")
    result = runner.invoke(
        app,
        ["backtest", "freshness", "--input", str(source), "--until", "soon", "--output", str(tmp_path / "o")],
    )
    assert result.exit_code == 2 and "--until" in result.output


def test_holidays_file_is_validated(tmp_path: Path):
    source, holidays = tmp_path / "h.csv", tmp_path / "holidays.txt"
    write_series_csv(source)
    holidays.write_text("# US\n2026-01-01\nnot-a-date\n")
    args = [
        "backtest",
        "volume",
        "--input",
        str(source),
        "--output",
        str(tmp_path / "o"),
        "--holidays",
        str(holidays),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and f"{holidays}:3: not a date" in result.output


def test_the_observer_command_runs_backtests_and_reports_bad_rows(tmp_path: Path):
    # The real command, as users and the benchmark run it (``observer backtest`` skips loading the
    # server's modules, so this path is not the one CliRunner takes).
    source, out = tmp_path / "history.csv", tmp_path / "out.jsonl"
    write_series_csv(source)
    command = [sys.executable, "-m", "observer", "backtest", "volume", "--input", str(source)]
    done = subprocess.run([*command, "--output", str(out)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert len(read_jsonl(out)) == 90 and "90 points judged, 1 anomalies" in done.stderr
    source.write_text("series,timestamp,value\norders,2026-01-01,10\norders,2026-01-02,ten\n")
    done = subprocess.run([*command, "--output", str(out)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and f"{source}:3: not a number: 'ten'" in done.stderr
    help_text = subprocess.run(
        [sys.executable, "-m", "observer", "backtest", "--help"], capture_output=True, text=True, timeout=120
    )
    assert help_text.returncode == 0 and "observer backtest" in help_text.stdout
