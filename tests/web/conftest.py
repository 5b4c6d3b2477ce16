"""Browser tests against a live Observer filled with the shop warehouse through the real ingest and
findings endpoints: Debian's Chromium driven by Playwright (skipped when /usr/bin/chromium is absent),
and Debian's Firefox ESR driven over WebDriver BiDi by tests/web/bidi.py (skipped when
/usr/bin/firefox-esr is absent).

``--screenshots=DIR`` saves the README's screenshots there (``make screenshots``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import uvicorn

from api.app import create_app
from observer.alerts.service import build_incident_service
from observer.config.settings import Settings, StoreSettings
from observer.incidents.graph_lineage import GraphLineage
from observer.runtime import Runtime
from tests.conftest import free_port
from tests.web import shop
from tests.web.bidi import Firefox, Tab

CHROMIUM = Path("/usr/bin/chromium")
FIREFOX = Path("/usr/bin/firefox-esr")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1440, "height": 900}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--screenshots",
        action="store",
        default=None,
        metavar="DIR",
        help="save the web UI screenshots (tests/web, -k screenshots) into DIR",
    )


@pytest.fixture(scope="session")
def screenshot_dir(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    chosen = request.config.getoption("--screenshots", default=None)
    target = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    target.mkdir(parents=True, exist_ok=True)
    return target


class ShopServer:
    """An Observer app served by uvicorn in a thread, over its own SQLite store, with the lineage
    graph fed by ingestion and read by the incidents (as ``observer serve`` wires them)."""

    def __init__(self, home: Path) -> None:
        settings = Settings(store=StoreSettings(url=f"sqlite:///{home / 'observer.db'}"))
        self.runtime = Runtime.build(settings)
        self.runtime.store.upgrade()
        self.app = create_app(self.runtime)
        assert self.runtime.graph is not None
        self.app.state.incidents = build_incident_service(
            self.runtime, lineage=GraphLineage(self.runtime.graph)
        )
        self.url = f"http://127.0.0.1:{free_port()}"
        port = int(self.url.rsplit(":", 1)[1])
        config = uvicorn.Config(self.app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="web-test-server", daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError("the test server did not start")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


def _wait_for_projection(client: httpx.Client, events: list[dict[str, Any]], timeout: float = 90) -> None:
    """Until every job's runs are readable through the Marquez-compatible API."""
    expected: dict[tuple[str, str], int] = {}
    for event in events:
        if event["eventType"] != "START":
            key = (event["job"]["namespace"], event["job"]["name"])
            expected[key] = expected.get(key, 0) + 1
    deadline = time.monotonic() + timeout
    pending = dict(expected)
    while pending and time.monotonic() < deadline:
        for (namespace, name), count in list(pending.items()):
            response = client.get(
                f"/api/v1/namespaces/{quote(namespace, safe='')}/jobs/{quote(name, safe='')}/runs",
                params={"limit": 500},
            )
            if response.status_code == 200 and len(response.json().get("runs", [])) >= count:
                del pending[(namespace, name)]
        time.sleep(0.2)
    if pending:
        raise RuntimeError(f"events not projected in {timeout}s: {sorted(pending)}")


@pytest.fixture(scope="session")
def shop_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A live server holding eight weeks of the shop warehouse, its findings and incidents."""
    server = ShopServer(tmp_path_factory.mktemp("observer-web"))
    server.start()
    try:
        now = datetime.now(UTC)
        events = shop.events(now)
        with httpx.Client(base_url=server.url, timeout=60) as client:
            for start in range(0, len(events), 200):
                response = client.post("/api/v1/lineage/batch", json=events[start : start + 200])
                assert response.status_code in (200, 204), response.text
            _wait_for_projection(client, events)
            response = client.post("/api/v1/sidecar/findings", json=shop.findings(now))
            assert response.is_success, response.text
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("no browser: /usr/bin/chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


class BrowserErrors(list[str]):
    """Console errors and uncaught exceptions of one page."""


@pytest.fixture
def page(browser: Any, shop_server: str) -> Iterator[Any]:
    context = browser.new_context(viewport=VIEWPORT, base_url=shop_server, device_scale_factor=1)
    context.set_default_timeout(10_000)
    tab = context.new_page()
    errors = BrowserErrors()
    tab.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.errors = errors
    yield tab
    context.close()


@pytest.fixture(scope="session")
def firefox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Firefox]:
    if not FIREFOX.exists():
        pytest.skip("no browser: /usr/bin/firefox-esr is not installed (apt-get install firefox-esr)")
    instance = Firefox.launch(FIREFOX, tmp_path_factory.mktemp("firefox"))
    yield instance
    instance.close()


@pytest.fixture
def firefox_tab(firefox: Firefox, shop_server: str) -> Iterator[Tab]:
    tab = firefox.new_tab(VIEWPORT["width"], VIEWPORT["height"])
    tab.base_url = shop_server
    yield tab
    tab.close()
