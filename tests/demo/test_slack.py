"""With Slack configured (a bot token and channel, an incoming webhook), the demo's alerts go to Slack
through the alerts package's notifiers, not to the terminal. Slack is the local stub."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from observer.demo.simulate import SlackTargets
from tests.demo.conftest import DemoRun, run_demo
from tests.slack_stub import BOT_TOKEN, SlackStub

CHANNEL = "#data-alerts"


@pytest.fixture(scope="module")
def stub() -> Iterator[SlackStub]:
    server = SlackStub().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def slack_run(stub: SlackStub, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRun]:
    targets = SlackTargets(
        webhook_url=stub.hook_url("demo"), bot_token=BOT_TOKEN, channel=CHANNEL, api_url=stub.api_url
    )
    yield from run_demo(tmp_path_factory.mktemp("home"), targets)


def headers(blocks: list[dict[str, Any]] | None) -> list[str]:
    return [block["text"]["text"] for block in blocks or [] if block["type"] == "header"]


def test_each_incident_is_posted_once_to_the_channel_as_block_kit(
    slack_run: DemoRun, stub: SlackStub
) -> None:
    posted = stub.top_level(CHANNEL)
    titles = sorted(title for message in posted for title in headers(message.blocks))
    assert len(posted) == 2
    assert any("Volume drop on shop.raw.orders" in title for title in titles)
    assert any("Schema change on shop.raw.products.category" in title for title in titles)


def test_the_incoming_webhook_gets_the_same_messages(slack_run: DemoRun, stub: SlackStub) -> None:
    hooked = stub.calls("hook:demo")
    titles = [title for call in hooked for title in headers(call.body.get("blocks"))]
    assert any("Volume drop on shop.raw.orders" in title for title in titles)
    assert any("Schema change on shop.raw.products.category" in title for title in titles)


def test_nothing_is_printed_as_a_terminal_alert(slack_run: DemoRun) -> None:
    assert "Slack message · incident" not in slack_run.output.getvalue()
    assert not (slack_run.directory / "alerts.txt").exists()
    assert "Slack channel #data-alerts (bot) and Slack (incoming webhook)" in slack_run.output.getvalue()


def test_the_written_configuration_keeps_the_secrets_out(slack_run: DemoRun) -> None:
    written = (slack_run.directory / "observer.yaml").read_text()
    assert BOT_TOKEN not in written and "/hooks/demo" not in written
    assert "${SLACK_BOT_TOKEN}" in written and "${SLACK_WEBHOOK_URL}" in written
