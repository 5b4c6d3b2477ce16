"""What every command shares: loading the configuration and failing with exit code 2."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import typer

from observer.clock import Clock
from observer.config import ConfigError, LoadedConfig, load_config
from observer.logging import configure_logging
from observer.runtime import Runtime

ConfigOption = typer.Option(
    None, "--config", "-c", help="observer.yaml (default: $OBSERVER_CONFIG, then ./observer.yaml)"
)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``message`` to stderr and exit (2: usage, config or input error)."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def load(config: Path | None) -> LoadedConfig:
    try:
        loaded = load_config(config)
    except ConfigError as error:
        fail("invalid configuration:\n  " + "\n  ".join(error.problems))
    configure_logging(loaded.settings.log_level, secrets=loaded.secrets)
    return loaded


def build_runtime(config: Path | None, *, clock: Clock | None = None) -> Runtime:
    loaded = load(config)
    return Runtime.build(loaded.settings, clock=clock, secrets=loaded.secrets)
