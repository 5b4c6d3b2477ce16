"""``observer collect [--warehouse NAME]`` and ``observer collect dbt [--target-dir DIR]``."""

from __future__ import annotations

import re
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from collectors.dbt.artifacts import ArtifactError
from collectors.dbt.collect import DbtReport, collect_dbt
from collectors.runner import UnknownName, choose_warehouses, collect_once, dbt_namespace
from collectors.warehouse.collect import CollectionReport
from collectors.warehouse.collect import Progress as StepProgress
from collectors.warehouse.naming import UnsupportedWarehouse
from observer.cli.common import ConfigOption, build_runtime, fail
from observer.config.settings import DbtSettings
from observer.runtime import Runtime
from observer.store import StoreUnavailable

collect_app = typer.Typer(
    help="Collect schemas, row counts, freshness, profiles and lineage from warehouses and dbt.",
    invoke_without_command=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(collect_app, name="collect")


def _prepared(config: Path | None) -> Runtime:
    runtime = build_runtime(config)
    try:
        runtime.store.upgrade()
    except StoreUnavailable as error:
        fail(str(error))
    return runtime


@collect_app.callback()
def collect(
    context: typer.Context,
    warehouse: str | None = typer.Option(None, "--warehouse", "-w", help="Only this warehouse."),
    config: Path | None = ConfigOption,
) -> None:
    """Run the configured warehouse collectors once (exit 1 when a warehouse could not be collected)."""
    if context.invoked_subcommand is not None:
        return
    runtime = _prepared(config)
    try:
        warehouses = choose_warehouses(runtime.settings, warehouse)
    except UnknownName as error:
        fail(str(error))
    if not warehouses:
        fail("no warehouses configured: add a 'warehouses:' section to observer.yaml")
    console = Console(stderr=True)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        tasks = {w.name: progress.add_task(f"{w.name}: connecting", total=None) for w in warehouses}

        def tracker(name: str) -> StepProgress:
            def notify(step: str, done: int, total: int) -> None:
                progress.update(tasks[name], description=f"{name}: {step}", completed=done, total=total)

            return notify

        reports = collect_once(
            warehouses, store=runtime.store, clock=runtime.clock, graph=runtime.graph, progress=tracker
        )
    _print_reports(reports)
    runtime.store.dispose()
    if not all(report.ok for report in reports):
        raise typer.Exit(1)


def _print_reports(reports: list[CollectionReport]) -> None:
    table = Table(title="warehouse collection")
    for header in (
        "warehouse",
        "tables",
        "queries (catalog)",
        "schema versions",
        "points",
        "updates",
        "lineage",
        "time",
    ):
        table.add_column(header, justify="left" if header == "warehouse" else "right")
    for report in reports:
        if report.ok:
            table.add_row(
                report.warehouse,
                str(report.tables),
                f"{report.queries} ({report.metadata_queries})",
                str(report.schema_versions),
                str(report.metric_points),
                str(report.updates),
                str(report.lineage_statements),
                f"{report.duration_s:.1f}s",
            )
        else:
            table.add_row(report.warehouse, "-", str(report.queries), "-", "-", "-", "-", "failed")
    Console().print(table)
    errors = Console(stderr=True, soft_wrap=True)
    for report in reports:
        for warning in report.warnings:
            errors.print(f"warning: {warning}", markup=False, highlight=False)
        if report.error:
            errors.print(f"error: {report.error}", markup=False, highlight=False)


@collect_app.command("dbt")
def collect_dbt_command(
    target_dir: Path | None = typer.Option(
        None, "--target-dir", help="A dbt target/ directory (default: every configured dbt project)."
    ),
    warehouse: str | None = typer.Option(
        None, "--warehouse", "-w", help="With --target-dir: the configured warehouse the project builds into."
    ),
    namespace: str | None = typer.Option(
        None, "--namespace", help="With --target-dir: the dataset namespace, e.g. postgres://db:5432."
    ),
    job_namespace: str = typer.Option("dbt", help="With --target-dir: namespace of the model jobs."),
    config: Path | None = ConfigOption,
) -> None:
    """Ingest dbt artifacts: datasets, owners and tags, column lineage, test results, source freshness."""
    runtime = _prepared(config)
    if target_dir is not None:
        projects = [_adhoc_project(runtime, target_dir, warehouse, namespace, job_namespace)]
    elif warehouse or namespace:
        fail("--warehouse and --namespace go with --target-dir; configured projects name their own")
    else:
        projects = list(runtime.settings.dbt)
    if not projects:
        fail("no dbt projects configured: add a 'dbt:' section to observer.yaml or give --target-dir")
    reports: list[DbtReport] = []
    for project in projects:
        try:
            reports.append(
                collect_dbt(
                    project.target_dir,
                    name=project.name,
                    namespace=dbt_namespace(runtime.settings, project),
                    job_namespace=project.job_namespace,
                    store=runtime.store,
                    clock=runtime.clock,
                    graph=runtime.graph,
                )
            )
        except (ArtifactError, UnknownName, UnsupportedWarehouse) as error:
            fail(str(error))
    _print_dbt(reports)
    runtime.store.dispose()


def _adhoc_project(
    runtime: Runtime, target_dir: Path, warehouse: str | None, namespace: str | None, job_namespace: str
) -> DbtSettings:
    if warehouse is None and namespace is None:
        configured = [w.name for w in runtime.settings.warehouses]
        if len(configured) != 1:
            fail(
                "give --warehouse NAME (a configured warehouse) or --namespace NS (e.g. postgres://host:5432) "
                "so dbt's tables get the same identity as the warehouse's"
            )
        warehouse = configured[0]
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", target_dir.resolve().parent.name) or "dbt"
    return DbtSettings(
        name=name,
        target_dir=target_dir,
        warehouse=warehouse,
        namespace=namespace,
        job_namespace=job_namespace,
    )


def _print_dbt(reports: list[DbtReport]) -> None:
    table = Table(title="dbt artifacts")
    for header in ("project", "datasets", "schema versions", "jobs", "column edges", "assertions", "updates"):
        table.add_column(header, justify="left" if header == "project" else "right")
    for report in reports:
        table.add_row(
            report.project,
            str(report.datasets),
            str(report.schema_versions),
            str(report.jobs),
            str(report.column_edges),
            str(report.assertions),
            str(report.updates),
        )
    Console().print(table)
    errors = Console(stderr=True, soft_wrap=True)
    for report in reports:
        for skipped in report.skipped:
            errors.print(f"skipped: {skipped}", markup=False, highlight=False)
        for warning in report.warnings:
            errors.print(f"warning: {warning}", markup=False, highlight=False)
