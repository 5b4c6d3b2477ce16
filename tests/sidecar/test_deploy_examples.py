"""The deployment examples in docs/deploy/ only use commands, flags, settings and endpoints that exist."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import typer
import yaml

from observer.cli.main import app
from observer.config.loader import load_config
from observer.sidecar.server import PATHS

DEPLOY = Path(__file__).resolve().parents[2] / "docs" / "deploy"


def _command(args: list[str]) -> tuple[Any, list[str]]:
    """The (click) command that ``observer <args>`` runs, and the flags given to it."""
    assert args[0] == "observer"
    command: Any = typer.main.get_command(app)
    words = args[1:]
    while hasattr(command, "commands") and words and not words[0].startswith("-"):
        command = command.commands[words.pop(0)]
    return command, [word.split("=", 1)[0] for word in words if word.startswith("-")]


def _assert_flags_exist(args: list[str]) -> None:
    command, flags = _command(args)
    assert not hasattr(command, "commands"), f"{' '.join(args)} names a command group"
    known = {opt for param in command.params for opt in getattr(param, "opts", [])}
    assert set(flags) <= known, f"{' '.join(args)}: unknown flags {set(flags) - known}"


def _observer_container() -> dict[str, Any]:
    pod = yaml.safe_load((DEPLOY / "kubernetes-sidecar.yaml").read_text())
    return next(c for c in pod["spec"]["containers"] if c["name"] == "observer")


def test_kubernetes_command_and_flags_exist() -> None:
    container = _observer_container()
    _assert_flags_exist(container["command"] + container.get("args", []))


def test_kubernetes_env_is_a_valid_configuration() -> None:
    container = _observer_container()
    env = {}
    for item in container["env"]:
        name = item["name"]
        assert name.startswith("OBSERVER_"), name
        env[name] = item.get(
            "value", "postgresql://observer@db:5432/orders" if name.endswith("__URL") else "x"
        )
    env["OBSERVER_ALERTS__SLACK_WEBHOOKS__0__URL"] = "https://hooks.slack.example/T0/B0/x"
    settings = load_config(None, environ=env, use_default_path=False).settings
    assert settings.warehouses[0].name == "orders-db"
    assert settings.checks.rules and settings.sidecar.port == 9465


def test_kubernetes_probes_and_port_match_the_sidecar() -> None:
    container = _observer_container()
    assert container["livenessProbe"]["httpGet"]["path"] in PATHS
    assert container["readinessProbe"]["httpGet"]["path"] in PATHS
    port = next(p["containerPort"] for p in container["ports"] if p["name"] == "metrics")
    env = {item["name"]: item.get("value") for item in container["env"]}
    assert int(env["OBSERVER_SIDECAR__PORT"]) == port


def test_systemd_and_cron_commands_exist() -> None:
    unit = (DEPLOY / "observer-sidecar.service").read_text()
    exec_start = re.search(r"^ExecStart=(.+)$", unit, re.M)
    assert exec_start is not None
    args = shlex.split(exec_start.group(1))
    _assert_flags_exist(["observer", *args[1:]])
    cron = [
        line
        for line in (DEPLOY / "observer-sidecar.cron").read_text().splitlines()
        if re.match(r"^[*0-9]", line)
    ]
    assert cron
    for line in cron:
        words = shlex.split(line)[5:]
        words = [word for word in words if "=" not in word or word.startswith("-")]
        _assert_flags_exist(["observer", *words[1:]])
