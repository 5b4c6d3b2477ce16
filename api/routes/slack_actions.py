"""``POST /slack/actions``: the Acknowledge and Mute 24h buttons of incident messages.

Slack signs each request with the app's signing secret (``alerts.slack.signing_secret``); a request
whose signature or timestamp (older than five minutes) does not verify is refused with 401. There is
no bearer token: the signature is the authentication.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request, Response
from slack_sdk.signature import SignatureVerifier
from starlette.concurrency import run_in_threadpool

from api.errors import ApiError
from api.routes.incidents import incident_service
from observer.alerts.render import ACK_ACTION, MUTE_ACTION
from observer.clock import Clock
from observer.incidents.service import IncidentError

log = logging.getLogger(__name__)
router = APIRouter(tags=["slack"])
MUTE_FOR = timedelta(hours=24)


class _SlackClock:
    """slack_sdk's clock interface (seconds since the epoch) over Observer's clock."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def now(self) -> float:
        return self.clock.now().timestamp()


def verifier(signing_secret: str, clock: Clock) -> SignatureVerifier:
    return SignatureVerifier(signing_secret, clock=_SlackClock(clock))  # type: ignore[arg-type]


@router.post("/slack/actions", summary="Slack interactivity: incident buttons", response_class=Response)
async def slack_actions(request: Request) -> Response:
    runtime = request.app.state.runtime
    slack = runtime.settings.alerts.slack
    if slack is None or slack.signing_secret is None:
        raise ApiError(404, "Slack actions are not configured (alerts.slack.signing_secret)")
    body = await request.body()
    check = verifier(slack.signing_secret.get_secret_value(), runtime.clock)
    try:
        valid = check.is_valid_request(body, dict(request.headers))
    except ValueError:
        valid = False
    if not valid:
        raise ApiError(401, "the Slack request signature does not verify")
    payload = _payload(body)
    if payload.get("type") != "block_actions":
        return Response(status_code=200)
    user = (payload.get("user") or {}).get("id") or "unknown"
    for action in payload.get("actions") or []:
        await run_in_threadpool(_apply, request, action, f"slack:{user}")
    return Response(status_code=200)


def _payload(body: bytes) -> dict[str, Any]:
    try:
        form = parse_qs(body.decode("utf-8"), strict_parsing=False)
        payload = json.loads(form["payload"][0])
    except (UnicodeDecodeError, KeyError, IndexError, ValueError):
        raise ApiError(400, "expected a form field 'payload' holding Slack's JSON") from None
    if not isinstance(payload, dict):
        raise ApiError(400, "the Slack payload is not an object")
    return payload


def _apply(request: Request, action: dict[str, Any], actor: str) -> None:
    action_id = action.get("action_id")
    if action_id not in (ACK_ACTION, MUTE_ACTION):
        return
    try:
        incident_id = int(action.get("value", ""))
    except ValueError:
        log.warning("Slack action %s without an incident id", action_id)
        return
    service = incident_service(request)
    try:
        if action_id == ACK_ACTION:
            service.acknowledge(incident_id, actor)
        else:
            service.mute(incident_id, request.app.state.runtime.clock.now() + MUTE_FOR, actor)
    except IncidentError as error:
        log.info("Slack action %s on incident %s ignored: %s", action_id, incident_id, error)
