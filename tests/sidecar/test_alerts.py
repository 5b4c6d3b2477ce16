"""Standalone alerts: the sidecar's problems go through the alerts package (incidents on its own
store, routing rules, Block Kit messages, the outbox's retries) to the Slack stand-in."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from observer.clock import SimulatedClock
from observer.config.settings import Settings
from observer.sidecar.alerts import LocalAlerts
from observer.sidecar.app import local_alerts
from observer.sidecar.runner import Sidecar
from observer.sidecar.state import SidecarState
from tests.sidecar.test_cycles import ORDERS, START, ScriptedWarehouse, build, metric
from tests.slack_stub import BOT_TOKEN, SlackStub


def standalone(
    stub: SlackStub, state: SidecarState, **alerts: Any
) -> tuple[Sidecar, LocalAlerts, SimulatedClock, ScriptedWarehouse]:
    section: dict[str, Any] = {
        "slack": {"bot_token": BOT_TOKEN, "base_url": stub.api_url, "default_channel": "C0DATA"},
        "outbox": {"backoff": "10s"},
    }
    section.update(alerts)
    settings = Settings.model_validate({"alerts": section})
    clock, warehouse = SimulatedClock(START), ScriptedWarehouse()
    local = local_alerts(settings, state.store, clock)
    return build(clock, warehouse, [local], state), local, clock, warehouse


def go_stale(sidecar: Sidecar, clock: SimulatedClock) -> None:
    sidecar.run_cycle()
    clock.advance(timedelta(hours=2))
    sidecar.run_cycle()


def test_a_stale_table_is_posted_to_slack_and_resolved_in_its_thread(
    slack_stub: SlackStub, state: SidecarState
) -> None:
    sidecar, local, clock, warehouse = standalone(slack_stub, state)
    go_stale(sidecar, clock)
    assert local.delivery.run_once().sent == 1
    [root] = slack_stub.top_level("C0DATA")
    assert root.text and "Stale data" in root.text and ORDERS.name in root.text
    assert root.blocks and any(ORDERS.name in str(block) for block in root.blocks)  # Block Kit
    clock.advance(timedelta(minutes=5))
    sidecar.run_cycle()
    assert local.delivery.run_once().sent == 0  # still stale: nothing new to say
    warehouse.counter += 1
    clock.advance(timedelta(minutes=1))
    sidecar.run_cycle()
    local.delivery.run_once()
    assert len(slack_stub.top_level()) == 1
    assert (root.text or "").startswith("✅ Resolved")
    assert "every check passes again" in (slack_stub.replies(root.ts)[-1].text or "")
    assert metric("observer_incidents_open", severity="error") == 0


def test_slack_rate_limits_are_retried_after_retry_after(slack_stub: SlackStub, state: SidecarState) -> None:
    sidecar, local, clock, _ = standalone(slack_stub, state)
    slack_stub.rate_limit("chat.postMessage", retry_after=30)
    failures = metric("observer_alert_delivery_failures_total", channel="slack") or 0.0
    go_stale(sidecar, clock)
    first = local.delivery.run_once()
    assert (first.sent, first.retried) == (0, 1) and not slack_stub.top_level()
    assert metric("observer_alert_delivery_failures_total", channel="slack") == failures + 1
    clock.advance(timedelta(seconds=31))
    assert local.delivery.run_once().sent == 1
    assert len(slack_stub.top_level("C0DATA")) == 1


def test_routes_choose_the_channel_and_webhooks(slack_stub: SlackStub, state: SidecarState) -> None:
    routes = [
        {"dataset": "*.invoices", "channel": "#finance"},
        {"dataset": "*.orders", "channel": "#orders-team", "notify": ["oncall"]},
    ]
    hooks = [{"name": "oncall", "url": slack_stub.hook_url("oncall")}]
    sidecar, local, clock, _ = standalone(slack_stub, state, routes=routes, slack_webhooks=hooks)
    go_stale(sidecar, clock)
    assert local.delivery.run_once().sent == 2
    assert len(slack_stub.top_level("#orders-team")) == 1
    assert not slack_stub.top_level("#finance") and not slack_stub.top_level("C0DATA")
    [hook] = slack_stub.calls("hook:oncall")
    assert ORDERS.name in str(hook.body["text"])


def test_alerts_the_store_could_not_record_are_recorded_next_cycle(
    slack_stub: SlackStub, state: SidecarState, monkeypatch: pytest.MonkeyPatch
) -> None:
    sidecar, local, clock, _ = standalone(slack_stub, state)
    process = local.incidents.process
    failures = iter([OSError("disk full")])

    def flaky(*args: Any, **kwargs: Any) -> Any:
        error = next(failures, None)
        if error is not None:
            raise error
        return process(*args, **kwargs)

    monkeypatch.setattr(local.incidents, "process", flaky)
    go_stale(sidecar, clock)
    assert local.delivery.run_once().sent == 0 and len(local.pending) == 1
    clock.advance(timedelta(minutes=1))
    sidecar.run_cycle()  # still stale: no new transition, the kept one is recorded now
    assert local.delivery.run_once().sent == 1 and not local.pending
    assert len(slack_stub.top_level("C0DATA")) == 1
