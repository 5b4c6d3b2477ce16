"""``POST /api/v1/sidecar/findings`` with columns: breaking changes to two columns of one table stay two
checks of one incident on the central server, a pass clears only its own column, and findings
without the field (older sidecars) still work."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from observer.alerts.service import build_incident_service
from observer.clock import SimulatedClock
from observer.config.settings import ApiSettings, ApiToken, Settings, StoreSettings
from observer.runtime import Runtime

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
NAMESPACE, NAME = "postgres://db:5432", "shop.public.orders"
INGEST = {"Authorization": "Bearer ingest-secret"}
READ = {"Authorization": "Bearer read-secret"}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(
        store=StoreSettings(url=f"sqlite:///{tmp_path / 'central.db'}"),
        api=ApiSettings(
            tokens=[
                ApiToken(name="sidecars", token="ingest-secret", scopes=["ingest"]),
                ApiToken(name="reader", token="read-secret", scopes=["read"]),
            ]
        ),
    )
    runtime = Runtime.build(settings, clock=SimulatedClock(NOW))
    runtime.store.upgrade()
    app = create_app(runtime, start_services=False)
    app.state.incidents = build_incident_service(runtime)
    with TestClient(app) as test_client:
        yield test_client
    runtime.stop()


def dropped(column: str | None, *, in_details: bool = False) -> dict[str, Any]:
    finding: dict[str, Any] = {
        "namespace": NAMESPACE,
        "name": NAME,
        "check": "schema",
        "severity": "error",
        "detected_at": NOW.isoformat(),
        "explanation": f"{column or 'a column'} was dropped from {NAME}.",
        "details": {"column": column} if in_details and column else {},
    }
    if column is not None and not in_details:
        finding["column"] = column
    return finding


def post(
    client: TestClient, findings: list[dict[str, Any]], passes: list[dict[str, Any]] | None = None
) -> None:
    response = client.post(
        "/api/v1/sidecar/findings",
        json={"sidecar": "orders-pipeline", "findings": findings, "passes": passes or []},
        headers=INGEST,
    )
    assert response.status_code == 202, response.text


def incident_checks(client: TestClient) -> list[dict[str, Any]]:
    incidents = client.get("/api/v1/incidents", headers=READ).json()["incidents"]
    assert len(incidents) == 1
    shown = client.get(f"/api/v1/incidents/{incidents[0]['id']}", headers=READ).json()
    return sorted(shown["checks"], key=lambda check: check["column"] or "")


def test_schema_findings_on_two_columns_are_two_checks_of_one_incident(client: TestClient) -> None:
    post(client, [dropped("email"), dropped("total")])
    checks = incident_checks(client)
    assert [(check["check"], check["column"]) for check in checks] == [
        ("schema", "email"),
        ("schema", "total"),
    ]
    listed = client.get("/api/v1/sidecar/findings", headers=READ).json()["findings"]
    assert sorted(item["column"] for item in listed) == ["email", "total"]


def test_a_pass_clears_only_the_check_of_its_column(client: TestClient) -> None:
    post(client, [dropped("email"), dropped("total")])
    checked = (NOW + timedelta(minutes=5)).isoformat()
    post(
        client,
        [],
        [{"namespace": NAMESPACE, "name": NAME, "check": "schema", "column": "email", "checked_at": checked}],
    )
    cleared = {check["column"]: check["cleared_at"] is not None for check in incident_checks(client)}
    assert cleared == {"email": True, "total": False}


def test_findings_without_the_field_keep_working(client: TestClient) -> None:
    """Older sidecars name the column only in ``details``; a finding without any is about the table."""
    post(client, [dropped("email", in_details=True), dropped(None)])
    checks = incident_checks(client)
    assert [check["column"] for check in checks] == [None, "email"]
