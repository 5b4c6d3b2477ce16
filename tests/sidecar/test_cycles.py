"""The sidecar's cycle on simulated time with a scripted warehouse: stale, alert once, clear, outages,
volume and schema checks when a rule turns them on, restarts, forwarding to a central server."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY, generate_latest

from api.app import create_app
from collectors.warehouse.base import ColumnInfo, TableInfo
from observer.alerts.service import build_incident_service
from observer.catalog.identity import DatasetRef
from observer.checks.results import Status
from observer.checks.rules import CheckRules
from observer.clock import SimulatedClock
from observer.config.settings import ApiSettings, ApiToken, ChecksSettings, Settings, StoreSettings
from observer.runtime import Runtime
from observer.sidecar.alerts import AlertSink, CentralForwarder, Transition
from observer.sidecar.health import HealthState
from observer.sidecar.runner import Sidecar
from observer.sidecar.signals import TableSignal
from observer.sidecar.state import SidecarState
from tests.sidecar.conftest import sample

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
ORDERS = DatasetRef("postgres://db:5432", "shop.public.orders")
FRESH_1H = [{"dataset": "*.orders", "freshness": {"max_age": "1h"}}]


class ScriptedWarehouse:
    """A warehouse whose statistics the test moves, and which can be taken down."""

    name = "scripted"

    def __init__(self, tracks_writes: bool = True) -> None:
        self.counter = 0
        self.rows = 1000
        self.columns = ["id", "email", "total"]
        self.tracks_writes = tracks_writes
        self.down = False

    def read(self, rules: CheckRules) -> list[TableSignal]:
        if self.down:
            raise ConnectionError("connection refused")
        table = TableInfo(
            "public",
            "orders",
            columns=tuple(ColumnInfo(name, "integer") for name in self.columns),
            row_count=self.rows,
            write_counters={"inserted": self.counter} if self.tracks_writes else {},
        )
        return [TableSignal(ORDERS, table, self.tracks_writes)]

    def close(self) -> None:
        pass


class Recorder:
    name = "recorder"

    def __init__(self) -> None:
        self.sent: list[Transition] = []

    def deliver(self, transitions: Sequence[Transition], now: datetime) -> None:
        self.sent.extend(transitions)


def build(
    clock: SimulatedClock,
    warehouse: ScriptedWarehouse,
    sinks: Sequence[AlertSink],
    state: SidecarState,
    rules: list[dict[str, Any]] | None = None,
) -> Sidecar:
    checks = CheckRules(ChecksSettings.model_validate({"rules": FRESH_1H if rules is None else rules}))
    health = HealthState(clock, ready_within=timedelta(minutes=3), stuck_after=timedelta(minutes=10))
    sidecar = Sidecar([warehouse], checks, clock, state=state, sinks=sinks, health=health)
    sidecar.restore(clock.now())
    return sidecar


def metric(name: str, **labels: str) -> float | None:
    return sample(generate_latest(REGISTRY).decode(), name, **labels)


def status_metric(check: str = "freshness") -> float | None:
    return metric("observer_check_status", check=check, namespace=ORDERS.namespace, dataset=ORDERS.name)


def by_check(results: Sequence[Any], check: str) -> list[Any]:
    return [result for result in results if result.check == check]


def test_stale_table_alerts_once_then_clears_when_written(state: SidecarState) -> None:
    clock, warehouse, recorder = SimulatedClock(START), ScriptedWarehouse(), Recorder()
    sidecar = build(clock, warehouse, [recorder], state)
    assert sidecar.run_cycle().results[0].status == Status.OK  # first look: watched since now
    clock.advance(timedelta(minutes=30))
    warehouse.counter += 5
    result = sidecar.run_cycle().results[0]
    assert result.status == Status.OK and result.last_update == START + timedelta(minutes=30)
    assert (
        metric(
            "observer_freshness_last_update_timestamp_seconds",
            namespace=ORDERS.namespace,
            dataset=ORDERS.name,
        )
        == (START + timedelta(minutes=30)).timestamp()
    )
    for _ in range(3):
        clock.advance(timedelta(minutes=40))
        sidecar.run_cycle()
    assert status_metric() == 1
    assert (
        metric("observer_freshness_age_seconds", namespace=ORDERS.namespace, dataset=ORDERS.name) == 120 * 60
    )
    assert [t.opened for t in recorder.sent] == [True]  # one alert, not one per cycle
    assert "shop.public.orders" in recorder.sent[0].result.finding.explanation
    warehouse.counter += 1
    clock.advance(timedelta(minutes=1))
    assert sidecar.run_cycle().results[0].status == Status.OK
    assert [t.opened for t in recorder.sent] == [True, False]
    assert status_metric() == 0


def test_table_never_written_is_overdue_once_the_sla_passes_since_watching_began(
    state: SidecarState,
) -> None:
    clock, warehouse, recorder = SimulatedClock(START), ScriptedWarehouse(), Recorder()
    sidecar = build(clock, warehouse, [recorder], state)
    sidecar.run_cycle()
    clock.advance(timedelta(hours=2))
    result = sidecar.run_cycle().results[0]
    assert result.status == Status.PROBLEM and result.last_update is None
    assert "first watched" in result.finding.explanation


def test_warehouse_outage_is_reported_retried_and_raises_no_alert(state: SidecarState) -> None:
    clock, warehouse, recorder = SimulatedClock(START), ScriptedWarehouse(), Recorder()
    sidecar = build(clock, warehouse, [recorder], state)
    sidecar.run_cycle()
    assert sidecar.health.ready().ok
    warehouse.down = True
    for _ in range(6):
        clock.advance(timedelta(minutes=30))
        report = sidecar.run_cycle()
        assert report.failed == {"scripted": "ConnectionError: connection refused"}
        assert [r.status for r in report.results] == [Status.OK]  # its last result, kept meanwhile
    assert metric("observer_warehouse_up", warehouse="scripted") == 0
    assert status_metric() == 0  # the series stays while the warehouse is down
    assert not recorder.sent  # no data is not stale data
    assert not sidecar.health.ready().ok and sidecar.health.live().ok
    warehouse.down = False
    assert sidecar.run_cycle().ok and sidecar.health.ready().ok


def test_state_survives_a_restart(state: SidecarState) -> None:
    clock, warehouse, recorder = SimulatedClock(START), ScriptedWarehouse(), Recorder()
    first = build(clock, warehouse, [recorder], state)
    first.run_cycle()
    clock.advance(timedelta(minutes=10))
    warehouse.counter = 3
    first.run_cycle()
    clock.advance(timedelta(hours=2))
    first.run_cycle()
    assert [t.opened for t in recorder.sent] == [True]
    again = Recorder()
    second = build(clock, warehouse, [again], state)
    clock.advance(timedelta(minutes=1))
    result = second.run_cycle().results[0]
    assert result.status == Status.PROBLEM and result.last_update == START + timedelta(minutes=10)
    assert not again.sent  # already alerted before the restart


@pytest.mark.parametrize(("counter_after", "written"), [(2, True), (0, False), (3, True)])
def test_a_counter_that_goes_down_was_reset(state: SidecarState, counter_after: int, written: bool) -> None:
    """As the collectors read counters: a counter below its last value was reset, and its value is
    the growth since (none when it is 0)."""
    clock, warehouse = SimulatedClock(START), ScriptedWarehouse()
    warehouse.counter = 1 if counter_after < 3 else 5
    sidecar = build(clock, warehouse, [], state)
    sidecar.run_cycle()
    clock.advance(timedelta(minutes=5))
    warehouse.counter = counter_after
    result = sidecar.run_cycle().results[0]
    assert (result.last_update is not None) == written


def test_without_write_counters_a_changed_row_count_is_a_write(state: SidecarState) -> None:
    """DuckDB keeps no write counters: the collectors' rule, a changed row count, applies."""
    clock, warehouse = SimulatedClock(START), ScriptedWarehouse(tracks_writes=False)
    sidecar = build(clock, warehouse, [], state)
    sidecar.run_cycle()
    clock.advance(timedelta(minutes=5))
    assert sidecar.run_cycle().results[0].last_update is None
    clock.advance(timedelta(minutes=5))
    warehouse.rows += 10
    assert sidecar.run_cycle().results[0].last_update == START + timedelta(minutes=10)


