"""End to end against a DuckDB file, through the same collector adapter ``observer collect`` uses:
freshness from a timestamp column and from row counts, a dropped column, Slack through an incoming
webhook, and a database file the pipeline can keep writing while the sidecar watches it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import httpx
import pytest

from tests.sidecar.conftest import Running, sample, sidecar_env
from tests.slack_stub import SlackStub

RULES: list[dict[str, object]] = [
    {
        "dataset": "*.orders",
        "freshness": {"max_age": "1h", "timestamp_column": "loaded_at"},
        "schema": {"enabled": True},
    },
    {"dataset": "*.events", "freshness": {"max_age": "1h"}},
]


def execute(path: Path, *statements: str) -> None:
    """Run ``statements`` in a connection of their own (closed at once, as a pipeline step would)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            connection = duckdb.connect(str(path))
            break
        except duckdb.IOException:  # the sidecar is reading this moment: its lock is short
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    try:
        for statement in statements:
            connection.execute(statement)
    finally:
        connection.close()


def utc(moment: datetime) -> str:
    return f"TIMESTAMP '{moment.astimezone(UTC).replace(tzinfo=None):%Y-%m-%d %H:%M:%S}'"


def once(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "observer", "sidecar", "--once"],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
    )


def line(output: str, table: str, check: str = "freshness") -> str:
    return next(row for row in output.splitlines() if row.startswith(check) and f".{table} " in row)


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    execute(
        path,
        "CREATE TABLE orders (id INTEGER, loaded_at TIMESTAMP, note VARCHAR)",
        "CREATE TABLE events (id INTEGER)",
        "CREATE TABLE other (id INTEGER)",
    )
    return path


def test_once_judges_a_duckdb_file_and_alerts_slack_by_webhook(
    warehouse: Path, tmp_path: Path, slack_stub: SlackStub
) -> None:
    env = sidecar_env(tmp_path, f"duckdb:///{warehouse}", RULES)
    env.update(
        {
            "OBSERVER_ALERTS__SLACK_WEBHOOKS__0__NAME": "team",
            "OBSERVER_ALERTS__SLACK_WEBHOOKS__0__URL": slack_stub.hook_url("team"),
        }
    )
    now = datetime.now(UTC)
    execute(
        warehouse,
        f"INSERT INTO orders VALUES (1, {utc(now - timedelta(hours=3))}, 'x')",
        "INSERT INTO events VALUES (1)",
    )
    first = once(env, tmp_path)
    assert first.returncode == 1, first.stdout + first.stderr
    orders = line(first.stdout, "orders")
    assert "PROBLEM" in orders and f"duckdb://{warehouse}/warehouse.main.orders" in orders
    assert "overdue" in orders
    assert " ok " in line(first.stdout, "events")  # first seen: watched from now on
    assert " ok " in line(first.stdout, "orders", "schema")
    assert ".other " not in first.stdout  # only the tables the rules name
    [alert] = slack_stub.calls("hook:team")
    assert "Stale data" in str(alert.body["text"]) and "warehouse.main.orders" in str(alert.body["text"])

    execute(warehouse, f"INSERT INTO orders VALUES (2, {utc(now)}, 'y')", "INSERT INTO events VALUES (2)")
    second = once(env, tmp_path)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "updated" in line(second.stdout, "events")  # a changed row count is a write
    assert "every check passes again" in str(slack_stub.calls("hook:team")[-1].body["text"])

    execute(warehouse, "ALTER TABLE orders DROP COLUMN note")
    third = once(env, tmp_path)
    assert third.returncode == 1
    assert "note" in line(third.stdout, "orders", "schema") and "PROBLEM" in line(
        third.stdout, "orders", "schema"
    )
    assert "Schema change" in str(slack_stub.calls("hook:team")[-1].body["text"])


def test_the_pipeline_keeps_writing_while_the_sidecar_watches(
    warehouse: Path, tmp_path: Path, running: list[Running]
) -> None:
    env = sidecar_env(tmp_path, f"duckdb:///{warehouse}", RULES)
    sidecar = Running(env, tmp_path)
    running.append(sidecar)
    sidecar.wait_for(lambda: httpx.get(f"{sidecar.base}/readyz").status_code == 200, "readiness")
    labels = {"namespace": f"duckdb://{warehouse}", "dataset": "warehouse.main.events"}
    assert sample(sidecar.metrics(), "observer_freshness_last_update_timestamp_seconds", **labels) is None
    execute(warehouse, "INSERT INTO events VALUES (3), (4)")  # would fail if the sidecar held the file
    sidecar.wait_for(
        lambda: sample(sidecar.metrics(), "observer_freshness_last_update_timestamp_seconds", **labels),
        "the write",
    )
    assert sample(sidecar.metrics(), "observer_warehouse_up", warehouse="orders-db") == 1
    sidecar.process.send_signal(signal.SIGTERM)
    assert sidecar.process.wait(timeout=30) == 0, sidecar.log.read_text()
    assert os.path.exists(warehouse)
