"""The sidecar's state on a store, ``observer sidecar`` as a real process, the Slack stand-in
(``slack_stub``) and a helper to read Prometheus text."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from observer.sidecar.state import SidecarState
from observer.store import Store
from tests.conftest import free_port
from tests.slack_stub import slack_stub  # noqa: F401


@pytest.fixture
def state(tmp_path: Path) -> Iterator[SidecarState]:
    """The sidecar's state on a migrated SQLite store, as a sidecar keeps it beside itself."""
    store = Store(f"sqlite:///{tmp_path / 'sidecar.db'}")
    store.upgrade()
    yield SidecarState(store)
    store.dispose()


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of the sample ``name`` with ``labels`` in Prometheus exposition ``text``, or None."""
    for family in text_string_to_metric_families(text):
        for item in family.samples:
            if item.name == name and all(item.labels.get(key) == value for key, value in labels.items()):
                return float(item.value)
    return None


class Running:
    """``observer sidecar`` as a real process, its output in a log file."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.log = cwd / "sidecar.log"
        self.port = int(env["OBSERVER_SIDECAR__PORT"])
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "observer", "sidecar"],
                stdout=output,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=cwd,
            )

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_for(self, condition: Callable[[], object], what: str) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"sidecar exited with {self.process.returncode} while waiting for {what}:\n"
                    f"{self.log.read_text()}"
                )
            try:
                if condition():
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}:\n{self.log.read_text()}")

    def metrics(self) -> str:
        return httpx.get(f"{self.base}/metrics").text

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def sidecar_env(tmp_path: Path, warehouse_url: str, rules: list[dict[str, object]]) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("OBSERVER_")}
    env.update(
        {
            "OBSERVER_HOME": str(tmp_path),
            "OBSERVER_WAREHOUSES__0__NAME": "orders-db",
            "OBSERVER_WAREHOUSES__0__URL": warehouse_url,
            "OBSERVER_CHECKS__RULES": json.dumps(rules),
            "OBSERVER_SIDECAR__INTERVAL": "0.3s",
            "OBSERVER_SIDECAR__JITTER": "0.1s",
            "OBSERVER_SIDECAR__HOST": "127.0.0.1",
            "OBSERVER_SIDECAR__PORT": str(free_port()),
            "OBSERVER_ALERTS__OUTBOX__POLL_INTERVAL": "0.2s",
        }
    )
    return env


@pytest.fixture
def running() -> Iterator[list[Running]]:
    started: list[Running] = []
    yield started
    for item in started:
        item.stop()
