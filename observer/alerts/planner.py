"""Incident changes become outbox rows: the root message when an incident opens, then thread
replies and edits of the root message as it grows, is acknowledged, muted or resolved."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from observer.alerts.outbox import Outbox
from observer.alerts.render import Message, RenderContext, render_followup, render_incident
from observer.alerts.routing import SLACK, Destination, QuietHoursPolicy, Router
from observer.alerts.tables import alert_outbox
from observer.catalog.identity import DatasetRef
from observer.catalog.tables import datasets
from observer.config.settings import Settings
from observer.incidents.owners import OwnerDirectory
from observer.incidents.queries import Incident, get_incidents
from observer.incidents.service import IncidentChange
from observer.incidents.sql import chunks, datasets_in
from observer.incidents.tables import incidents

SILENT_WHILE_MUTED = frozenset({"joined", "escalated"})
EDITS_ONLY = frozenset({"unmuted"})


class AlertPlanner:
    """The :class:`observer.incidents.service.ChangeSink` that plans messages into the outbox."""

    def __init__(self, settings: Settings, owners: OwnerDirectory | None = None) -> None:
        self.settings = settings
        self.router = Router(settings.alerts)
        self.quiet = QuietHoursPolicy(settings.alerts.quiet_hours)
        directory = owners or OwnerDirectory(settings.owners)
        slack = settings.alerts.slack
        self.context = RenderContext(
            public_url=settings.api.public_url,
            mention=directory.slack_mention,
            buttons=bool(slack and slack.buttons and slack.signing_secret and slack.bot_token),
            top=settings.alerts.top_assets,
        )

    def plan(self, connection: Connection, changes: Sequence[IncidentChange], now: datetime) -> None:
        if not self.settings.alerts.enabled or not changes:
            return
        found = get_incidents(connection, [change.incident_id for change in changes])
        announced = _announced_to(connection, [change.incident_id for change in changes])
        opened = [found[c.incident_id] for c in changes if c.kind == "opened" and c.incident_id in found]
        tags = _tags(connection, [incident.root for incident in opened])
        for change in changes:
            incident = found.get(change.incident_id)
            if incident is None:
                continue
            if change.kind == "opened":
                self._announce(connection, incident, tags.get(incident.root, []), now)
            elif announced.get(incident.id):
                self._follow_up(connection, incident, change, announced[incident.id], now)

    def _announce(self, connection: Connection, incident: Incident, tags: list[str], now: datetime) -> None:
        destinations = self.router.route(incident.root, tags, incident.severity)
        if not destinations:
            return
        message = render_incident(incident, self.context)
        sequence = _next_sequence(connection, incident.id)
        release = self.quiet.release_at(now, incident.severity)
        for destination in destinations:
            self._enqueue(connection, incident.id, "post", sequence, destination, message, now, release)

    def _follow_up(
        self,
        connection: Connection,
        incident: Incident,
        change: IncidentChange,
        destinations: list[Destination],
        now: datetime,
    ) -> None:
        reply = change.kind not in EDITS_ONLY and not (
            incident.state == "muted" and change.kind in SILENT_WHILE_MUTED
        )
        followup = (
            render_followup(
                incident,
                change.kind,
                self.context,
                checks=change.checks,
                actor=change.actor,
                details=change.details,
            )
            if reply
            else None
        )
        edited = (
            render_incident(incident, self.context)
            if any(d.notifier == SLACK for d in destinations)
            else None
        )
        sequence = _next_sequence(connection, incident.id)
        release = self.quiet.release_at(now, incident.severity)
        for destination in destinations:
            if followup is not None:
                self._enqueue(connection, incident.id, "reply", sequence, destination, followup, now, release)
            if edited is not None and destination.notifier == SLACK:
                self._enqueue(connection, incident.id, "update", sequence, destination, edited, now, None)

    def _enqueue(
        self,
        connection: Connection,
        incident_id: int,
        kind: str,
        sequence: int,
        destination: Destination,
        message: Message,
        now: datetime,
        release: datetime | None,
    ) -> None:
        Outbox.enqueue(
            connection,
            key=f"{incident_id}:{kind}:{sequence}:{destination.key}",
            incident_id=incident_id,
            destination=destination,
            kind=kind,
            payload=message.as_payload(),
            now=now,
            not_before=release,
        )


def _next_sequence(connection: Connection, incident_id: int) -> int:
    return int(
        connection.execute(
            update(incidents)
            .where(incidents.c.id == incident_id)
            .values(message_seq=incidents.c.message_seq + 1)
            .returning(incidents.c.message_seq)
        ).scalar_one()
    )


def _announced_to(connection: Connection, incident_ids: Sequence[int]) -> dict[int, list[Destination]]:
    """Where each incident's root message went (empty when it was never announced)."""
    rows = connection.execute(
        select(alert_outbox.c.incident_id, alert_outbox.c.destination)
        .where(alert_outbox.c.incident_id.in_(sorted(set(incident_ids))), alert_outbox.c.kind == "post")
        .order_by(alert_outbox.c.id)
    )
    found: dict[int, list[Destination]] = {}
    for incident_id, key in rows:
        destinations = found.setdefault(incident_id, [])
        destination = Destination.parse(key)
        if destination not in destinations:
            destinations.append(destination)
    return found


def _tags(connection: Connection, refs: Sequence[DatasetRef]) -> dict[DatasetRef, list[str]]:
    found: dict[DatasetRef, list[str]] = {}
    for chunk in chunks(sorted(set(refs))):
        rows = connection.execute(
            select(datasets.c.namespace, datasets.c.name, datasets.c.tags).where(
                datasets_in(datasets.c.namespace, datasets.c.name, chunk)
            )
        )
        for namespace, name, raw in rows:
            found[DatasetRef(namespace, name)] = _tag_names(raw)
    return found


def _tag_names(raw: Any) -> list[str]:
    tags = []
    for tag in raw or []:
        if isinstance(tag, str):
            tags.append(tag)
        elif isinstance(tag, dict):
            name = tag.get("name") or tag.get("key") or tag.get("tag")
            if name:
                tags.append(str(name))
    return tags
