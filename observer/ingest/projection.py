"""The projection: everything Observer knows from OpenLineage, derived from the raw event log.

A batch of logged events is projected in ONE transaction together with the move of the projection
cursor, so the relational projection is applied exactly once and resumes where it stopped after a
crash. The lineage graph (possibly another database) is written after that commit and has its own
cursor; graph writes are idempotent, so a crash between the two only means a replay.
"""

from __future__ import annotations

import inspect
import json
import logging
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, select, tuple_, update

from observer.catalog import service as catalog
from observer.catalog.identity import DatasetRef, JobRef
from observer.catalog.records import Assertion, DatasetUpdate, MetricPoint, SchemaObservation
from observer.catalog.tables import datasets as datasets_table
from observer.catalog.tables import jobs as jobs_table
from observer.clock import Clock
from observer.graph.model import (
    ColumnEdge,
    ColumnRef,
    DatasetEdge,
    GraphUnavailable,
    GraphWriter,
    LineageBatch,
)
from observer.ingest import facets as ol
from observer.ingest.log import (
    GRAPH_CURSOR,
    PROJECTION_CURSOR,
    Progress,
    read_cursor,
    set_cursor,
    write_cursor,
)
from observer.ingest.parse import IGNORED_FACETS
from observer.ingest.runs import TERMINAL, RunRecord
from observer.ingest.sql_lineage import SqlLineageWorker
from observer.ingest.sql_queue import QueuedQuery, SqlLineageQueue
from observer.ingest.tables import (
    dataset_versions,
    job_heads,
    job_versions,
    lineage_events,
    namespaces,
    run_datasets,
    runs,
)
from observer.metrics import PROJECTED_EVENTS, PROJECTION_LAG_SECONDS
from observer.store import Store
from observer.store.upsert import insert_ignoring_conflicts, upsert

log = logging.getLogger(__name__)

_CHUNK = 400
_VERSION_NAMESPACE = uuid.UUID("6f0e2a57-8d1c-4c57-9a43-0b5e3f0c2d11")


@dataclass
class LoggedEvent:
    """An event read back from the log, with its facets the projection can use."""

    id: int
    payload: dict[str, Any]
    kind: str
    event_type: str | None
    event_time: datetime
    run_uuid: str | None
    facts: list[ol.DatasetFacts] = field(default_factory=list)
    job: JobRef | None = None

    @property
    def run_id_as_sent(self) -> str | None:
        run = self.payload.get("run")
        return run.get("runId") if isinstance(run, dict) else None


def load_events(connection: Connection, after: int, limit: int, upto: int | None = None) -> list[LoggedEvent]:
    query = select(
        lineage_events.c.id,
        lineage_events.c.payload,
        lineage_events.c.kind,
        lineage_events.c.event_type,
        lineage_events.c.event_time,
        lineage_events.c.run_uuid,
        lineage_events.c.notes,
    ).where(lineage_events.c.id > after)
    if upto is not None:
        query = query.where(lineage_events.c.id <= upto)
    events = []
    for row in connection.execute(query.order_by(lineage_events.c.id).limit(limit)):
        payload = orjson.loads(row.payload)
        if any(note.startswith(IGNORED_FACETS) for note in row.notes or ()):
            payload = ol.usable(payload)
        job = (
            ol.job_ref(payload)
            if row.kind != "DatasetEvent" and isinstance(payload.get("job"), dict)
            else None
        )
        facts = list(ol.datasets(payload))
        events.append(
            LoggedEvent(row.id, payload, row.kind, row.event_type, row.event_time, row.run_uuid, facts, job)
        )
    return events


def _version(*parts: Any) -> str:
    return str(uuid.uuid5(_VERSION_NAMESPACE, json.dumps(parts, sort_keys=True, default=str)))


