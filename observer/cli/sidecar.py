"""``observer sidecar [--once]``: freshness checks next to a pipeline, against its warehouses."""

from __future__ import annotations

from pathlib import Path

import typer

from observer.checks.results import render_table
from observer.cli.common import ConfigOption, fail, load
from observer.sidecar.app import SidecarConfigError, assemble, run_forever, run_once
from observer.store import StoreUnavailable


def sidecar(
    once: bool = typer.Option(
        False, "--once", help="Run one cycle, print the table and exit: 0 fresh, 1 overdue, 2 error."
    ),
    config: Path | None = ConfigOption,
) -> None:
    """Watch the configured warehouses' tables; serve /healthz, /readyz and /metrics (sidecar.port)."""
    loaded = load(config)
    try:
        assembly = assemble(loaded.settings)
    except SidecarConfigError as error:
        fail(str(error))
    if not once:
        try:
            run_forever(loaded.settings, assembly)
        except OSError as error:
            assembly.close()
            fail(f"cannot listen on {loaded.settings.sidecar.host}:{loaded.settings.sidecar.port}: {error}")
        except StoreUnavailable as error:
            assembly.close()
            fail(str(error))
        return
    try:
        report = run_once(assembly)
    except StoreUnavailable as error:
        fail(str(error))
    finally:
        assembly.close()
    typer.echo(render_table(report.results))
    if report.failed:
        for name, problem in report.failed.items():
            typer.echo(f"error: {name} could not be read: {problem}", err=True)
        raise typer.Exit(2)
    raise typer.Exit(1 if report.problems else 0)


def register(app: typer.Typer) -> None:
    app.command()(sidecar)
