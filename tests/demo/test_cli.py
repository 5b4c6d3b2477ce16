"""``observer demo`` refuses what it cannot do, with exit code 2 and a message saying why."""

from __future__ import annotations

import socket
from pathlib import Path

from typer.testing import CliRunner

from observer.cli.main import app


def test_too_few_days_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--days", "5", "--home", str(tmp_path), "--no-serve"])
    assert result.exit_code == 2
    assert "--days" in result.output


def test_a_busy_port_is_named(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(app, ["demo", "--port", str(port), "--home", str(tmp_path), "--no-serve"])
    assert result.exit_code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.output
    assert "--port" in result.output


def test_a_bot_token_needs_a_channel(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["demo", "--home", str(tmp_path), "--no-serve"], env={"SLACK_BOT_TOKEN": "xoxb-test"}
    )
    assert result.exit_code == 2
    assert "SLACK_CHANNEL" in result.output