def _job_attributes(facets: dict[str, Any]) -> dict[str, Any]:
    attributes: dict[str, Any] = {}
    if isinstance(facets.get("documentation"), dict):
        attributes["description"] = facets["documentation"].get("description")
    if isinstance(facets.get("ownership"), dict):
        attributes["owners"] = ol.owners(facets["ownership"])
    job_type = facets.get("jobType")
    if isinstance(job_type, dict) and isinstance(job_type.get("processingType"), str):
        attributes["job_type"] = job_type["processingType"]
    return attributes


class Projector:
    """Projects batches of logged events into the catalog and the run tables."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def project(self, connection: Connection, events: Sequence[LoggedEvent]) -> None:
        now = self._clock.now()
        self._namespaces(connection, events, now)
        dataset_ids = self._datasets(connection, events, now)
        job_ids = self._jobs(connection, events, now)
        self._catalog_records(connection, events, dataset_ids, now)
        touched = self._runs(connection, [event for event in events if event.kind == "RunEvent"], job_ids)
        self._run_io(connection, events, touched, dataset_ids)
        self._versions(connection, touched, job_ids)
        self._write_runs(connection, touched)
        self._freshness(connection, touched, now)
        SqlLineageQueue.enqueue(connection, self._queries(events), now)

    # namespaces, datasets, jobs ---------------------------------------------------------------

    def _namespaces(self, connection: Connection, events: Sequence[LoggedEvent], now: datetime) -> None:
        names: set[str] = set()
        for event in events:
            if event.job is not None:
                names.add(event.job.namespace)
            names.update(facts.ref.namespace for facts in event.facts)
        insert_ignoring_conflicts(
            connection,
            namespaces,
            [{"name": name, "created_at": now, "updated_at": now} for name in sorted(names)],
        )

    def _datasets(
        self, connection: Connection, events: Sequence[LoggedEvent], now: datetime
    ) -> dict[DatasetRef, int]:
        refs = {facts.ref for event in events for facts in event.facts}
        ids = catalog.ensure_datasets(connection, refs, now)
        symlinked: dict[DatasetRef, list[tuple[DatasetRef, str | None]]] = {}
        for event in events:
            for facts in event.facts:
                if facts.aliases:
                    symlinked.setdefault(facts.ref, []).extend(facts.aliases)
        for ref, aliases in symlinked.items():
            target = catalog.find_dataset_ids(connection, [ref])[ref]
            self._absorb(connection, [alias for alias, _type in aliases], target)
            catalog.add_aliases(connection, target, aliases)
        if symlinked:
            ids = catalog.find_dataset_ids(connection, refs)
        return ids

    def _absorb(self, connection: Connection, aliases: list[DatasetRef], target: int) -> None:
        """Move this domain's rows of datasets that are about to be merged into ``target``."""
        keys = [(alias.namespace, alias.name) for alias in aliases]
        duplicates = [
            dataset_id
            for (dataset_id,) in connection.execute(
                select(datasets_table.c.id).where(
                    tuple_(datasets_table.c.namespace, datasets_table.c.name).in_(keys)
                )
            )
            if dataset_id != target
        ]
        for duplicate in duplicates:
            clashing = (
                select(run_datasets.c.run_uuid).where(run_datasets.c.dataset_id == target).scalar_subquery()
            )
            connection.execute(
                run_datasets.delete().where(
                    run_datasets.c.dataset_id == duplicate, run_datasets.c.run_uuid.in_(clashing)
                )
            )
            connection.execute(
                update(run_datasets).where(run_datasets.c.dataset_id == duplicate).values(dataset_id=target)
            )
            taken = (
                select(dataset_versions.c.version)
                .where(dataset_versions.c.dataset_id == target)
                .scalar_subquery()
            )
            connection.execute(
                dataset_versions.delete().where(
                    dataset_versions.c.dataset_id == duplicate, dataset_versions.c.version.in_(taken)
                )
            )
            connection.execute(
                update(dataset_versions)
                .where(dataset_versions.c.dataset_id == duplicate)
                .values(dataset_id=target)
            )

    def _jobs(
        self, connection: Connection, events: Sequence[LoggedEvent], now: datetime
    ) -> dict[JobRef, int]:
        refs = {event.job for event in events if event.job is not None}
        job_ids = catalog.ensure_jobs(connection, refs, now)
        merged: dict[JobRef, dict[str, Any]] = {}
        for event in events:
            if event.job is not None:
                merged.setdefault(event.job, {}).update(ol.facet_dict(event.payload.get("job"), "facets"))
        for ref, facets in merged.items():
            if facets:
                catalog.update_job(connection, job_ids[ref], now, facets=facets, **_job_attributes(facets))
        return job_ids

    def _catalog_records(
        self, connection: Connection, events: Sequence[LoggedEvent], ids: dict[DatasetRef, int], now: datetime
    ) -> None:
        schemas: list[SchemaObservation] = []
        metrics: list[MetricPoint] = []
        checks: list[Assertion] = []
        attributes: dict[int, dict[str, Any]] = {}
        last_schema: dict[DatasetRef, dict[str, Any]] = {}
        for event in events:
            for facts in event.facts:
                schema = facts.schema
                if schema is not None and last_schema.get(facts.ref) != schema:
                    last_schema[facts.ref] = schema
                    fields = facts.fields
                    assert fields is not None
                    schemas.append(
                        SchemaObservation(facts.ref, fields, event.event_time, ol.SOURCE, event.run_uuid)
                    )
                metrics += ol.metric_points(facts, event.event_time, event.run_uuid)
                checks += ol.assertions(facts, event.event_time, event.run_uuid)
                merged = attributes.setdefault(ids[facts.ref], {"facets": {}})
                merged["facets"].update(facts.facets)
                for name in ("description", "owners", "kind", "lifecycle_state", "tags"):
                    if getattr(facts, name) is not None:
                        merged[name] = getattr(facts, name)
            if event.kind == "RunEvent":
                run_facets = ol.facet_dict(event.payload.get("run"), "facets")
                targets = [facts.ref for facts in event.facts if facts.direction == "input"] or [
                    facts.ref for facts in event.facts if facts.direction == "output"
                ]
                checks += ol.test_assertions(run_facets, targets, event.event_time, event.run_uuid)
        for dataset_id, values in attributes.items():
            catalog.update_dataset(connection, dataset_id, now, **values)
        if schemas:
            catalog.record_schemas(connection, schemas, now)
        if metrics:
            catalog.record_metrics(connection, metrics, now)
        if checks:
            catalog.record_assertions(connection, checks, now)

    # runs -------------------------------------------------------------------------------------

    def _runs(
        self, connection: Connection, events: Sequence[LoggedEvent], job_ids: dict[JobRef, int]
    ) -> dict[str, RunState]:
        touched: dict[str, RunState] = {}
        wanted = sorted({event.run_uuid for event in events if event.run_uuid})
        for start in range(0, len(wanted), _CHUNK):
            rows = connection.execute(select(runs).where(runs.c.run_uuid.in_(wanted[start : start + _CHUNK])))
            for row in rows.mappings():
                touched[row["run_uuid"]] = RunState(RunRecord(**dict(row)))
        for event in events:
            assert event.run_uuid is not None and event.job is not None
            state = touched.get(event.run_uuid)
            if state is None:
                record = RunRecord.new(event.run_uuid, job_ids[event.job], event.event_time)
                state = touched[event.run_uuid] = RunState(record)
            sent = event.run_id_as_sent
            if sent and sent != event.run_uuid and sent.lower() != event.run_uuid:
                state.record.external_id = sent
            state.record.apply(
                event.event_type,
                event.event_time,
                ol.facet_dict(event.payload.get("run"), "facets"),
                ol.facet_dict(event.payload.get("job"), "facets"),
            )
            state.events.append(event)
            if event.event_type in TERMINAL or _streaming(event):
                state.finalise = True
        return touched

    def _run_io(
        self,
        connection: Connection,
        events: Sequence[LoggedEvent],
        touched: dict[str, RunState],
        ids: dict[DatasetRef, int],
    ) -> None:
        wanted = sorted(touched)
        for start in range(0, len(wanted), _CHUNK):
            rows = connection.execute(
                select(run_datasets).where(run_datasets.c.run_uuid.in_(wanted[start : start + _CHUNK]))
            )
            for stored in rows.mappings():
                touched[stored["run_uuid"]].io[(stored["dataset_id"], stored["direction"])] = dict(stored)
        for state in touched.values():
            for event in state.events:
                for facts in event.facts:
                    if facts.direction is None:
                        continue
                    key = (ids[facts.ref], facts.direction)
                    row = state.io.get(key)
                    if row is None:
                        row = state.io[key] = {
                            "run_uuid": state.record.run_uuid,
                            "dataset_id": key[0],
                            "direction": facts.direction,
                            "dataset_version_id": None,
                            "facets": {},
                            "first_seen": event.event_time,
                        }
                    row["facets"] = {**row["facets"], **facts.io_facets}
                    row["first_seen"] = min(row["first_seen"], event.event_time)
                    state.changed_io.add(key)
                    if facts.direction == "output":
                        state.outputs[key[0]] = facts

    def _versions(
        self, connection: Connection, touched: dict[str, RunState], job_ids: dict[JobRef, int]
    ) -> None:
        """Dataset versions for what each run wrote; job versions for runs that finished."""
        refs = catalog.dataset_refs(connection, {key[0] for state in touched.values() for key in state.io})
        self._dataset_versions(connection, touched, refs)
        finished = [state for state in touched.values() if state.finalise]
        if finished:
            self._job_versions(connection, finished, refs, {job_id: ref for ref, job_id in job_ids.items()})

    def _dataset_versions(
        self, connection: Connection, touched: dict[str, RunState], refs: dict[int, DatasetRef]
    ) -> None:
        wanted: dict[tuple[int, str], tuple[RunState, ol.DatasetFacts]] = {}
        for state in touched.values():
            for dataset_id, facts in state.outputs.items():
                ref = refs[dataset_id]
                version = uuid.uuid5(
                    _VERSION_NAMESPACE, f"{ref.namespace}\0{ref.name}\0{state.record.run_uuid}"
                )
                wanted[(dataset_id, str(version))] = (state, facts)
        if not wanted:
            return
        key_columns = (dataset_versions.c.dataset_id, dataset_versions.c.version)
        existing = _rows_by_key(
            connection,
            dataset_versions,
            key_columns,
            list(wanted),
            dataset_versions.c.id,
            dataset_versions.c.facets,
        )
        fresh = []
        for key, (state, facts) in wanted.items():
            schema = facts.schema
            fields = list(schema.get("fields") or []) if schema is not None else None
            row = existing.get(key)
            if row is None:
                fresh.append(
                    {
                        "dataset_id": key[0],
                        "version": key[1],
                        "run_uuid": state.record.run_uuid,
                        "created_at": state.record.created_at,
                        "fields": fields if fields is not None else _current_fields(connection, key[0]),
                        "lifecycle_state": facts.lifecycle_state,
                        "facets": facts.facets,
                    }
                )
                continue
            values: dict[str, Any] = {"facets": {**(row.facets or {}), **facts.facets}}
            if fields is not None:
                values["fields"] = fields
            if facts.lifecycle_state is not None:
                values["lifecycle_state"] = facts.lifecycle_state
            connection.execute(
                update(dataset_versions).where(dataset_versions.c.id == row.id).values(**values)
            )
        insert_ignoring_conflicts(connection, dataset_versions, fresh)
        if fresh:
            keys = [(row["dataset_id"], row["version"]) for row in fresh]
            existing.update(
                _rows_by_key(connection, dataset_versions, key_columns, keys, dataset_versions.c.id)
            )
        for key, (state, _facts) in wanted.items():
            state.io[(key[0], "output")]["dataset_version_id"] = existing[key].id

    def _job_versions(
        self,
        connection: Connection,
        finished: list[RunState],
        refs: dict[int, DatasetRef],
        job_refs: dict[int, JobRef],
    ) -> None:
        versions: dict[tuple[int, str], dict[str, Any]] = {}
        for state in finished:
            record = state.record
            io = {
                direction: sorted(
                    [refs[dataset_id].namespace, refs[dataset_id].name]
                    for dataset_id, kind in state.io
                    if kind == direction
                )
                for direction in ("input", "output")
            }
            location = (record.job_facets.get("sourceCodeLocation") or {}).get("url")
            job = job_refs.get(record.job_id) or self._job_ref(connection, record.job_id)
            key = (record.job_id, _version(job.namespace, job.name, io["input"], io["output"], location))
            moment = record.ended_at or record.updated_at
            entry = versions.setdefault(
                key,
                {
                    "job_id": record.job_id,
                    "version": key[1],
                    "inputs": io["input"],
                    "outputs": io["output"],
                    "location": location,
                    "created_at": record.created_at,
                    "updated_at": moment,
                    "latest_run_uuid": record.run_uuid,
                    "states": [],
                },
            )
            entry["states"].append(state)
            entry["created_at"] = min(entry["created_at"], record.created_at)
            if moment >= entry["updated_at"]:
                entry["updated_at"], entry["latest_run_uuid"] = moment, record.run_uuid
        columns = (job_versions.c.job_id, job_versions.c.version)
        existing = _rows_by_key(
            connection, job_versions, columns, list(versions), job_versions.c.id, job_versions.c.updated_at
        )
        insert_ignoring_conflicts(
            connection,
            job_versions,
            [
                {name: value for name, value in entry.items() if name != "states"}
                for key, entry in versions.items()
                if key not in existing
            ],
        )
        for key, entry in versions.items():
            row = existing.get(key)
            if row is not None and entry["updated_at"] >= row.updated_at:
                connection.execute(
                    update(job_versions)
                    .where(job_versions.c.id == row.id)
                    .values(updated_at=entry["updated_at"], latest_run_uuid=entry["latest_run_uuid"])
                )
        existing = _rows_by_key(
            connection, job_versions, columns, list(versions), job_versions.c.id, job_versions.c.updated_at
        )
        newest: dict[int, tuple[datetime, int, str | None]] = {}
        for key, entry in versions.items():
            version_id = existing[key].id
            for state in entry["states"]:
                state.record.job_version_id = version_id
            candidate = (entry["updated_at"], version_id, entry["location"])
            if key[0] not in newest or candidate[0] >= newest[key[0]][0]:
                newest[key[0]] = candidate
        self._point_heads(connection, newest)

    def _job_ref(self, connection: Connection, job_id: int) -> JobRef:
        row = connection.execute(
            select(jobs_table.c.namespace, jobs_table.c.name).where(jobs_table.c.id == job_id)
        ).one()
        return JobRef(row.namespace, row.name)

    def _point_heads(
        self, connection: Connection, newest: dict[int, tuple[datetime, int, str | None]]
    ) -> None:
        """Move each job's current version to the newest finished one."""
        job_ids = sorted(newest)
        insert_ignoring_conflicts(connection, job_heads, [{"job_id": job_id} for job_id in job_ids])
        current = dict(
            connection.execute(
                select(job_heads.c.job_id, job_versions.c.updated_at)
                .select_from(
                    job_heads.join(job_versions, job_versions.c.id == job_heads.c.current_version_id)
                )
                .where(job_heads.c.job_id.in_(job_ids))
            ).all()
        )
        for job_id, (moment, version_id, location) in newest.items():
            if current.get(job_id) is None or moment >= current[job_id]:
                connection.execute(
                    update(job_heads)
                    .where(job_heads.c.job_id == job_id)
                    .values(current_version_id=version_id, location=location)
                )

    def _freshness(self, connection: Connection, touched: dict[str, RunState], now: datetime) -> None:
        """A completed run wrote each of its outputs (whichever of its events listed them) at its end."""
        completed = [state for state in touched.values() if state.record.state == "COMPLETED"]
        outputs = {key[0] for state in completed for key in state.io if key[1] == "output"}
        refs = catalog.dataset_refs(connection, outputs)
        updates = [
            DatasetUpdate(refs[dataset_id], state.record.ended_at, ol.SOURCE, state.record.run_uuid)
            for state in completed
            if state.record.ended_at is not None
            for dataset_id, direction in state.io
            if direction == "output"
        ]
        if updates:
            catalog.record_updates(connection, updates, now)

    def _write_runs(self, connection: Connection, touched: dict[str, RunState]) -> None:
        if not touched:
            return
        rows = [state.record.as_row() for state in touched.values()]
        columns = [name for name in rows[0] if name != "run_uuid"]
        upsert(connection, runs, rows, keys=["run_uuid"], update=columns)
        io_rows = [state.io[key] for state in touched.values() for key in sorted(state.changed_io)]
        upsert(
            connection,
            run_datasets,
            io_rows,
            keys=["run_uuid", "dataset_id", "direction"],
            update=["dataset_version_id", "facets", "first_seen"],
        )
        self._heads(connection, touched)

    def _heads(self, connection: Connection, touched: dict[str, RunState]) -> None:
        latest: dict[int, RunRecord] = {}
        for state in touched.values():
            record = state.record
            if record.job_id not in latest or record.created_at >= latest[record.job_id].created_at:
                latest[record.job_id] = record
        job_ids = sorted(latest)
        insert_ignoring_conflicts(connection, job_heads, [{"job_id": job_id} for job_id in job_ids])
        current = dict(
            connection.execute(
                select(job_heads.c.job_id, job_heads.c.latest_run_at).where(job_heads.c.job_id.in_(job_ids))
            ).all()
        )
        parents = self._parent_jobs(connection, latest.values())
        for job_id, record in latest.items():
            values: dict[str, Any] = {}
            if current.get(job_id) is None or record.created_at >= current[job_id]:
                values.update(latest_run_uuid=record.run_uuid, latest_run_at=record.created_at)
            if parents.get(job_id) is not None:
                values["parent_job_id"] = parents[job_id]
            if values:
                connection.execute(update(job_heads).where(job_heads.c.job_id == job_id).values(**values))

    def _parent_jobs(self, connection: Connection, records: Iterable[RunRecord]) -> dict[int, int]:
        wanted = {
            record.job_id: JobRef(record.parent_job_namespace, record.parent_job_name)
            for record in records
            if record.parent_job_namespace and record.parent_job_name
        }
        ids = catalog.ensure_jobs(connection, wanted.values(), self._clock.now())
        return {job_id: ids[ref] for job_id, ref in wanted.items() if ids[ref] != job_id}

    def _queries(self, events: Sequence[LoggedEvent]) -> list[QueuedQuery]:
        queued = []
        for event in events:
            job = event.job
            sql = ol.facet_dict(event.payload.get("job"), "facets").get("sql")
            if job is None or not isinstance(sql, dict) or not isinstance(sql.get("query"), str):
                continue
            if ol.has_column_lineage(event.payload):
                continue
            queued.append(
                QueuedQuery(
                    job=job,
                    sql=sql["query"],
                    dialect=sql.get("dialect") if isinstance(sql.get("dialect"), str) else None,
                    run_uuid=event.run_uuid,
                    event_time=event.event_time,
                    inputs=[facts.ref for facts in event.facts if facts.direction == "input"],
                    outputs=[facts.ref for facts in event.facts if facts.direction == "output"],
                    default_namespace=ol.default_namespace(event.payload),
                )
            )
        return queued


