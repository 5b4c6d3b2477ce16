"""``observer incidents``: list, show, ack, mute, resolve against the configured store."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner

from observer.alerts.tables import alert_outbox
from observer.cli.main import app
from observer.store import Store
from tests.alerts.helpers import alerting, finding, settings
from tests.slack_stub import SlackStub


class Result:
    def __init__(self, code: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = code, stdout, stderr


def observer(*args: str, home: Path) -> Result:
    runner = CliRunner()
    result = runner.invoke(
        app,
        ["incidents", *args, "--config", str(home / "observer.yaml")],
        env={"OBSERVER_HOME": str(home)},
    )
    return Result(result.exit_code, result.stdout, result.stderr)


def test_the_incident_commands(tmp_path: Path, slack_stub: SlackStub) -> None:
    (tmp_path / "observer.yaml").write_text(
        "alerts:\n"
        "  slack:\n"
        "    bot_token: ${SLACK_TOKEN:-xoxb-cli-test}\n"
        f"    base_url: {slack_stub.api_url}\n"
        "    default_channel: C0ALERTS\n"
    )
    store = Store(f"sqlite:///{tmp_path / 'observer.db'}")
    store.upgrade()
    setup = alerting(store, settings(slack_stub))
    setup.incidents.process(
        [finding("raw.orders"), finding("web.sessions", "freshness", severity="critical")]
    )

    listed = observer(home=tmp_path)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].startswith("#2     critical open         Stale data on web.sessions")
    assert lines[1].startswith("#1     error    open         Volume drop on raw.orders")

    shown = observer("show", "1", home=tmp_path)
    assert shown.stdout.startswith("[ERROR] incident #1 open: Volume drop on raw.orders")
    assert "observed 120, expected 9,800\u201310,400" in shown.stdout
    assert "opened" in shown.stdout.split("timeline:")[1]

    assert observer("ack", "1", "--by", "dana", home=tmp_path).stdout.strip() == "incident 1: acknowledged"
    assert observer("mute", "2", "--for", "3h", home=tmp_path).returncode == 0
    assert observer("resolve", "2", home=tmp_path).stdout.strip() == "incident 2: resolved"

    document = json.loads(observer("list", "--all", "--json", home=tmp_path).stdout)
    states = {
        incident["id"]: (incident["state"], incident["acknowledged_by"]) for incident in document["incidents"]
    }
    assert states == {1: ("acknowledged", "dana"), 2: ("resolved", None)}

    with store.engine.connect() as connection:
        planned = connection.execute(select(func.count()).select_from(alert_outbox)).scalar_one()
    assert planned == 2 + 2 + 2 + 2, "two roots, then a reply and an edit per change, for the server to send"

    missing = observer("ack", "9", home=tmp_path)
    assert missing.returncode == 2 and "no incident 9" in missing.stderr
    again = observer("resolve", "2", home=tmp_path)
    assert again.returncode == 2 and "already resolved" in again.stderr
    wrong = observer("list", "--state", "sleeping", home=tmp_path)
    assert wrong.returncode == 2 and "unknown state sleeping" in wrong.stderr


def test_the_config_can_come_before_the_command(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "observer.yaml").write_text(f"store:\n  url: sqlite:///{elsewhere / 'chosen.db'}\n")
    result = CliRunner().invoke(
        app,
        ["incidents", "--config", str(elsewhere / "observer.yaml"), "list", "--json"],
        env={"OBSERVER_HOME": str(tmp_path)},
    )
    assert result.exit_code == 0, result.stderr
    assert (elsewhere / "chosen.db").exists()
    assert not (tmp_path / "observer.db").exists()
