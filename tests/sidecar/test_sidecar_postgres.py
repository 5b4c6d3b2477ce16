"""End to end against the real PostgreSQL: a table goes stale, the sidecar says so on /metrics and in
Slack (the stand-in), clears when the table is written again, reports a dropped column, and stops
cleanly on SIGTERM."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from tests.sidecar.conftest import Running, sample, sidecar_env
from tests.slack_stub import BOT_TOKEN, SlackStub


def write_rows(url: str) -> None:
    # A fresh connection per write: a backend reports its table statistics when it ends.
    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO public.orders (amount) VALUES (10), (20)"))
    engine.dispose()


@pytest.mark.postgres
def test_sidecar_sees_a_table_go_stale_alerts_clears_and_stops_on_sigterm(
    postgres_url: str, slack_stub: SlackStub, tmp_path: Path, running: list[Running]
) -> None:
    engine = create_engine(postgres_url, poolclass=NullPool)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE public.orders (id serial PRIMARY KEY, amount int, note text)"))
        connection.execute(text("CREATE TABLE public.audit_log (id int)"))
    database = make_url(postgres_url).database
    labels = {"namespace": "postgres://127.0.0.1:5432", "dataset": f"{database}.public.orders"}
    rules = [{"dataset": "*.public.orders", "freshness": {"max_age": "3s"}, "schema": {"enabled": True}}]
    env = sidecar_env(tmp_path, postgres_url, rules)
    env.update(
        {
            "OBSERVER_ALERTS__SLACK__BOT_TOKEN": BOT_TOKEN,
            "OBSERVER_ALERTS__SLACK__BASE_URL": slack_stub.api_url,
            "OBSERVER_ALERTS__SLACK__DEFAULT_CHANNEL": "C0DATA",
        }
    )
    sidecar = Running(env, tmp_path)
    running.append(sidecar)
    sidecar.wait_for(lambda: httpx.get(f"{sidecar.base}/readyz").status_code == 200, "readiness")
    assert httpx.get(f"{sidecar.base}/healthz").status_code == 200

    def metric(name: str, **extra: str) -> float | None:
        return sample(sidecar.metrics(), name, **{**labels, **extra})

    write_rows(postgres_url)
    sidecar.wait_for(lambda: metric("observer_freshness_last_update_timestamp_seconds"), "the write")
    assert metric("observer_check_status", check="freshness") == 0
    assert metric("observer_check_status", check="schema") == 0
    assert metric("observer_freshness_expected_by_timestamp_seconds") is not None

    sidecar.wait_for(lambda: metric("observer_check_status", check="freshness") == 1, "staleness")
    sidecar.wait_for(lambda: slack_stub.top_level("C0DATA"), "the Slack alert")
    [root] = slack_stub.top_level("C0DATA")
    assert root.text and "Stale data" in root.text and f"{database}.public.orders" in root.text
    text_now = sidecar.metrics()
    assert "audit_log" not in text_now  # only the tables the rules name
    severities = ("info", "warning", "error", "critical")  # how late it is when seen sets the severity
    assert sum(sample(text_now, "observer_incidents_open", severity=s) or 0 for s in severities) == 1
    assert sample(text_now, "observer_alert_deliveries_total", channel="slack") == 1

    write_rows(postgres_url)
    sidecar.wait_for(lambda: metric("observer_check_status", check="freshness") == 0, "recovery")
    sidecar.wait_for(lambda: (root.text or "").startswith("✅ Resolved"), "the all-clear")
    assert "every check passes again" in (slack_stub.replies(root.ts)[-1].text or "")

    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE public.orders DROP COLUMN note"))
    engine.dispose()
    sidecar.wait_for(lambda: metric("observer_check_status", check="schema") == 1, "the schema change")
    sidecar.wait_for(lambda: len(slack_stub.top_level("C0DATA")) == 2, "the schema alert")
    schema_alert = slack_stub.top_level("C0DATA")[1].text or ""
    assert "Schema change" in schema_alert and "note" in str(slack_stub.top_level("C0DATA")[1].blocks)

    sidecar.process.send_signal(signal.SIGTERM)
    assert sidecar.process.wait(timeout=30) == 0, sidecar.log.read_text()
    assert "sidecar stopped" in sidecar.log.read_text()


def test_warehouse_outage_is_reported_and_the_sidecar_keeps_running(
    tmp_path: Path, running: list[Running]
) -> None:
    rules = [{"dataset": "*", "freshness": {"max_age": "1h"}}]
    sidecar = Running(sidecar_env(tmp_path, "postgresql://nobody@127.0.0.1:1/none", rules), tmp_path)
    running.append(sidecar)
    sidecar.wait_for(
        lambda: (
            (sample(sidecar.metrics(), "observer_warehouse_errors_total", warehouse="orders-db") or 0) >= 3
        ),
        "repeated failed reads",
    )
    assert sample(sidecar.metrics(), "observer_warehouse_up", warehouse="orders-db") == 0
    assert httpx.get(f"{sidecar.base}/healthz").status_code == 200
    ready = httpx.get(f"{sidecar.base}/readyz")
    assert ready.status_code == 503 and "cannot connect to PostgreSQL" in ready.json()["last_error"]
    sidecar.process.send_signal(signal.SIGTERM)
    assert sidecar.process.wait(timeout=30) == 0
    assert "could not be read" in sidecar.log.read_text()