@dataclass
class RunState:
    """A run being projected: its record, its I/O rows and the batch's events for it."""

    record: RunRecord
    events: list[LoggedEvent] = field(default_factory=list)
    io: dict[tuple[int, str], dict[str, Any]] = field(default_factory=dict)
    changed_io: set[tuple[int, str]] = field(default_factory=set)
    outputs: dict[int, ol.DatasetFacts] = field(default_factory=dict)
    finalise: bool = False


def _streaming(event: LoggedEvent) -> bool:
    job_type = ol.facet_dict(event.payload.get("job"), "facets").get("jobType") or {}
    return job_type.get("processingType") == "STREAMING"


def _rows_by_key(
    connection: Connection, table: Any, columns: tuple[Any, Any], keys: list[tuple[Any, Any]], *wanted: Any
) -> dict[Any, Any]:
    """Rows of ``table`` by a two-column key; only the ``wanted`` columns besides the key, if given."""
    found: dict[Any, Any] = {}
    selected = [*columns, *wanted] if wanted else [table]
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        rows = connection.execute(select(*selected).where(tuple_(*columns).in_(chunk)))
        for row in rows:
            found[(getattr(row, columns[0].name), getattr(row, columns[1].name))] = row
    return found


def _current_fields(connection: Connection, dataset_id: int) -> list[dict[str, Any]]:
    history = catalog.schema_history(connection, dataset_id)
    return [item.as_json() for item in history[-1].fields] if history else []


