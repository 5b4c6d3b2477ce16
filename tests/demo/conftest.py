"""A demo run shared by the tests of one module: set up, simulated (21 days, the least the detectors
need) and left serving in this process, on fixed dates so every run sees the same shop."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from observer.demo import MIN_DAYS
from observer.demo.present import Presenter
from observer.demo.simulate import Demo, DemoOptions, SlackTargets

LAST_DAY = date(2026, 3, 20)


@dataclass
class DemoRun:
    demo: Demo
    output: io.StringIO
    client: httpx.Client

    @property
    def directory(self) -> Path:
        return self.demo.options.directory

    def get(self, path: str, **params: str) -> Any:
        response = self.client.get(path, params=params)
        response.raise_for_status()
        return response.json()


def run_demo(home: Path, slack: SlackTargets | None = None) -> Iterator[DemoRun]:
    output = io.StringIO()
    options = DemoOptions(home=home, days=MIN_DAYS, port=0, last_day=LAST_DAY, slack=slack or SlackTargets())
    demo = Demo(options, Presenter(output))
    try:
        demo.setup()
        demo.introduce()
        demo.simulate()
        demo.conclude()
        with httpx.Client(base_url=demo.url, timeout=30) as client:
            yield DemoRun(demo, output, client)
    finally:
        demo.close()


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRun]:
    yield from run_demo(tmp_path_factory.mktemp("home"))
