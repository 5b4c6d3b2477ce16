"""The alert service: a background thread that drains the outbox (woken by new incidents) and ends
mutes; built from the configuration."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

from observer.alerts.service import build_alert_service, build_notifiers
from observer.logging import secret_filter
from observer.store import Store
from tests.alerts.helpers import alerting, finding, settings
from tests.slack_stub import BOT_TOKEN, SlackStub


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_the_service_delivers_in_the_background_and_ends_mutes(store: Store, slack_stub: SlackStub) -> None:
    setup = alerting(store, settings(slack_stub, outbox={"poll_interval": "30s"}))
    service = build_alert_service(setup.runtime, setup.incidents)
    service.start()
    try:
        setup.incidents.process([finding("raw.orders")])
        assert wait_for(lambda: len(slack_stub.top_level()) == 1), "woken by the new incident, not the poll"
        setup.incidents.mute(1, setup.clock.now() + timedelta(hours=1), "alice")
        assert wait_for(lambda: "(muted)" in (slack_stub.top_level()[0].text or ""))
        setup.clock.advance(timedelta(hours=2))
        service.wake()
        assert wait_for(lambda: "(muted)" not in (slack_stub.top_level()[0].text or ""))
    finally:
        service.stop()
    assert service.run_once().handled == 0


def test_building_notifiers_registers_their_secrets_with_the_log_filter(slack_stub: SlackStub) -> None:
    hook = slack_stub.hook_url("T1/B1/hook-secret")
    config = settings(
        slack_stub,
        slack_webhooks=[{"name": "team", "url": hook}],
        webhooks=[
            {"name": "pager", "url": slack_stub.webhook_url("p"), "headers": {"X-Key": "header-secret"}}
        ],
    )
    notifiers = build_notifiers(config)
    assert set(notifiers) == {"slack", "team", "pager", "console"}
    assert {BOT_TOKEN, hook, "header-secret"} <= secret_filter.secrets
