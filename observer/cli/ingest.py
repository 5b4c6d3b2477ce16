"""``observer ingest FILE...``, ``observer worker`` and ``observer retention``.

``ingest`` reads OpenLineage events from JSON (one event or an array), JSON Lines, or either
gzipped, validates them exactly as the HTTP endpoint does, appends the valid ones to the event log
and (unless ``--no-project``) brings the projection up to date. One report line per file; a file
with unusable events exits 2 with every problem located by file, line and JSON path.
"""

from __future__ import annotations

import gzip
import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from observer.cli.common import ConfigOption, build_runtime, fail
from observer.ingest.log import EventLog
from observer.ingest.parse import (
    InvalidEvents,
    MalformedJson,
    ParsedEvent,
    decode_json,
    parse_body,
    parse_event,
)
from observer.ingest.projection import ProjectionWorker
from observer.ingest.retention import apply_retention
from observer.ingest.service import sql_lineage_worker
from observer.runtime import Runtime, settle_for_serving
from observer.store import StoreUnavailable

_CHUNK = 1000
_PROGRESS_FROM_BYTES = 4 * 1024 * 1024


@dataclass
class FileReport:
    path: Path
    events: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"{self.path}: {self.events} events, {self.stored} stored, "
            f"{self.duplicates} already stored, {self.rejected} rejected"
        )


def _open(path: Path) -> bytes:
    data = path.read_bytes()
    if path.suffix == ".gz" or data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return data


def read_events(path: Path, report: FileReport, ignore_invalid_facets: bool = False) -> list[ParsedEvent]:
    """The valid events of one file; problems go to ``report`` as ``file:line: path: message``."""
    try:
        data = _open(path)
    except (OSError, gzip.BadGzipFile, EOFError) as error:
        report.problems.append(f"{path}: cannot read: {error}")
        report.rejected += 1
        return []
    lines_mode = path.name.endswith((".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz"))
    if not lines_mode:
        try:
            document = decode_json(data)
        except MalformedJson as error:
            if not _first_line_is_json(data):
                report.problems.append(f"{path}:{error.line}: {error}")
                report.rejected += 1
                return []
            lines_mode = True
        else:
            try:
                return parse_body(document, ignore_invalid_facets=ignore_invalid_facets)
            except InvalidEvents as invalid:
                report.problems += [f"{path}:1: {problem}" for problem in invalid.problems]
                valid = []
                items = document if isinstance(document, list) else [document]
                for index, item in enumerate(items):
                    try:
                        valid.append(
                            parse_event(item, path=f"$[{index}]", ignore_invalid_facets=ignore_invalid_facets)
                        )
                    except InvalidEvents:
                        report.rejected += 1
                return valid
    events = []
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            events.append(parse_event(decode_json(line), ignore_invalid_facets=ignore_invalid_facets))
        except MalformedJson as error:
            report.rejected += 1
            report.problems.append(f"{path}:{number}: {error}")
        except InvalidEvents as invalid:
            report.rejected += 1
            report.problems += [f"{path}:{number}: {problem}" for problem in invalid.problems]
    return events


def _first_line_is_json(data: bytes) -> bool:
    first = next((line for line in data.splitlines() if line.strip()), b"")
    try:
        decode_json(first)
    except MalformedJson:
        return False
    return True


def ingest(
    files: list[Path] = typer.Argument(..., help="JSON, JSON Lines (.jsonl) or gzipped (.gz) event files."),
    project: bool = typer.Option(True, "--project/--no-project", help="Update the projection afterwards."),
    config: Path | None = ConfigOption,
) -> None:
    """Ingest OpenLineage events from files, with the same validation as POST /api/v1/lineage."""
    runtime = _runtime(config)
    ignore = runtime.settings.ingest.invalid_facets == "ignore"
    event_log = EventLog(runtime.store, runtime.clock, max_events=runtime.settings.ingest.commit_max_events)
    event_log.start()
    reports = []
    try:
        for path in files:
            report = FileReport(path)
            events = read_events(path, report, ignore)
            report.events = len(events) + report.rejected
            _append(event_log, events, report, show_progress=path.stat().st_size >= _PROGRESS_FROM_BYTES)
            reports.append(report)
            typer.echo(report.line())
            for problem in report.problems:
                typer.echo(f"  {problem}", err=True)
    finally:
        event_log.stop()
    if project:
        projected = ProjectionWorker(runtime.store, runtime.clock, runtime.graph).drain()
        typer.echo(f"projected {projected} events")
    if any(report.problems for report in reports):
        raise typer.Exit(2)


def _append(
    event_log: EventLog, events: list[ParsedEvent], report: FileReport, *, show_progress: bool
) -> None:
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"))
    with Progress(*columns, TimeRemainingColumn(), disable=not show_progress, transient=True) as progress:
        task = progress.add_task(str(report.path.name), total=len(events))
        for start in range(0, len(events), _CHUNK):
            chunk = events[start : start + _CHUNK]
            result = event_log.append(chunk)
            report.stored += result.stored
            report.duplicates += result.duplicates
            progress.advance(task, len(chunk))


def worker(
    once: bool = typer.Option(False, "--once", help="Project what is in the log, then exit."),
    config: Path | None = ConfigOption,
) -> None:
    """Run the projection worker as its own process (set ingest.worker: false on the servers)."""
    runtime = _runtime(config)
    projection = ProjectionWorker(
        runtime.store,
        runtime.clock,
        runtime.graph,
        batch_size=runtime.settings.ingest.projection_batch,
        sql=sql_lineage_worker(runtime, runtime.graph) if runtime.graph is not None else None,
    )
    if once:
        typer.echo(f"projected {projection.drain()} events")
        return
    done = threading.Event()

    def _stop(_signal: int, _frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    settle_for_serving()
    projection.start()
    typer.echo("projection worker running; stop with Ctrl-C", err=True)
    done.wait()
    projection.stop()


def retention(
    dry_run: bool = typer.Option(False, "--dry-run", help="Report what would be deleted, delete nothing."),
    config: Path | None = ConfigOption,
) -> None:
    """Delete raw events and run history older than ingest.retention_events / retention_runs."""
    runtime = _runtime(config)
    for line in apply_retention(
        runtime.store, runtime.clock, runtime.settings.ingest, dry_run=dry_run
    ).lines():
        typer.echo(line)


def _runtime(config: Path | None) -> Runtime:
    runtime = build_runtime(config)
    try:
        runtime.store.upgrade()
    except StoreUnavailable as error:
        fail(str(error))
    return runtime


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest)
    app.command("worker")(worker)
    app.command("retention")(retention)
