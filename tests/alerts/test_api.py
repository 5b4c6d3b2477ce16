"""The incidents API and the Slack buttons (``POST /slack/actions``, signed by Slack)."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from slack_sdk.signature import SignatureVerifier

from api.app import create_app
from observer.config.settings import Settings
from observer.store import Store
from tests.alerts.helpers import SIGNING_SECRET, T0, Alerting, alerting, finding, settings
from tests.slack_stub import SlackStub

ADMIN = "admin-token-0123456789"
READER = "reader-token-0123456789"


def with_tokens(config: Settings) -> Settings:
    data = config.model_dump(mode="python")
    data["alerts"]["slack"]["bot_token"] = config.alerts.slack.bot_token.get_secret_value()  # type: ignore[union-attr]
    data["alerts"]["slack"]["signing_secret"] = SIGNING_SECRET
    data["api"]["tokens"] = [
        {"name": "ops", "sha256": hashlib.sha256(ADMIN.encode()).hexdigest(), "scopes": ["admin"]},
        {"name": "dash", "sha256": hashlib.sha256(READER.encode()).hexdigest(), "scopes": ["read"]},
    ]
    return Settings.model_validate(data)


@pytest.fixture
def setup(store: Store, slack_stub: SlackStub) -> Alerting:
    return alerting(store, with_tokens(settings(slack_stub)))


@pytest.fixture
def client(setup: Alerting) -> Iterator[TestClient]:
    app = create_app(setup.runtime, start_services=False)
    app.state.incidents = setup.incidents
    with TestClient(app) as client:
        yield client


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_list_and_show_incidents(setup: Alerting, client: TestClient) -> None:
    setup.incidents.process([finding("raw.orders"), finding("web.sessions", "freshness")])
    listed = client.get("/api/v1/incidents", headers=auth(READER)).json()
    assert listed["total"] == 2
    assert [incident["title"] for incident in listed["incidents"]] == [
        "Stale data on web.sessions",
        "Volume drop on raw.orders",
    ]
    only = client.get(
        "/api/v1/incidents",
        params={"namespace": "postgres://warehouse:5432", "name": "raw.orders"},
        headers=auth(READER),
    )
    assert [incident["id"] for incident in only.json()["incidents"]] == [1]

    shown = client.get("/api/v1/incidents/1", headers=auth(READER)).json()
    assert shown["root"]["node_id"] == "dataset:postgres://warehouse:5432:raw.orders"
    assert shown["root_finding"]["observed"] == 120.0
    assert shown["checks"][0]["check"] == "volume"
    assert [event["kind"] for event in shown["timeline"]] == ["opened"]
    assert shown["deliveries"] == [
        {
            "destination": "slack:C0ALERTS",
            "kind": "post",
            "status": "pending",
            "attempts": 0,
            "last_error": None,
            "created_at": T0.isoformat(),
            "sent_at": None,
        }
    ]


def test_errors_have_the_common_shape(setup: Alerting, client: TestClient) -> None:
    missing = client.get("/api/v1/incidents/99", headers=auth(READER))
    assert missing.status_code == 404 and missing.json() == {"code": 404, "message": "no incident 99"}
    assert client.get("/api/v1/incidents").status_code == 401
    half = client.get("/api/v1/incidents", params={"namespace": "x"}, headers=auth(READER))
    assert half.status_code == 400


def test_ack_mute_resolve_need_the_admin_scope_and_reach_slack(
    setup: Alerting, client: TestClient, slack_stub: SlackStub
) -> None:
    setup.incidents.process([finding("raw.orders")])
    setup.deliver()
    assert client.post("/api/v1/incidents/1/ack", headers=auth(READER)).status_code == 403

    acked = client.post("/api/v1/incidents/1/ack", headers=auth(ADMIN))
    assert acked.status_code == 200
    assert (acked.json()["state"], acked.json()["acknowledged_by"], acked.json()["changed"]) == (
        "acknowledged",
        "token:ops",
        True,
    )
    muted = client.post("/api/v1/incidents/1/mute", json={"for": "2h", "by": "carol"}, headers=auth(ADMIN))
    assert muted.json()["muted_until"] == (T0 + timedelta(hours=2)).isoformat()
    assert (
        client.post("/api/v1/incidents/1/mute", json={"for": "soon"}, headers=auth(ADMIN)).status_code == 400
    )
    resolved = client.post("/api/v1/incidents/1/resolve", headers=auth(ADMIN))
    assert resolved.json()["state"] == "resolved"
    again = client.post("/api/v1/incidents/1/ack", headers=auth(ADMIN))
    assert again.status_code == 409 and again.json()["message"] == "incident 1 is already resolved"

    setup.deliver()
    [root] = slack_stub.top_level()
    replies = [message.text for message in slack_stub.replies(root.ts)]
    assert replies[0] == "Acknowledged by token:ops"
    assert replies[1].startswith("Muted until <!date^") and replies[1].endswith("by carol")
    assert replies[2].startswith("✅ Resolved")
    assert (root.text or "").startswith("✅ Resolved")


def slack_request(
    payload: dict[str, Any], *, secret: str = SIGNING_SECRET, at: int | None = None
) -> dict[str, Any]:
    body = urlencode({"payload": json.dumps(payload)})
    timestamp = str(at if at is not None else int(T0.timestamp()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
    return {
        "content": body,
        "headers": {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": signature or "",
        },
    }


def button(action_id: str, incident_id: int = 1, user: str = "U0ALICE") -> dict[str, Any]:
    return {
        "type": "block_actions",
        "user": {"id": user, "username": "alice"},
        "actions": [{"action_id": action_id, "value": str(incident_id), "type": "button"}],
    }


def test_slack_buttons_acknowledge_and_mute(
    setup: Alerting, client: TestClient, slack_stub: SlackStub
) -> None:
    setup.incidents.process([finding("raw.orders")])
    setup.deliver()
    assert client.post("/slack/actions", **slack_request(button("observer_ack"))).status_code == 200
    assert (
        client.post("/slack/actions", **slack_request(button("observer_mute_24h", user="U0BOB"))).status_code
        == 200
    )

    shown = client.get("/api/v1/incidents/1", headers=auth(READER)).json()
    assert shown["acknowledged_by"] == "slack:U0ALICE"
    assert shown["state"] == "muted" and shown["muted_by"] == "slack:U0BOB"
    assert shown["muted_until"] == (T0 + timedelta(hours=24)).isoformat()
    setup.deliver()
    [root] = slack_stub.top_level()
    assert slack_stub.replies(root.ts)[0].text == "Acknowledged by <@U0ALICE>"


def test_slack_requests_with_a_bad_or_stale_signature_are_refused(
    setup: Alerting, client: TestClient
) -> None:
    setup.incidents.process([finding("raw.orders")])
    forged = client.post("/slack/actions", **slack_request(button("observer_ack"), secret="not-the-secret"))
    assert (
        forged.status_code == 401
        and forged.json()["message"] == "the Slack request signature does not verify"
    )
    stale = client.post(
        "/slack/actions", **slack_request(button("observer_ack"), at=int(T0.timestamp()) - 600)
    )
    assert stale.status_code == 401
    unsigned = client.post("/slack/actions", content="payload=%7B%7D")
    assert unsigned.status_code == 401
    garbage = slack_request(button("observer_ack"))
    garbage["headers"]["X-Slack-Request-Timestamp"] = "yesterday"
    assert client.post("/slack/actions", **garbage).status_code == 401
    shown = client.get("/api/v1/incidents/1", headers=auth(READER)).json()
    assert shown["state"] == "open" and shown["acknowledged_at"] is None


def test_signed_requests_that_are_not_buttons_are_accepted_and_ignored(
    setup: Alerting, client: TestClient
) -> None:
    setup.incidents.process([finding("raw.orders")])
    other = client.post("/slack/actions", **slack_request({"type": "view_submission", "user": {"id": "U1"}}))
    assert other.status_code == 200
    unknown = client.post("/slack/actions", **slack_request(button("observer_ack", incident_id=42)))
    assert unknown.status_code == 200, "Slack gets its 200; the log says why nothing happened"


def test_slack_actions_are_off_without_a_signing_secret(store: Store, slack_stub: SlackStub) -> None:
    config = settings(slack_stub, slack={"bot_token": "xoxb-1", "base_url": slack_stub.api_url})
    setup = alerting(store, config)
    with TestClient(create_app(setup.runtime, start_services=False)) as client:
        response = client.post("/slack/actions", **slack_request(button("observer_ack")))
    assert response.status_code == 404


def test_the_real_clock_verifies_fresh_signatures(store: Store, slack_stub: SlackStub) -> None:
    from observer.clock import SystemClock
    from observer.runtime import Runtime

    config = with_tokens(settings(slack_stub))
    runtime = Runtime(settings=config, clock=SystemClock(), store=store)
    with TestClient(create_app(runtime, start_services=False)) as client:
        fresh = client.post("/slack/actions", **slack_request(button("observer_ack"), at=int(time.time())))
        old = client.post("/slack/actions", **slack_request(button("observer_ack")))
    assert (fresh.status_code, old.status_code) == (200, 401)