# lineage for the graph ------------------------------------------------------------------------


def lineage_batches(connection: Connection, events: Sequence[LoggedEvent]) -> list[LineageBatch]:
    """One :class:`LineageBatch` per event, with symlinked identities resolved to their dataset."""
    per_event: list[tuple[LoggedEvent, list[DatasetEdge], list[ColumnEdge]]] = []
    mentioned: set[DatasetRef] = set()
    for event in events:
        job = event.job
        dataset_edges: list[DatasetEdge] = []
        column_edges: list[ColumnEdge] = []
        for facts in event.facts:
            if job is not None and facts.direction is not None:
                dataset_edges.append(DatasetEdge(job, facts.ref, facts.direction))
            if facts.direction != "input":
                edges, whole = ol.column_edges(event.payload, job, facts)
                column_edges += edges
                if job is not None:
                    dataset_edges += [DatasetEdge(job, ref, "input") for ref in whole]
        mentioned.update(edge.dataset for edge in dataset_edges)
        mentioned.update(ref for edge in column_edges for ref in (edge.source.dataset, edge.target.dataset))
        per_event.append((event, dataset_edges, column_edges))
    canonical = _canonical(connection, mentioned)
    batches = []
    for event, dataset_edges, column_edges in per_event:
        batch = LineageBatch(
            observed_at=event.event_time,
            source="openlineage",
            dataset_edges=list(
                dict.fromkeys(
                    DatasetEdge(edge.job, canonical[edge.dataset], edge.direction) for edge in dataset_edges
                )
            ),
            column_edges=list(
                dict.fromkeys(
                    ColumnEdge(
                        ColumnRef(canonical[edge.source.dataset], edge.source.field),
                        ColumnRef(canonical[edge.target.dataset], edge.target.field),
                        edge.transformation,
                        edge.job,
                    )
                    for edge in column_edges
                )
            ),
            run_id=event.run_uuid,
        )
        if batch:
            batches.append(batch)
    return batches