def test_volume_and_schema_run_only_where_a_rule_turns_them_on(state: SidecarState) -> None:
    clock, warehouse = SimulatedClock(START), ScriptedWarehouse()
    sidecar = build(clock, warehouse, [], state)
    report = sidecar.run_cycle()
    assert [r.check for r in report.results] == ["freshness"]
    rules = [{"dataset": "*.orders", "volume": {"enabled": True}, "schema": {"enabled": True}}]
    sidecar = build(clock, warehouse, [], state, rules)
    assert sorted(r.check for r in sidecar.run_cycle().results) == ["freshness", "schema", "volume"]


def test_a_volume_drop_is_found_from_the_row_counts_and_clears(state: SidecarState) -> None:
    clock, warehouse, recorder = SimulatedClock(START), ScriptedWarehouse(), Recorder()
    rules = [{"dataset": "*.orders", "freshness": {"enabled": False}, "volume": {"enabled": True}}]
    sidecar = build(clock, warehouse, [recorder], state, rules)
    for day in range(40):
        warehouse.rows = 10_000 + 50 * (day % 5)
        result = sidecar.run_cycle().results[0]
        clock.advance(timedelta(days=1))
    assert result.check == "volume" and result.status == Status.OK, result.detail
    warehouse.rows = 1_200
    result = sidecar.run_cycle().results[0]
    assert result.status == Status.PROBLEM and result.finding is not None
    assert "1,200" in result.finding.explanation
    clock.advance(timedelta(minutes=10))
    assert sidecar.run_cycle().results[0].status == Status.PROBLEM  # not judged again, still a problem
    assert [t.opened for t in recorder.sent] == [True]
    assert status_metric("volume") == 1
    clock.advance(timedelta(days=1))
    warehouse.rows = 10_100
    assert sidecar.run_cycle().results[0].status == Status.OK
    assert [t.opened for t in recorder.sent] == [True, False]


