"""``observer check [freshness|volume|schema|distribution|all] [--once]``: the detectors over the store."""

from __future__ import annotations

import time
from enum import StrEnum
from pathlib import Path

import typer

from observer.checks.results import Status, render_table
from observer.checks.store import AVAILABLE, run_checks
from observer.cli.common import ConfigOption, build_runtime, fail
from observer.store import StoreUnavailable


class CheckKind(StrEnum):
    freshness = "freshness"
    volume = "volume"
    schema = "schema"
    distribution = "distribution"
    all = "all"


def check(
    kind: CheckKind = typer.Argument(CheckKind.all, help="Which checks to run."),
    once: bool = typer.Option(
        False, "--once", help="Check once and exit: 0 all fine, 1 a problem found, 2 error."
    ),
    every: str | None = typer.Option(
        None, help="Without --once: time between checks (default sidecar.interval)."
    ),
    config: Path | None = ConfigOption,
) -> None:
    """Run the detectors on the histories in the store and print a table of results."""
    from observer.config.settings import parse_duration

    runtime = build_runtime(config)
    kinds = list(AVAILABLE) if kind is CheckKind.all else [kind.value]
    try:
        interval = parse_duration(every) if every else runtime.settings.sidecar.interval
    except ValueError as error:
        fail(f"--every: {error}")
    try:
        runtime.store.ping()
        while True:
            results = run_checks(runtime.store, runtime.settings.checks, kinds, runtime.clock.now())
            typer.echo(render_table(results))
            if once:
                raise typer.Exit(1 if any(r.status == Status.PROBLEM for r in results) else 0)
            typer.echo("")
            time.sleep(interval.total_seconds())
    except StoreUnavailable as error:
        fail(str(error))
    except KeyboardInterrupt:
        pass
    finally:
        runtime.store.dispose()


def register(app: typer.Typer) -> None:
    app.command()(check)
