"""Incidents: ``GET /api/v1/incidents``, ``GET /api/v1/incidents/{id}``, and ``POST …/ack``,
``…/resolve``, ``…/mute`` (scope ``admin``).

Changes go through the server's incident service (``app.state.incidents``) when it has one, so
they are threaded into the incident's Slack message like every other change.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import select

from api.auth import require
from api.errors import ApiError
from observer.alerts.tables import alert_outbox
from observer.catalog.identity import DatasetRef
from observer.config.settings import parse_duration
from observer.incidents import queries
from observer.incidents.service import IncidentError, IncidentService

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])

State = Literal["open", "acknowledged", "muted", "resolved"]


class Actor(BaseModel):
    model_config = ConfigDict(extra="forbid")
    by: str | None = Field(default=None, max_length=200, description="who did it (default: the token's name)")


class Mute(Actor):
    until: AwareDatetime | None = Field(default=None, description="mute until this time")
    for_: str | None = Field(default=None, alias="for", description="or for this long, e.g. 24h (default)")


def incident_service(request: Request) -> IncidentService:
    """The server's incident service, or one built for this app on first use."""
    service: IncidentService | None = getattr(request.app.state, "incidents", None)
    if service is None:
        from observer.alerts.service import build_incident_service

        service = build_incident_service(request.app.state.runtime)
        request.app.state.incidents = service
    return service


@router.get("", summary="Incidents, newest first", dependencies=[Depends(require("read"))])
def list_incidents(
    request: Request,
    state: list[State] = Query(default=[], description="only these states (repeatable)"),
    namespace: str | None = Query(default=None, description="with name: incidents involving this dataset"),
    name: str | None = Query(default=None),
    limit: int = Query(default=50, ge=1, le=500),
    offset: int = Query(default=0, ge=0),
) -> dict[str, Any]:
    if (namespace is None) != (name is None):
        raise ApiError(400, "give both namespace and name, or neither")
    dataset = DatasetRef(namespace, name) if namespace is not None and name is not None else None
    with request.app.state.runtime.store.engine.connect() as connection:
        found, total = queries.list_incidents(
            connection, states=state, dataset=dataset, limit=limit, offset=offset
        )
    return {
        "incidents": [incident.as_json() for incident in found],
        "total": total,
        "limit": limit,
        "offset": offset,
    }


@router.get(
    "/{incident_id}",
    summary="One incident: its checks, root finding, impact, suspects, timeline and deliveries",
    dependencies=[Depends(require("read"))],
)
def show_incident(incident_id: int, request: Request) -> dict[str, Any]:
    with request.app.state.runtime.store.engine.connect() as connection:
        incident = queries.get_incident(connection, incident_id)
        if incident is None:
            raise ApiError(404, f"no incident {incident_id}")
        impacted = queries.impacted_nodes(connection, incident_id)
        timeline = queries.timeline(connection, incident_id)
        deliveries = connection.execute(
            select(
                alert_outbox.c.destination,
                alert_outbox.c.kind,
                alert_outbox.c.status,
                alert_outbox.c.attempts,
                alert_outbox.c.last_error,
                alert_outbox.c.created_at,
                alert_outbox.c.sent_at,
            )
            .where(alert_outbox.c.incident_id == incident_id)
            .order_by(alert_outbox.c.id)
        ).all()
    return {
        **incident.as_json(),
        "checks": [check.as_json() for check in incident.checks],
        "root_finding": incident.root_finding,
        "suspects": incident.suspects,
        "impacted": impacted,
        "timeline": timeline,
        "deliveries": [
            {
                "destination": row.destination,
                "kind": row.kind,
                "status": row.status,
                "attempts": row.attempts,
                "last_error": row.last_error,
                "created_at": row.created_at.isoformat(),
                "sent_at": row.sent_at.isoformat() if row.sent_at else None,
            }
            for row in deliveries
        ],
    }


def _actor(request: Request, body: Actor | None) -> str:
    if body is not None and body.by:
        return body.by
    token = getattr(request.state, "token_name", None)
    return f"token:{token}" if token else "api"


def _changed(request: Request, incident_id: int, action: Any) -> dict[str, Any]:
    try:
        changes = action(incident_service(request))
    except IncidentError as error:
        raise ApiError(error.status, str(error)) from None
    with request.app.state.runtime.store.engine.connect() as connection:
        incident = queries.get_incident(connection, incident_id)
    assert incident is not None
    return {**incident.as_json(), "changed": bool(changes)}


@router.post("/{incident_id}/ack", summary="Acknowledge", dependencies=[Depends(require("admin"))])
def acknowledge(
    incident_id: int, request: Request, body: Actor | None = Body(default=None)
) -> dict[str, Any]:
    actor = _actor(request, body)
    return _changed(request, incident_id, lambda service: service.acknowledge(incident_id, actor))


@router.post("/{incident_id}/resolve", summary="Resolve by hand", dependencies=[Depends(require("admin"))])
def resolve(incident_id: int, request: Request, body: Actor | None = Body(default=None)) -> dict[str, Any]:
    actor = _actor(request, body)
    return _changed(request, incident_id, lambda service: service.resolve(incident_id, actor))


@router.post("/{incident_id}/mute", summary="Mute until a time", dependencies=[Depends(require("admin"))])
def mute(incident_id: int, request: Request, body: Mute | None = Body(default=None)) -> dict[str, Any]:
    actor = _actor(request, body)
    until = _mute_until(request.app.state.runtime.clock.now(), body)
    return _changed(request, incident_id, lambda service: service.mute(incident_id, until, actor))


def _mute_until(now: datetime, body: Mute | None) -> datetime:
    if body is not None and body.until is not None and body.for_ is not None:
        raise ApiError(400, "give until or for, not both")
    if body is not None and body.until is not None:
        return body.until
    try:
        length = parse_duration(body.for_) if body is not None and body.for_ else timedelta(hours=24)
    except ValueError as error:
        raise ApiError(400, str(error)) from None
    if length <= timedelta(0):
        raise ApiError(400, "the mute must last longer than zero")
    return now + length