def test_a_breaking_schema_change_is_sent_once_and_lapses_after_a_day(state: SidecarState) -> None:
    clock, warehouse, recorder = SimulatedClock(START), ScriptedWarehouse(), Recorder()
    rules = [{"dataset": "*.orders", "freshness": {"enabled": False}, "schema": {"enabled": True}}]
    sidecar = build(clock, warehouse, [recorder], state, rules)
    assert sidecar.run_cycle().results[0].status == Status.OK  # the first schema seen
    clock.advance(timedelta(minutes=5))
    warehouse.columns = ["id", "total", "note"]  # email dropped; a column added
    report = sidecar.run_cycle()
    assert [(r.status, r.finding is not None) for r in report.results] == [(Status.PROBLEM, True)]
    assert "email" in report.results[0].finding.explanation
    assert [t.opened for t in recorder.sent] == [True]
    clock.advance(timedelta(hours=1))
    again = build(clock, warehouse, [recorder], state, rules)  # a restart keeps the problem open
    result = again.run_cycle().results[0]
    assert result.status == Status.PROBLEM and "breaking schema change found 1h" in result.detail
    assert status_metric("schema") == 1 and len(recorder.sent) == 1
    clock.advance(timedelta(hours=23))
    assert again.run_cycle().results[0].status == Status.OK
    assert len(recorder.sent) == 1  # an event: nothing is sent when it lapses
    warehouse.columns = ["id", "note"]
    clock.advance(timedelta(minutes=5))
    assert again.run_cycle().results[0].status == Status.PROBLEM
    assert [t.opened for t in recorder.sent] == [True, True]


