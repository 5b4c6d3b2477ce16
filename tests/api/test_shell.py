"""The API shell: health, readiness, metrics, one error shape, request ids, bearer scopes."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import Depends
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import require
from observer.config import load_config
from observer.runtime import Runtime


def make_client(tmp_path: Path, config: str = "") -> Iterator[TestClient]:
    path = tmp_path / "observer.yaml"
    path.write_text(f"store:\n  url: sqlite:///{tmp_path}/o.db\n{config}")
    loaded = load_config(path, environ={"INGEST_TOKEN": "ingest-secret"})
    runtime = Runtime.build(loaded.settings, secrets=loaded.secrets)
    runtime.store.upgrade()
    app = create_app(runtime)

    @app.get("/probe/read", dependencies=[Depends(require("read"))])
    def probe_read() -> dict[str, str]:
        return {"ok": "read"}

    @app.post("/probe/ingest", dependencies=[Depends(require("ingest"))])
    def probe_ingest() -> dict[str, str]:
        return {"ok": "ingest"}

    with TestClient(app) as client:
        yield client


@pytest.fixture
def open_client(tmp_path: Path) -> Iterator[TestClient]:
    yield from make_client(tmp_path)


ADMIN_DIGEST = hashlib.sha256(b"admin-secret").hexdigest()
TOKENS = f"""api:
  tokens:
    - name: airflow
      token: ${{INGEST_TOKEN}}
      scopes: [ingest]
    - name: ops
      sha256: {ADMIN_DIGEST}
      scopes: [admin]
"""


@pytest.fixture
def secured_client(tmp_path: Path) -> Iterator[TestClient]:
    yield from make_client(tmp_path, TOKENS)


def test_health_and_readiness(open_client: TestClient) -> None:
    assert open_client.get("/healthz").json() == {"status": "ok"}
    assert open_client.get("/readyz").json() == {"status": "ready"}


def test_readiness_fails_when_the_store_is_gone(tmp_path: Path) -> None:
    path = tmp_path / "observer.yaml"
    path.write_text("store:\n  url: postgresql+psycopg://nobody@127.0.0.1:1/none\n")
    runtime = Runtime.build(load_config(path, environ={}).settings)
    with TestClient(create_app(runtime)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["code"] == 503
    assert "unreachable" in response.json()["message"]


def test_metrics_are_prometheus_text(open_client: TestClient) -> None:
    open_client.get("/healthz")
    body = open_client.get("/metrics").text
    assert 'observer_http_requests_total{method="GET",route="/healthz",status="200"}' in body


def test_errors_share_one_shape(open_client: TestClient) -> None:
    response = open_client.get("/no/such/thing")
    assert response.status_code == 404
    assert response.json() == {"code": 404, "message": "no such endpoint"}


def test_request_id_is_echoed_or_made(open_client: TestClient) -> None:
    assert open_client.get("/healthz", headers={"X-Request-ID": "abc123"}).headers["x-request-id"] == "abc123"
    assert len(open_client.get("/healthz").headers["x-request-id"]) == 16


def test_openapi_document_is_served(open_client: TestClient) -> None:
    spec = open_client.get("/openapi.json").json()
    assert spec["info"]["title"] == "Observer"
    assert "/healthz" in spec["paths"]


def test_without_tokens_everything_is_open(open_client: TestClient) -> None:
    assert open_client.get("/probe/read").status_code == 200


def test_missing_token_is_401(secured_client: TestClient) -> None:
    response = secured_client.get("/probe/read")
    assert response.status_code == 401
    assert response.json() == {"code": 401, "message": "missing bearer token"}
    assert response.headers["www-authenticate"] == "Bearer"


def test_unknown_token_is_401(secured_client: TestClient) -> None:
    response = secured_client.get("/probe/read", headers={"Authorization": "Bearer guess"})
    assert response.status_code == 401
    assert response.json()["message"] == "unknown bearer token"


def test_token_without_scope_is_403(secured_client: TestClient) -> None:
    response = secured_client.get("/probe/read", headers={"Authorization": "Bearer ingest-secret"})
    assert response.status_code == 403
    assert response.json()["message"] == "token 'airflow' lacks the 'read' scope"


def test_token_with_scope_is_200(secured_client: TestClient) -> None:
    response = secured_client.post("/probe/ingest", headers={"Authorization": "Bearer ingest-secret"})
    assert response.status_code == 200


def test_admin_token_given_as_sha256_has_every_scope(secured_client: TestClient) -> None:
    headers = {"Authorization": "Bearer admin-secret"}
    assert secured_client.get("/probe/read", headers=headers).status_code == 200
    assert secured_client.post("/probe/ingest", headers=headers).status_code == 200


def test_health_stays_open_when_tokens_are_configured(secured_client: TestClient) -> None:
    assert secured_client.get("/healthz").status_code == 200
