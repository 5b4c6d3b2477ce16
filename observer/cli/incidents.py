"""``observer incidents``: list, show, acknowledge, resolve and mute incidents.

Changes made here are planned into the alert outbox like any other, so a running server threads
them into the incident's Slack message.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import typer

from observer.alerts.render import RenderContext, render_plain
from observer.alerts.service import build_incident_service
from observer.cli.common import ConfigOption, build_runtime, fail
from observer.clock import ensure_utc
from observer.config.settings import parse_duration
from observer.incidents import queries
from observer.incidents.owners import OwnerDirectory
from observer.incidents.service import IncidentError
from observer.runtime import Runtime
from observer.store import StoreUnavailable

incidents_app = typer.Typer(help="List and manage incidents.", invoke_without_command=True)
STATES = ("open", "acknowledged", "muted", "resolved")


def _runtime(ctx: typer.Context, config: Path | None) -> Runtime:
    runtime = build_runtime(config or _group_config(ctx))
    try:
        runtime.store.upgrade()
    except StoreUnavailable as error:
        fail(str(error))
    return runtime


def _group_config(ctx: typer.Context) -> Path | None:
    """The ``--config`` given before the command (``observer incidents --config F list``)."""
    value = ctx.parent.params.get("config") if ctx.parent is not None else None
    return value if isinstance(value, Path) else None


@incidents_app.callback()
def _default(ctx: typer.Context, config: Path | None = ConfigOption) -> None:
    """Without a command: the incidents that are not resolved."""
    if ctx.invoked_subcommand is None:
        list_incidents(
            ctx,
            state=["open", "acknowledged", "muted"],
            show_all=False,
            limit=50,
            as_json=False,
            config=config,
        )


@incidents_app.command("list")
def list_incidents(
    ctx: typer.Context,
    state: list[str] = typer.Option(
        [], "--state", "-s", help="open, acknowledged, muted or resolved (repeatable)"
    ),
    show_all: bool = typer.Option(False, "--all", help="every state (default: not resolved)"),
    limit: int = typer.Option(50, min=1, max=1000),
    as_json: bool = typer.Option(False, "--json", help="one JSON document"),
    config: Path | None = ConfigOption,
) -> None:
    """Incidents, newest first."""
    unknown = [name for name in state if name not in STATES]
    if unknown:
        fail(f"unknown state {', '.join(unknown)} (use {', '.join(STATES)})")
    states = [] if show_all else (state or ["open", "acknowledged", "muted"])
    runtime = _runtime(ctx, config)
    with runtime.store.engine.connect() as connection:
        found, total = queries.list_incidents(connection, states=states, limit=limit)
    if as_json:
        typer.echo(
            json.dumps({"incidents": [incident.as_json() for incident in found], "total": total}, indent=2)
        )
        return
    if not found:
        typer.echo("no incidents")
        return
    for incident in found:
        impact = incident.impact
        typer.echo(
            f"#{incident.id:<5} {incident.severity:<8} {incident.state:<12} {incident.title}"
            f"  ({impact.get('datasets', 0)} downstream, {impact.get('checks', 0)} checks,"
            f" opened {incident.opened_at:%Y-%m-%d %H:%M} UTC)"
        )
    if total > len(found):
        typer.echo(f"… {total - len(found)} more (use --limit)")


@incidents_app.command("show")
def show(
    ctx: typer.Context,
    incident_id: int = typer.Argument(..., help="the incident's number"),
    as_json: bool = typer.Option(False, "--json"),
    config: Path | None = ConfigOption,
) -> None:
    """One incident: what broke, what it breaks, the suspected cause and its checks."""
    runtime = _runtime(ctx, config)
    with runtime.store.engine.connect() as connection:
        incident = queries.get_incident(connection, incident_id)
        if incident is None:
            fail(f"no incident {incident_id}")
        timeline = queries.timeline(connection, incident_id)
    if as_json:
        document: dict[str, Any] = {
            **incident.as_json(),
            "checks": [check.as_json() for check in incident.checks],
            "root_finding": incident.root_finding,
            "suspects": incident.suspects,
            "timeline": timeline,
        }
        typer.echo(json.dumps(document, indent=2))
        return
    context = RenderContext(
        public_url=runtime.settings.api.public_url,
        mention=OwnerDirectory(runtime.settings.owners).slack_mention,
        top=runtime.settings.alerts.top_assets,
    )
    typer.echo(render_plain(incident, context))
    typer.echo("  timeline:")
    for event in timeline:
        actor = f" by {event['actor']}" if event["actor"] else ""
        typer.echo(f"    {event['at']}  {event['kind']}{actor}")


def _change(ctx: typer.Context, config: Path | None, incident_id: int, action: str, **arguments: Any) -> None:
    runtime = _runtime(ctx, config)
    service = build_incident_service(runtime)
    if action == "mute" and "until" not in arguments:
        arguments["until"] = runtime.clock.now() + arguments.pop("length")
    try:
        changes = getattr(service, action)(incident_id, **arguments)
    except IncidentError as error:
        fail(str(error))
    typer.echo(f"incident {incident_id}: {action}d" if changes else f"incident {incident_id}: unchanged")


@incidents_app.command("ack")
def acknowledge(
    ctx: typer.Context,
    incident_id: int = typer.Argument(...),
    by: str | None = typer.Option(None, help="who acknowledges (shown in Slack)"),
    config: Path | None = ConfigOption,
) -> None:
    """Acknowledge an incident: someone is on it."""
    _change(ctx, config, incident_id, "acknowledge", actor=by or "cli")


@incidents_app.command("resolve")
def resolve(
    ctx: typer.Context,
    incident_id: int = typer.Argument(...),
    by: str | None = typer.Option(None),
    config: Path | None = ConfigOption,
) -> None:
    """Resolve an incident by hand (incidents also resolve when their checks pass again)."""
    _change(ctx, config, incident_id, "resolve", actor=by or "cli")


@incidents_app.command("mute")
def mute(
    ctx: typer.Context,
    incident_id: int = typer.Argument(...),
    for_: str = typer.Option("24h", "--for", help="how long, e.g. 2h or 3d"),
    until: str | None = typer.Option(None, help="until this ISO time instead (UTC unless it says otherwise)"),
    by: str | None = typer.Option(None),
    config: Path | None = ConfigOption,
) -> None:
    """Mute an incident: no follow-ups until the time given."""
    if until is not None:
        try:
            moment = ensure_utc(datetime.fromisoformat(until))
        except ValueError:
            fail(f"--until: not an ISO time: {until!r}")
        _change(ctx, config, incident_id, "mute", until=moment, actor=by or "cli")
        return
    try:
        length = parse_duration(for_)
    except ValueError as error:
        fail(f"--for: {error}")
    _change(ctx, config, incident_id, "mute", length=length, actor=by or "cli")


def register(app: typer.Typer) -> None:
    app.add_typer(incidents_app, name="incidents")
