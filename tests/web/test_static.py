"""The UI is served by the API server itself: the shell at ``/`` and at every client-side route, its
files under ``/ui/`` with proper content types, nothing that shadows the API, nothing from a CDN."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.routes.web import SHELL_PATHS, WEB_DIR
from observer.config.settings import Settings, StoreSettings
from observer.runtime import Runtime
from tests.conftest import LiveServer


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    runtime = Runtime.build(Settings(store=StoreSettings(url=f"sqlite:///{tmp_path / 'o.db'}")))
    runtime.store.upgrade()
    with TestClient(create_app(runtime, start_services=False)) as test_client:
        yield test_client


def test_the_shell_is_served_at_the_root_with_a_strict_content_security_policy(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert '<script type="module" src="/ui/app.js">' in response.text
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy


@pytest.mark.parametrize(
    "path",
    [
        "/search?q=orders",
        "/lineage?node=dataset:postgres://db:5432:shop.public.orders",
        "/datasets/postgres%3A%2F%2Fdb%3A5432/shop.public.orders",
        "/jobs/airflow/etl.load_orders",
        "/incidents",
        "/incidents/12",
    ],
)
def test_deep_links_into_the_app_answer_with_the_shell(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "<main" in response.text


def test_every_client_route_has_a_server_path() -> None:
    router = (WEB_DIR / "router.js").read_text()
    client_routes = set(re.findall(r'\{ name: "\w+", pattern: \[([^\]]*)\] \}', router))
    first_segments = {route.split(",")[0].strip().strip('"') for route in client_routes if route}
    served = {path.split("/")[1] for path in SHELL_PATHS if path != "/"}
    assert first_segments == served


@pytest.mark.parametrize(
    ("asset", "content_type"),
    [
        ("app.js", "text/javascript; charset=utf-8"),
        ("layout.js", "text/javascript; charset=utf-8"),
        ("styles.css", "text/css; charset=utf-8"),
        ("favicon.svg", "image/svg+xml"),
    ],
)
def test_files_have_their_content_types(client: TestClient, asset: str, content_type: str) -> None:
    response = client.get(f"/ui/{asset}")
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type
    assert response.headers["x-content-type-options"] == "nosniff"


def test_unchanged_files_are_revalidated_cheaply(client: TestClient) -> None:
    first = client.get("/ui/app.js")
    again = client.get("/ui/app.js", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""


@pytest.mark.parametrize("asset", ["__init__.py", "..%2Fweb.py", "missing.js", "index.txt"])
def test_only_ui_files_are_served(client: TestClient, asset: str) -> None:
    response = client.get(f"/ui/{asset}")
    assert response.status_code == 404
    assert response.json()["code"] == 404


def test_the_api_and_operational_endpoints_are_not_shadowed(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/metrics").headers["content-type"].startswith("text/plain")
    assert client.get("/openapi.json").json()["info"]["title"] == "Observer"
    assert client.get("/docs").status_code == 200
    missing = client.get("/api/v1/no-such-thing", headers={"Accept": "text/html"})
    assert missing.status_code == 404
    assert missing.json() == {"code": 404, "message": "no such endpoint"}
    assert client.get("/not-a-page").status_code == 404


def test_the_shipped_files_load_nothing_from_elsewhere() -> None:
    external = re.compile(
        r"""(src|href)=["']https?://|url\(\s*["']?https?://|@import|from\s+["']https?://|import\(["']https?://"""
    )
    for path in WEB_DIR.iterdir():
        if path.suffix in (".html", ".js", ".css", ".svg"):
            text = path.read_text()
            assert not external.search(text), f"{path.name} loads something from another origin"
            assert "fonts.googleapis" not in text and "cdn" not in text.lower(), path.name


def test_every_imported_module_is_shipped() -> None:
    imports = re.compile(r"""(?:from|import)\s*\(?\s*["']\./([\w.-]+)["']""")
    for path in WEB_DIR.glob("*.js"):
        for name in imports.findall(path.read_text()):
            assert (WEB_DIR / name).is_file(), f"{path.name} imports missing {name}"


def test_observer_serve_serves_the_ui(start_server: Callable[..., LiveServer]) -> None:
    server = start_server()
    page = httpx.get(f"{server.url}/lineage?node=dataset:ns:orders")
    assert page.status_code == 200 and "/ui/app.js" in page.text
    module = httpx.get(f"{server.url}/ui/lineage.js")
    assert module.headers["content-type"] == "text/javascript; charset=utf-8"
    assert "export async function render" in module.text
    assert httpx.get(f"{server.url}/api/v1/ui/overview").json()["counts"]["datasets"] == 0
