"""Root of the ``observer`` command line; each domain adds its own command group here."""

from __future__ import annotations

import typer

from observer import __version__
from observer.cli import backtest, check, collect, core, demo, graph, incidents, ingest, lineage, sidecar

app = typer.Typer(
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


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Observer: data observability and lineage monitor."""


core.register(app)
# domain commands: one line per domain module, each exposing ``register(app)``
ingest.register(app)
check.register(app)
sidecar.register(app)
backtest.register(app)
lineage.register(app)
graph.register(app)
collect.register(app)
incidents.register(app)
demo.register(app)


def main() -> None:
    app()
