"""``observer demo [--port P] [--days N] [--home DIR] [--no-serve]``: the whole product on embedded
defaults, on a simulated shop (see ``docs/demo.md``)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import typer

from observer.cli.common import fail
from observer.config.settings import observer_home
from observer.demo import MIN_DAYS
from observer.logging import configure_logging


def demo(
    port: int = typer.Option(5000, min=0, max=65535, help="Port of the Observer server (0: any free port)."),
    days: int = typer.Option(60, min=MIN_DAYS, max=730, help="Days of the shop's life to simulate."),
    home: Path | None = typer.Option(
        None, help="Observer's home; the demo lives in HOME/demo (default: $OBSERVER_HOME, then ./.observer)."
    ),
    no_serve: bool = typer.Option(False, "--no-serve", help="Stop after the simulation instead of serving."),
) -> None:
    """Simulate a shop's warehouse for N days with Observer watching it, then serve the UI and API.

    Alerts go to Slack when SLACK_WEBHOOK_URL, or SLACK_BOT_TOKEN and SLACK_CHANNEL, are set;
    otherwise they are printed here and saved to HOME/demo/alerts.txt.
    """
    from observer.demo.server import PortInUse
    from observer.demo.simulate import Demo, DemoOptions, SlackTargets

    configure_logging("warning")
    slack = SlackTargets.from_env(os.environ)
    if os.environ.get("SLACK_BOT_TOKEN") and not slack.channel:
        fail("SLACK_BOT_TOKEN is set but SLACK_CHANNEL is not: name the channel the demo may post to")
    options = DemoOptions(home=home or observer_home(), days=days, port=port, slack=slack)
    run = Demo(options)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        try:
            run.setup()
        except PortInUse as error:
            fail(str(error))
        run.introduce()
        run.simulate()
        run.conclude()
        if not no_serve:
            run.serve()
    except KeyboardInterrupt:
        typer.echo("\nstopping", err=True)
    finally:
        run.close()


def _interrupt(_signal: int, _frame: object) -> None:
    """SIGTERM stops the demo like Ctrl-C: the server and the alert service shut down cleanly."""
    raise KeyboardInterrupt


def register(app: typer.Typer) -> None:
    app.command()(demo)
