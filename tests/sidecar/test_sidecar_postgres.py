"""End to end against the real PostgreSQL: a table goes stale, the sidecar says so, and clears."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from tests.conftest import free_port
from tests.sidecar.conftest import SlackWebhookStub, sample

pytestmark = pytest.mark.postgres


def wait_for(condition: Callable[[], object], what: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"sidecar exited with {process.returncode} while waiting for {what}:\n{log.read_text()}"
            )
        try:
            if condition():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}:\n{log.read_text()}")


def write_rows(url: str) -> None:
    # A fresh connection per write: a backend reports its table statistics when it ends.
    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO public.orders (amount) VALUES (10), (20)"))
    engine.dispose()


def test_sidecar_sees_a_table_go_stale_alerts_clears_and_stops_on_sigterm(
    postgres_url: str, slack_webhook: SlackWebhookStub, tmp_path: Path
) -> None:
    engine = create_engine(postgres_url, poolclass=NullPool)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE public.orders (id serial PRIMARY KEY, amount int)"))
        connection.execute(text("CREATE TABLE public.audit_log (id int)"))
    engine.dispose()
    database = make_url(postgres_url).database
    labels = {"namespace": "postgres://127.0.0.1:5432", "dataset": f"{database}.public.orders"}
    port = free_port()
    env = {
        **os.environ,
        "OBSERVER_HOME": str(tmp_path),
        "OBSERVER_WAREHOUSES__0__NAME": "orders-db",
        "OBSERVER_WAREHOUSES__0__URL": postgres_url,
        "OBSERVER_CHECKS__RULES": json.dumps(
            [{"dataset": "*.public.orders", "freshness": {"max_age": "3s"}}]
        ),
        "OBSERVER_SIDECAR__INTERVAL": "0.3s",
        "OBSERVER_SIDECAR__JITTER": "0.1s",
        "OBSERVER_SIDECAR__HOST": "127.0.0.1",
        "OBSERVER_SIDECAR__PORT": str(port),
        "OBSERVER_ALERTS__SLACK_WEBHOOKS__0__NAME": "team",
        "OBSERVER_ALERTS__SLACK_WEBHOOKS__0__URL": slack_webhook.url,
    }
    env.pop("OBSERVER_CONFIG", None)
    log = tmp_path / "sidecar.log"
    base = f"http://127.0.0.1:{port}"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "observer", "sidecar"],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=tmp_path,
        )
    try:
        wait_for(lambda: httpx.get(f"{base}/readyz").status_code == 200, "readiness", process, log)
        assert httpx.get(f"{base}/healthz").status_code == 200

        def metric(name: str, **extra: str) -> float | None:
            return sample(httpx.get(f"{base}/metrics").text, name, **{**labels, **extra})

        write_rows(postgres_url)
        wait_for(
            lambda: metric("observer_freshness_last_update_timestamp_seconds"), "the write", process, log
        )
        assert metric("observer_check_status", check="freshness") == 0
        assert metric("observer_freshness_expected_by_timestamp_seconds") is not None

        wait_for(lambda: metric("observer_check_status", check="freshness") == 1, "staleness", process, log)
        wait_for(lambda: slack_webhook.texts(), "the Slack alert", process, log)
        alert = slack_webhook.texts()[0]
        assert "freshness" in alert and f"{database}.public.orders" in alert
        assert "audit_log" not in httpx.get(f"{base}/metrics").text  # only the tables the rules name

        write_rows(postgres_url)
        wait_for(lambda: metric("observer_check_status", check="freshness") == 0, "recovery", process, log)
        wait_for(lambda: len(slack_webhook.texts()) >= 2, "the all-clear", process, log)
        assert "back to normal" in slack_webhook.texts()[1]

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
