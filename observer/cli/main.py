"""Root of the ``observer`` command line; each domain adds its own command group here."""

from __future__ import annotations

import sys
from functools import cache

import typer

from observer import __version__

_app = typer.Typer(
    name="observer",
    help="Observer: data observability and lineage monitor.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"observer {__version__}")
        raise typer.Exit()


@_app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Observer: data observability and lineage monitor."""


@cache
def _registered() -> typer.Typer:
    # Imported on first use: loading every domain (store, graph drivers, HTTP server) takes seconds.
    from observer.cli import backtest, check, collect, core, demo, graph, incidents, ingest, lineage, sidecar

    core.register(_app)
    # domain commands: one line per domain module, each exposing ``register(app)``
    ingest.register(_app)
    check.register(_app)
    sidecar.register(_app)
    backtest.register(_app)
    lineage.register(_app)
    graph.register(_app)
    collect.register(_app)
    incidents.register(_app)
    demo.register(_app)
    return _app


def __getattr__(name: str) -> typer.Typer:
    """``app``: the whole command line, with every domain's commands registered."""
    if name == "app":
        return _registered()
    raise AttributeError(name)


def main() -> None:
    if sys.argv[1:2] == ["backtest"]:
        # A backtest reads and writes files with the detectors only: skip loading the server's modules.
        from observer.cli.backtest import backtest_app

        backtest_app(args=sys.argv[2:], prog_name="observer backtest")
        return
    if sys.argv[1:2] == ["sidecar"]:
        # A long-running process: load its own command only, not every domain's modules (~7 MiB resident).
        from observer.cli import sidecar

        sidecar_only = typer.Typer(name="observer", pretty_exceptions_enable=False, add_completion=False)
        sidecar_only.callback()(_root)
        sidecar.register(sidecar_only)
        sidecar_only(prog_name="observer")
        return
    _registered()()
