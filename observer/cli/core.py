"""Core commands: ``serve``, ``db upgrade``, ``config check``."""

from __future__ import annotations

import ipaddress
import json
import logging
from pathlib import Path
from typing import Any

import typer

from observer.cli.common import ConfigOption, build_runtime, fail, load
from observer.config.settings import ApiSettings
from observer.runtime import settle_for_serving
from observer.store import StoreUnavailable
from observer.store.database import masked_url

log = logging.getLogger("observer.serve")

db_app = typer.Typer(help="Manage the store's schema.", no_args_is_help=True)
config_app = typer.Typer(help="Inspect the configuration.", no_args_is_help=True)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind_problem(api: ApiSettings, host: str) -> str | None:
    """Why binding ``host`` would be unsafe, or None. Open access needs loopback or ``auth: none``."""
    if api.tokens or is_loopback(host) or api.auth == "none":
        return None
    return (
        f"refusing to listen on {host} without API tokens: configure api.tokens, "
        "or set api.auth: none to serve without authentication on purpose"
    )


def serve(
    host: str | None = typer.Option(None, help="Address to bind (default: api.host, 127.0.0.1)."),
    port: int | None = typer.Option(None, help="Port (default: api.port, 5000)."),
    config: Path | None = ConfigOption,
) -> None:
    """Run the API server (OpenLineage ingest, lineage, incidents, metrics)."""
    import uvicorn

    from observer.server import build_server

    runtime = build_runtime(config)
    api = runtime.settings.api
    bind_host = host or api.host
    bind_port = api.port if port is None else port
    problem = bind_problem(api, bind_host)
    if problem:
        fail(problem)
    if not api.tokens and not is_loopback(bind_host):
        log.warning("serving on %s WITHOUT authentication (api.auth: none)", bind_host)
    try:
        runtime.store.upgrade()
    except StoreUnavailable as error:
        fail(str(error))
    log.info("store %s", masked_url(runtime.store.url))
    server = build_server(runtime)
    settle_for_serving()
    typer.echo(f"serving on http://{bind_host}:{bind_port} (API docs at /docs)", err=True)
    uvicorn.run(
        server,
        host=bind_host,
        port=bind_port,
        log_config=None,
        access_log=False,
        lifespan="on",
    )


@db_app.command("upgrade")
def db_upgrade(config: Path | None = ConfigOption) -> None:
    """Create or migrate the store's tables to the newest schema."""
    runtime = build_runtime(config)
    try:
        applied = runtime.store.upgrade()
    except StoreUnavailable as error:
        fail(str(error))
    target = masked_url(runtime.store.url)
    typer.echo(f"{target}: applied {', '.join(applied)}" if applied else f"{target}: already up to date")


@db_app.command("revision")
def db_revision(
    branch: str = typer.Option(..., help="The domain's migration branch, e.g. catalog or ingest."),
    message: str = typer.Option(..., "--message", "-m", help="What the migration does."),
    config: Path | None = ConfigOption,
) -> None:
    """For developers: generate a migration from the difference between the tables and the store."""
    runtime = build_runtime(config)
    try:
        runtime.store.upgrade()
        path = runtime.store.new_revision(branch, message)
    except StoreUnavailable as error:
        fail(str(error))
    typer.echo(f"wrote {path}; read it, adjust it, then commit it")


@config_app.command("check")
def config_check(config: Path | None = ConfigOption) -> None:
    """Validate the configuration and print the effective settings with secrets masked."""
    loaded = load(config)
    effective: dict[str, Any] = loaded.settings.model_dump(mode="json")
    effective["store"]["url"] = masked_url(loaded.settings.store.resolved_url())
    text = json.dumps(effective, indent=2)
    for secret in loaded.secrets:
        text = text.replace(secret, "***")
    typer.echo(f"# {loaded.source}: valid")
    typer.echo(text)


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.add_typer(db_app, name="db")
    app.add_typer(config_app, name="config")