def test_forwarded_findings_reach_the_central_server_even_after_a_restart(
    tmp_path: Path, state: SidecarState
) -> None:
    settings = Settings(
        store=StoreSettings(url=f"sqlite:///{tmp_path / 'central.db'}"),
        api=ApiSettings(
            tokens=[
                ApiToken(name="sidecars", token="ingest-secret", scopes=["ingest"]),
                ApiToken(name="reader", token="read-secret", scopes=["read"]),
            ]
        ),
    )
    runtime = Runtime.build(settings, clock=SimulatedClock(START))
    runtime.store.upgrade()
    with TestClient(create_app(runtime, start_services=False)) as client:
        clock, warehouse = SimulatedClock(START), ScriptedWarehouse()
        forwarder = CentralForwarder("http://testserver", "wrong-token", "orders-pipeline", state, client)
        sidecar = build(clock, warehouse, [forwarder], state)
        sidecar.run_cycle()
        clock.advance(timedelta(hours=2))
        sidecar.run_cycle()
        assert len(state.pending_forwards()) == 1  # refused (401): kept in the store
        forwarder = CentralForwarder("http://testserver", "ingest-secret", "orders-pipeline", state, client)
        restarted = build(clock, warehouse, [forwarder], state)
        warehouse.counter += 1
        clock.advance(timedelta(minutes=1))
        restarted.run_cycle()
        assert not state.pending_forwards()
        listed = client.get(
            "/api/v1/sidecar/findings", headers={"Authorization": "Bearer read-secret"}
        ).json()
        states = [(item["state"], item["sidecar"], item["name"]) for item in reversed(listed["findings"])]
        assert states == [
            ("open", "orders-pipeline", ORDERS.name),
            ("cleared", "orders-pipeline", ORDERS.name),
        ]
        denied = client.post(
            "/api/v1/sidecar/findings", json={"sidecar": "x"}, headers={"Authorization": "Bearer read-secret"}
        )
        assert denied.status_code == 403 and denied.json()["code"] == 403
    runtime.stop()


def test_breaking_changes_to_two_columns_reach_the_central_server_as_two_checks(
    tmp_path: Path, state: SidecarState
) -> None:
    settings = Settings(
        store=StoreSettings(url=f"sqlite:///{tmp_path / 'central.db'}"),
        api=ApiSettings(
            tokens=[
                ApiToken(name="sidecars", token="ingest-secret", scopes=["ingest"]),
                ApiToken(name="reader", token="read-secret", scopes=["read"]),
            ]
        ),
    )
    runtime = Runtime.build(settings, clock=SimulatedClock(START))
    runtime.store.upgrade()
    app = create_app(runtime, start_services=False)
    app.state.incidents = build_incident_service(runtime)
    rules = [{"dataset": "*.orders", "freshness": {"enabled": False}, "schema": {"enabled": True}}]
    with TestClient(app) as client:
        clock, warehouse = SimulatedClock(START), ScriptedWarehouse()
        forwarder = CentralForwarder("http://testserver", "ingest-secret", "orders-pipeline", state, client)
        sidecar = build(clock, warehouse, [forwarder], state, rules)
        sidecar.run_cycle()
        clock.advance(timedelta(minutes=5))
        warehouse.columns = ["id"]  # email and total dropped
        sidecar.run_cycle()
        assert not state.pending_forwards()
        read = {"Authorization": "Bearer read-secret"}
        incidents = client.get("/api/v1/incidents", headers=read).json()["incidents"]
        assert len(incidents) == 1
        checks = client.get(f"/api/v1/incidents/{incidents[0]['id']}", headers=read).json()["checks"]
        assert sorted((check["check"], check["column"]) for check in checks) == [
            ("schema", "email"),
            ("schema", "total"),
        ]
    runtime.stop()
