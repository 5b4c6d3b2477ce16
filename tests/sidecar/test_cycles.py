"""The sidecar's cycle on simulated time with a scripted warehouse: stale, alert once, clear, outages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY, generate_latest

from api.app import create_app
from observer.catalog.identity import DatasetRef
from observer.checks.results import Status
from observer.checks.rules import CheckRules
from observer.clock import SimulatedClock
from observer.config.settings import ApiSettings, ApiToken, ChecksSettings, Settings, StoreSettings
from observer.runtime import Runtime
from observer.sidecar.alerts import CentralForwarder, Transition
from observer.sidecar.health import HealthState
from observer.sidecar.runner import Sidecar
from observer.sidecar.signals import TableSignal
from observer.sidecar.state import SidecarState
from observer.store import Store
from tests.sidecar.conftest import sample

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
ORDERS = DatasetRef("postgres://db:5432", "shop.public.orders")


class ScriptedWarehouse:
    """A warehouse whose write counter the test moves, and which can be taken down."""

    name = "scripted"

    def __init__(self) -> None:
        self.counter = 0
        self.down = False

    def read(self, rules: CheckRules) -> list[TableSignal]:
        if self.down:
            raise ConnectionError("connection refused")
        return [TableSignal(ORDERS, write_counter=self.counter)]

    def close(self) -> None:
        pass


class Recorder:
    name = "recorder"

    def __init__(self) -> None:
        self.sent: list[Transition] = []

    def deliver(self, transitions: Sequence[Transition], now: datetime) -> None:
        self.sent.extend(transitions)


def build(
    clock: SimulatedClock, warehouse: ScriptedWarehouse, sinks: list, state: SidecarState | None = None
) -> Sidecar:
    rules = CheckRules(
        ChecksSettings.model_validate({"rules": [{"dataset": "*.orders", "freshness": {"max_age": "1h"}}]})
    )
    health = HealthState(clock, ready_within=timedelta(minutes=3), stuck_after=timedelta(minutes=10))
    return Sidecar([warehouse], rules, clock, state=state, sinks=sinks, health=health)


def status_metric() -> float | None:
    return sample(
        generate_latest(REGISTRY).decode(), "observer_check_status", check="freshness", dataset=ORDERS.name
    )


def test_stale_table_alerts_once_then_clears_when_written() -> None:
    clock, warehouse, recorder = SimulatedClock(START), ScriptedWarehouse(), Recorder()
    sidecar = build(clock, warehouse, [recorder])
    assert sidecar.run_cycle().results[0].status == Status.OK  # first look: watched since now
    clock.advance(timedelta(minutes=30))
    warehouse.counter += 5
    result = sidecar.run_cycle().results[0]
    assert result.status == Status.OK and result.last_update == START + timedelta(minutes=30)
    for _ in range(3):
        clock.advance(timedelta(minutes=40))
        sidecar.run_cycle()
    assert status_metric() == 1
    assert [t.opened for t in recorder.sent] == [True]  # one alert, not one per cycle
    assert "shop.public.orders" in recorder.sent[0].result.finding.explanation
    warehouse.counter += 1
    clock.advance(timedelta(minutes=1))
    assert sidecar.run_cycle().results[0].status == Status.OK
    assert [t.opened for t in recorder.sent] == [True, False]
    assert status_metric() == 0


def test_table_never_written_is_overdue_once_the_sla_passes_since_watching_began() -> None:
    clock, warehouse, recorder = SimulatedClock(START), ScriptedWarehouse(), Recorder()
    sidecar = build(clock, warehouse, [recorder])
    sidecar.run_cycle()
    clock.advance(timedelta(hours=2))
    result = sidecar.run_cycle().results[0]
    assert result.status == Status.PROBLEM and result.last_update is None
    assert "first watched" in result.finding.explanation


def test_warehouse_outage_is_reported_retried_and_raises_no_alert() -> None:
    clock, warehouse, recorder = SimulatedClock(START), ScriptedWarehouse(), Recorder()
    sidecar = build(clock, warehouse, [recorder])
    sidecar.run_cycle()
    assert sidecar.health.ready().ok
    warehouse.down = True
    for _ in range(6):
        clock.advance(timedelta(minutes=30))
        report = sidecar.run_cycle()
        assert report.failed == {"scripted": "ConnectionError: connection refused"}
    text = generate_latest(REGISTRY).decode()
    assert sample(text, "observer_warehouse_up", warehouse="scripted") == 0
    assert not recorder.sent  # no data is not stale data
    assert not sidecar.health.ready().ok and sidecar.health.live().ok
    warehouse.down = False
    assert sidecar.run_cycle().ok and sidecar.health.ready().ok


def test_state_survives_a_restart(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'state.db'}")
    store.upgrade()
    clock, warehouse, recorder = SimulatedClock(START), ScriptedWarehouse(), Recorder()
    first = build(clock, warehouse, [recorder], SidecarState(store))
    first.run_cycle()
    clock.advance(timedelta(minutes=10))
    warehouse.counter = 3
    first.run_cycle()
    clock.advance(timedelta(hours=2))
    first.run_cycle()
    assert [t.opened for t in recorder.sent] == [True]
    again = Recorder()
    second = build(clock, warehouse, [again], SidecarState(store))
    second.restore(clock.now())
    clock.advance(timedelta(minutes=1))
    result = second.run_cycle().results[0]
    assert result.status == Status.PROBLEM and result.last_update == START + timedelta(minutes=10)
    assert not again.sent  # already alerted before the restart
    store.dispose()


def test_forwarded_findings_reach_the_central_server_with_an_ingest_token(tmp_path: Path) -> None:
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
        forwarder = CentralForwarder("http://testserver", "wrong-token", "orders-pipeline", client=client)
        sidecar = build(clock, warehouse, [forwarder])
        sidecar.run_cycle()
        clock.advance(timedelta(hours=2))
        sidecar.run_cycle()
        assert len(forwarder.pending.items) == 1  # refused (401): kept for the next cycle
        forwarder.headers = {"Authorization": "Bearer ingest-secret"}
        warehouse.counter += 1
        clock.advance(timedelta(minutes=1))
        sidecar.run_cycle()
        assert not forwarder.pending.items
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


@pytest.mark.parametrize("counter_after", [2, 0])
def test_a_counter_that_goes_down_is_a_reset_not_a_write(counter_after: int) -> None:
    clock, warehouse = SimulatedClock(START), ScriptedWarehouse()
    warehouse.counter = 1
    sidecar = build(clock, warehouse, [])
    sidecar.run_cycle()
    clock.advance(timedelta(minutes=5))
    warehouse.counter = counter_after
    result = sidecar.run_cycle().results[0]
    assert (result.last_update is not None) == (counter_after > 1)
