"""One collection pass over one warehouse: read (catalog, exact counts, profiles, query log), then write
(schema versions, metric points, dataset updates, jobs, lineage) in one store transaction.

Reading the catalog takes the adapter's fixed handful of queries whatever the number of tables.
Profiles take one query per configured table, exact row counts one query per 100 tables, the query
log one or two. A failure to reach the warehouse ends the pass with a clear message; a failing
profile or an unreadable query log only adds a warning.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import Connection, Engine, event, select, text

from collectors.state import CollectorState
from collectors.warehouse.adapters import adapter_for
from collectors.warehouse.base import Adapter, QueryLog, Snapshot, TableInfo, WarehouseProblem
from collectors.warehouse.naming import UnsupportedWarehouse, dataset, selected, split_dotted
from collectors.warehouse.profile import (
    ProfileColumn,
    ProfileQuery,
    ProfileResult,
    build_count_query,
    build_profile_query,
    column_kind,
    read_profile,
)
from collectors.warehouse.query_history import QueryAnalyzer, new_runs, query_facets
from collectors.warehouse.records import (
    BUCKET_WIDTH,
    SOURCE,
    WRITE_COUNTERS,
    bucket_points,
    bucket_start,
    column_points,
    counter_deltas,
    heartbeat_due,
    point,
    schema_observation,
)
from observer.catalog import service
from observer.catalog.identity import DatasetRef, JobRef
from observer.catalog.records import DatasetUpdate, MetricPoint, SchemaObservation
from observer.catalog.tables import dataset_updates
from observer.clock import Clock
from observer.config.settings import ProfileSettings, WarehouseSettings
from observer.graph.from_sql import lineage_batch
from observer.graph.model import GraphWriter, LineageBatch
from observer.store import Store

COUNT_BATCH = 100
"""Tables per exact row-count statement."""

Progress = Callable[[str, int, int], None]


@dataclass
class CollectionReport:
    warehouse: str
    namespace: str = ""
    started_at: datetime | None = None
    ok: bool = False
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    tables: int = 0
    queries: int = 0
    metadata_queries: int = 0
    profiles: int = 0
    schema_versions: int = 0
    metric_points: int = 0
    updates: int = 0
    lineage_statements: int = 0
    duration_s: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)
    """Seconds spent per step (catalog, row counts, profiles, query log, writing)."""


@dataclass
class Profiled:
    table: TableInfo
    settings: ProfileSettings
    columns: list[ProfileColumn]
    timestamp: ProfileColumn | None
    query: ProfileQuery
    result: ProfileResult | None = None


@dataclass
class Observation:
    """Everything one pass read from the warehouse."""

    snapshot: Snapshot
    tables: list[TableInfo]
    profiles: list[Profiled]
    log: QueryLog | None


def collect_warehouse(
    settings: WarehouseSettings,
    *,
    store: Store,
    clock: Clock,
    graph: GraphWriter | None = None,
    progress: Progress | None = None,
) -> CollectionReport:
    """Run one pass; never raises for warehouse problems (they end up in ``report.error``)."""
    report = CollectionReport(settings.name, started_at=clock.now())
    started = time.perf_counter()
    notify = _Phases(report, progress)
    try:
        adapter = adapter_for(settings)
    except UnsupportedWarehouse as error:
        report.error = f"warehouse {settings.name}: {error}"
        return report
    report.namespace = adapter.namespace
    engine = adapter.create_engine()
    queries = _query_counter(engine)
    now = report.started_at or clock.now()
    try:
        with store.engine.connect() as connection:
            state = CollectorState.load(connection, f"warehouse:{settings.name}")
        observation = _observe(adapter, engine, settings, state, now, report, notify, queries)
        notify("writing", 0, 1)
        batches = _write(adapter, observation, state, store, now, report)
        if graph is not None:
            _record_lineage(graph, batches, report)
        notify("writing", 1, 1)
        report.ok = True
    except WarehouseProblem as problem:
        report.error = f"warehouse {settings.name}: {problem}"
    finally:
        engine.dispose()
        report.queries = queries()
        report.duration_s = time.perf_counter() - started
    return report


class _Phases:
    """Passes progress on and times each step from its first to its last notice."""

    def __init__(self, report: CollectionReport, forward: Progress | None) -> None:
        self.report = report
        self.forward = forward
        self.started: dict[str, float] = {}

    def __call__(self, step: str, done: int, total: int) -> None:
        now = time.perf_counter()
        self.started.setdefault(step, now)
        if done >= total:
            self.report.phases[step] = now - self.started[step]
        if self.forward is not None:
            self.forward(step, done, total)


def _query_counter(engine: Engine) -> Callable[[], int]:
    sent = [0]

    def count(*_args: Any) -> None:
        sent[0] += 1

    event.listen(engine, "before_cursor_execute", count)
    return lambda: sent[0]


def _observe(
    adapter: Adapter,
    engine: Engine,
    settings: WarehouseSettings,
    state: CollectorState,
    now: datetime,
    report: CollectionReport,
    notify: Progress,
    queries: Callable[[], int],
) -> Observation:
    notify("catalog", 0, 1)
    snapshot = _guarded(
        adapter, f"reading the catalog of {settings.name}", None, lambda: _snapshot(adapter, engine)
    )
    report.metadata_queries = queries()
    tables = [table for table in snapshot.tables if selected(table.key, settings.include, settings.exclude)]
    report.tables = len(tables)
    notify("catalog", 1, 1)
    if settings.row_counts == "exact":
        tables = _exact_counts(adapter, engine, snapshot, tables, notify)
    profiles = _plan_profiles(adapter, snapshot, tables, settings, now, report)
    _run_profiles(adapter, engine, snapshot, profiles, settings, report, notify)
    log = None
    if settings.query_history:
        notify("query log", 0, 1)
        cursor = state.get("cursor", "query_log")
        log = _read_log(
            adapter, engine, snapshot, datetime.fromisoformat(cursor) if cursor else None, now, report
        )
        notify("query log", 1, 1)
    return Observation(snapshot, tables, profiles, log)


def _snapshot(adapter: Adapter, engine: Engine) -> Snapshot:
    with engine.connect() as connection:
        return adapter.snapshot(connection)


def _guarded(adapter: Adapter, doing: str, user: str | None, action: Callable[[], Any]) -> Any:
    try:
        return action()
    except WarehouseProblem:
        raise
    except Exception as error:
        raise adapter.describe(error, doing, user) from error


def _exact_counts(
    adapter: Adapter, engine: Engine, snapshot: Snapshot, tables: list[TableInfo], notify: Progress
) -> list[TableInfo]:
    countable = [table for table in tables if table.has_data]
    counts: dict[str, int] = {}
    with engine.connect() as connection:
        for start in range(0, len(countable), COUNT_BATCH):
            batch = countable[start : start + COUNT_BATCH]
            notify("row counts", start, len(countable))
            sql = build_count_query(
                [(table.key, adapter.table_expression(snapshot.database, table)) for table in batch],
                adapter.dialect,
            )
            doing = f"counting rows of {batch[0].key} … {batch[-1].key}"
            rows = _guarded(adapter, doing, snapshot.user, partial(_fetch, connection, sql))
            counts.update({key: int(value) for key, value in rows})
    notify("row counts", len(countable), len(countable))
    return [replace(table, row_count=counts[table.key]) if table.key in counts else table for table in tables]


def _fetch(connection: Connection, sql: str) -> list[Any]:
    return list(connection.execute(text(sql)).all())


def _plan_profiles(
    adapter: Adapter,
    snapshot: Snapshot,
    tables: list[TableInfo],
    settings: WarehouseSettings,
    now: datetime,
    report: CollectionReport,
) -> list[Profiled]:
    by_key = {table.key.lower(): table for table in tables}
    planned = []
    for profile in settings.profiles:
        parts = split_dotted(profile.table)
        if len(parts) == 3:
            parts = parts[1:]
        table = by_key.get(".".join(parts).lower())
        if table is None:
            report.warnings.append(f"profile {profile.table}: no such table in {settings.name} (or excluded)")
            continue
        columns_by_name = {column.name.lower(): column for column in table.columns}
        wanted = [*profile.columns, *([profile.timestamp_column] if profile.timestamp_column else [])]
        missing = [name for name in wanted if name.lower() not in columns_by_name]
        if missing:
            report.warnings.append(f"profile {profile.table}: no column {', '.join(missing)}")
            continue
        columns = [
            _profile_column(columns_by_name[name.lower()], adapter.dialect) for name in profile.columns
        ]
        timestamp = (
            _profile_column(columns_by_name[profile.timestamp_column.lower()], adapter.dialect)
            if profile.timestamp_column
            else None
        )
        width = BUCKET_WIDTH[profile.bucket]
        query = build_profile_query(
            adapter.table_expression(snapshot.database, table),
            columns,
            dialect=adapter.dialect,
            timestamp=timestamp,
            bucket=profile.bucket,
            buckets_since=bucket_start(now - profile.lookback, profile.bucket),
            buckets_until=bucket_start(now, profile.bucket) + width,
            rows_since=now - profile.column_window if profile.column_window else None,
            top_categories=profile.top_categories,
        )
        planned.append(Profiled(table, profile, columns, timestamp, query))
    return planned


def _profile_column(column: Any, dialect: str) -> ProfileColumn:
    return ProfileColumn(column.name, column.type, column_kind(column.type, dialect))


def _run_profiles(
    adapter: Adapter,
    engine: Engine,
    snapshot: Snapshot,
    profiles: list[Profiled],
    settings: WarehouseSettings,
    report: CollectionReport,
    notify: Progress,
) -> None:
    if not profiles:
        return
    done = [0]
    notify("profiles", 0, len(profiles))

    def run(profiled: Profiled) -> None:
        try:
            with engine.connect() as connection:
                rows = connection.execute(text(profiled.query.sql)).all()
            profiled.result = read_profile(profiled.query, rows)
        except Exception as error:
            problem = adapter.describe(error, f"profiling table {profiled.table.key}", snapshot.user)
            report.warnings.append(str(problem))
        done[0] += 1
        notify("profiles", done[0], len(profiles))

    with ThreadPoolExecutor(max_workers=settings.max_connections) as pool:
        list(pool.map(run, profiles))
    report.profiles = sum(1 for profiled in profiles if profiled.result is not None)


def _read_log(
    adapter: Adapter,
    engine: Engine,
    snapshot: Snapshot,
    since: datetime | None,
    now: datetime,
    report: CollectionReport,
) -> QueryLog | None:
    try:
        with engine.connect() as connection:
            log = adapter.query_log(connection, since, now)
    except Exception as error:
        report.warnings.append(str(adapter.describe(error, "reading query history", snapshot.user)))
        return None
    report.warnings.extend(log.warnings)
    return log


class _Identities:
    def __init__(self, adapter: Adapter, snapshot: Snapshot) -> None:
        self.adapter = adapter
        self.database = adapter.canonical(snapshot.database)

    def of_table(self, table: TableInfo) -> DatasetRef:
        return dataset(
            self.adapter.namespace,
            self.database,
            self.adapter.canonical(table.schema),
            self.adapter.canonical(table.name),
        )

    def of_name(self, name: str) -> DatasetRef:
        return dataset(self.adapter.namespace, *(self.adapter.canonical(part) for part in split_dotted(name)))


def _write(
    adapter: Adapter,
    observation: Observation,
    state: CollectorState,
    store: Store,
    now: datetime,
    report: CollectionReport,
) -> list[LineageBatch]:
    names = _Identities(adapter, observation.snapshot)
    refs = {table.key: names.of_table(table) for table in observation.tables}
    points: list[MetricPoint] = []
    bucket_series: list[MetricPoint] = []
    updates: list[DatasetUpdate] = []
    profiles = {
        profiled.table.key: profiled for profiled in observation.profiles if profiled.result is not None
    }
    for profiled in profiles.values():
        bucket_series += _profile_points(profiled, refs[profiled.table.key], now, points)
    for table in observation.tables:
        _table_points(adapter, table, refs[table.key], profiles.get(table.key), state, now, points, updates)
    schemas, described = _changed_descriptions(observation.tables, refs, state, now)
    with store.engine.begin() as connection:
        ids = service.ensure_datasets(connection, [refs[table.key] for table in described], now)
        report.schema_versions = len(service.record_schemas(connection, schemas, now))
        service.update_datasets(
            connection,
            {
                ids[refs[table.key]]: {"kind": table.kind, "description": table.description}
                for table in described
            },
            now,
        )
        batches: dict[JobRef, LineageBatch] = {}
        if observation.log is not None:
            batches, statements = _query_lineage(adapter, observation, names, state, now, updates, report)
            job_ids = service.ensure_jobs(connection, batches, now)
            for job, sql in statements.items():
                service.update_job(
                    connection, job_ids[job], now, job_type="BATCH", facets=query_facets(sql, adapter.dialect)
                )
        service.record_metrics(connection, points, now)
        service.record_metrics(connection, bucket_series, now, replace=True)
        previous_pass = state.get("pass", "collected_at")
        if previous_pass is not None:
            updates = _without_known_writes(connection, updates, datetime.fromisoformat(previous_pass), now)
        service.record_updates(connection, updates, now)
        state.set("pass", "collected_at", now.isoformat())
        state.save(connection, now)
    report.metric_points = len(points) + len(bucket_series)
    report.updates = len(updates)
    return list(batches.values())


def _without_known_writes(
    connection: Connection, updates: list[DatasetUpdate], previous_pass: datetime, now: datetime
) -> list[DatasetUpdate]:
    """A write this pass can only date to ``now`` (a changed count) is dropped when another source
    (an OpenLineage run, dbt) already recorded a write of the table since the previous pass: it is
    that write, seen late, and a second entry at the pass time would give freshness a false rhythm."""
    inferred = [update for update in updates if update.updated_at == now]
    if not inferred:
        return updates
    ids = service.find_dataset_ids(connection, [update.dataset for update in inferred])
    known = set(
        connection.execute(
            select(dataset_updates.c.dataset_id).where(
                dataset_updates.c.dataset_id.in_(sorted(set(ids.values()))),
                dataset_updates.c.updated_at > previous_pass,
                dataset_updates.c.source != SOURCE,
            )
        ).scalars()
    )
    return [update for update in updates if update.updated_at != now or ids.get(update.dataset) not in known]


def _profile_points(
    profiled: Profiled, ref: DatasetRef, now: datetime, points: list[MetricPoint]
) -> list[MetricPoint]:
    result = profiled.result
    assert result is not None
    points += column_points(ref, profiled.columns, result, now)
    if profiled.timestamp is None:
        return []
    newest = result.value(profiled.timestamp.name, "newest")
    if newest is not None:
        points.append(point(ref, "event_lag_seconds", max(now.timestamp() - newest, 0.0), now))
    profile = profiled.settings
    return bucket_points(
        ref,
        result,
        bucket=profile.bucket,
        since=bucket_start(now - profile.lookback, profile.bucket),
        current=bucket_start(now, profile.bucket),
    )


def _table_points(
    adapter: Adapter,
    table: TableInfo,
    ref: DatasetRef,
    profiled: Profiled | None,
    state: CollectorState,
    now: datetime,
    points: list[MetricPoint],
    updates: list[DatasetUpdate],
) -> None:
    """Table metrics (stored when changed, and hourly when not), write deltas and observed writes."""
    before = state.get("table", table.key) or {}
    stored_at = before.get("stored_at")
    heartbeat = stored_at is None or heartbeat_due(table.key, datetime.fromisoformat(stored_at), now)
    rows = table.row_count
    newest = None
    if profiled is not None and profiled.result is not None:
        if profiled.settings.column_window is None:
            exact = profiled.result.value("", "rows")
            rows = int(exact) if exact is not None else rows
        if profiled.timestamp is not None:
            newest = profiled.result.value(profiled.timestamp.name, "newest")
    for metric, value, previous in (
        ("row_count", rows, before.get("rows")),
        ("size_bytes", table.size_bytes, before.get("size")),
    ):
        if value is not None and (heartbeat or value != previous):
            points.append(point(ref, metric, value, now))
    deltas = counter_deltas(table.write_counters, before.get("counters"))
    if deltas is not None and any(deltas.values()):
        points += [point(ref, WRITE_COUNTERS[name], value, now) for name, value in deltas.items()]
    written_at = _written_at(adapter, table, before, rows, deltas, newest, now)
    if written_at is not None:
        updates.append(DatasetUpdate(dataset=ref, updated_at=written_at, source=SOURCE))
    state.set(
        "table",
        table.key,
        {
            "rows": rows,
            "size": table.size_bytes,
            "counters": dict(table.write_counters) or None,
            "modified": table.last_modified.isoformat() if table.last_modified else None,
            "newest": newest,
            "schema": before.get("schema"),
            "meta": before.get("meta"),
            "stored_at": now.isoformat() if heartbeat else stored_at,
        },
    )


def _written_at(
    adapter: Adapter,
    table: TableInfo,
    before: dict[str, Any],
    rows: int | None,
    deltas: dict[str, int] | None,
    newest: float | None,
    now: datetime,
) -> datetime | None:
    """When the table was last written, if this pass saw a new write."""
    if table.last_modified is not None:
        return table.last_modified if table.last_modified.isoformat() != before.get("modified") else None
    if adapter.tracks_writes:
        return now if deltas and any(deltas.values()) else None
    if newest is not None:
        if newest != before.get("newest"):
            return min(datetime.fromtimestamp(newest, now.tzinfo), now)
        return None
    if before and (rows != before.get("rows") or table.size_bytes != before.get("size")):
        return now
    return None


def _changed_descriptions(
    tables: Iterable[TableInfo], refs: dict[str, DatasetRef], state: CollectorState, now: datetime
) -> tuple[list[SchemaObservation], list[TableInfo]]:
    """Schemas and kind/description that changed since the last pass: only these are written, so a
    pass over 10,000 unchanged tables costs the store next to nothing."""
    schemas: list[SchemaObservation] = []
    described: list[TableInfo] = []
    for table in tables:
        entry = state.get("table", table.key)
        observation = schema_observation(refs[table.key], table, now)
        digest = service.fields_hash(observation.fields)
        meta = [table.kind, table.description]
        if entry.get("schema") != digest:
            schemas.append(observation)
        if entry.get("meta") != meta:
            described.append(table)
        state.set("table", table.key, {**entry, "schema": digest, "meta": meta})
    return schemas, described


def _query_lineage(
    adapter: Adapter,
    observation: Observation,
    names: _Identities,
    state: CollectorState,
    now: datetime,
    updates: list[DatasetUpdate],
    report: CollectionReport,
) -> tuple[dict[JobRef, LineageBatch], dict[JobRef, str]]:
    """Lineage batches of the write statements that ran since the last pass, and their SQL by job."""
    assert observation.log is not None
    runs, counters = new_runs(observation.log, state.of_kind("statement"), now)
    for key, value in counters.items():
        state.set("statement", key, value)
    if observation.log.read_until is not None:
        state.set("cursor", "query_log", observation.log.read_until.isoformat())
    if not runs:
        return {}, {}
    schema = {
        f"{names.database}.{adapter.canonical(table.schema)}.{adapter.canonical(table.name)}": {
            column.name: column.type for column in table.columns
        }
        for table in observation.snapshot.tables
    }
    analyzer = QueryAnalyzer(adapter.namespace, adapter.dialect, names.of_name, schema)
    batches: dict[JobRef, LineageBatch] = {}
    statements: dict[JobRef, str] = {}
    for run in runs:
        analyzed = analyzer.analyze(run.query)
        if not analyzed.outputs:
            continue
        report.lineage_statements += 1
        if analyzed.job not in batches:
            batches[analyzed.job] = lineage_batch(
                analyzed.statements, resolve=names.of_name, job=analyzed.job, source=SOURCE, observed_at=now
            )
            statements[analyzed.job] = analyzed.sql
        if run.written_at is not None:
            updates += [
                DatasetUpdate(dataset=output, updated_at=run.written_at, source=SOURCE)
                for output in analyzed.outputs
            ]
    return batches, statements


def _record_lineage(graph: GraphWriter, batches: list[LineageBatch], report: CollectionReport) -> None:
    for batch in batches:
        try:
            graph.record(batch)
        except Exception as error:
            report.warnings.append(f"lineage graph: {type(error).__name__}: {error}")
            return