def _canonical(connection: Connection, refs: set[DatasetRef]) -> dict[DatasetRef, DatasetRef]:
    ids = catalog.find_dataset_ids(connection, refs)
    names = catalog.dataset_refs(connection, set(ids.values()))
    return {ref: names.get(ids[ref], ref) if ref in ids else ref for ref in refs}


# the worker -----------------------------------------------------------------------------------


class ProjectionWorker:
    """Follows the log and keeps the projection and the graph current (a runtime ``Service``), and
    with ``sql`` analyses a few queued queries per step."""

    name = "ingest-projection"

    def __init__(
        self,
        store: Store,
        clock: Clock,
        graph: GraphWriter | None,
        *,
        batch_size: int = 500,
        progress: Progress | None = None,
        idle_wait: float = 1.0,
        graph_retry: float = 5.0,
        sql: SqlLineageWorker | None = None,
        sql_per_step: int = 10,
    ) -> None:
        self._store = store
        self._sql = sql
        self._sql_per_step = sql_per_step
        self._clock = clock
        self._graph = graph
        self._projector = Projector(clock)
        self._batch_size = batch_size
        self._progress = progress
        self._idle_wait = idle_wait
        self._graph_retry = graph_retry
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._graph_blocked_until = 0.0
        self._graph_joins_transactions = (
            graph is not None and "connection" in inspect.signature(graph.record).parameters
        )

    def start(self) -> None:
        if self._thread is None:
            self._stopping.clear()
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        if self._thread is not None:
            self._stopping.set()
            self._wake.set()
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                done = self.run_once()
            except Exception:
                log.exception("projection failed; retrying")
                done = 0
                self._stopping.wait(self._graph_retry)
            if not done:
                self._wake.wait(self._idle_wait)
                self._wake.clear()

    def drain(self) -> int:
        """Project everything in the log now; return the number of events projected."""
        total = 0
        while done := self.run_once():
            total += done
        return total

    def run_once(self, limit: int | None = None) -> int:
        """Project the next batch (``limit`` events, default the batch size) and bring the graph up
        to it; 0 when there was nothing to do."""
        with self._store.engine.connect() as connection:
            cursor = read_cursor(connection, PROJECTION_CURSOR)
            events = load_events(connection, cursor, limit or self._batch_size)
        if events:
            with self._store.engine.begin() as connection:
                self._projector.project(connection, events)
                if not write_cursor(connection, PROJECTION_CURSOR, cursor, events[-1].id, self._clock):
                    raise _CursorMoved()
            if self._progress is not None:
                self._progress.advanced(events[-1].id)
            PROJECTED_EVENTS.inc(len(events))
            self._record_lag_age(events[-1].id)
        graphed = self._graph_catch_up(cursor, events)
        analysed = self._sql.run_once(self._sql_per_step) if self._sql is not None else 0
        return len(events) + graphed + analysed

    def _record_lag_age(self, projected_upto: int) -> None:
        with self._store.engine.connect() as connection:
            oldest = connection.execute(
                select(lineage_events.c.received_at)
                .where(lineage_events.c.id > projected_upto)
                .order_by(lineage_events.c.id)
                .limit(1)
            ).scalar()
        age = (self._clock.now() - oldest).total_seconds() if oldest is not None else 0.0
        PROJECTION_LAG_SECONDS.set(max(0.0, age))

    def _graph_catch_up(self, projected_from: int, just_projected: list[LoggedEvent]) -> int:
        """Record lineage up to the projection cursor. A graph whose ``record`` takes a ``connection``
        (the store-backed graphs) writes a whole step and the graph cursor in one transaction:
        exactly once. Any other writer records first and the cursor moves after (idempotent replay).
        Without a graph writer the graph cursor stays, so a graph configured later gets the whole log."""
        if self._graph is None or time.monotonic() < self._graph_blocked_until:
            return 0
        with self._store.engine.connect() as connection:
            graph_cursor = read_cursor(connection, GRAPH_CURSOR)
            upto = read_cursor(connection, PROJECTION_CURSOR)
            if graph_cursor >= upto:
                return 0
            if graph_cursor == projected_from and just_projected and just_projected[-1].id == upto:
                events, replay = just_projected, False
            else:
                events, replay = load_events(connection, graph_cursor, self._batch_size, upto=upto), True
        try:
            if self._graph_joins_transactions:
                with self._store.engine.begin() as connection:
                    batches = lineage_batches(connection, events)
                    self._graph.record_many(batches, connection=connection)  # type: ignore[attr-defined]
                    set_cursor(connection, GRAPH_CURSOR, events[-1].id, self._clock)
            else:
                with self._store.engine.connect() as connection:
                    batches = lineage_batches(connection, events)
                for batch in batches:
                    self._graph.record(batch)
                with self._store.engine.begin() as connection:
                    set_cursor(connection, GRAPH_CURSOR, events[-1].id, self._clock)
        except GraphUnavailable as error:
            log.warning("lineage graph unavailable (%s); retrying in %.0fs", error, self._graph_retry)
            self._graph_blocked_until = time.monotonic() + self._graph_retry
            return 0
        return len(events) if replay else 0


class _CursorMoved(RuntimeError):
    """Another worker projected the same events first; this batch is rolled back."""
