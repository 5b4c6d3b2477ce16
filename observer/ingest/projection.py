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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from operator import attrgetter
from typing import Any

import orjson
from sqlalchemy import JSON, Connection, select, tuple_, update

from observer.catalog import service as catalog
from observer.catalog.identity import DatasetRef, JobRef
from observer.catalog.records import Assertion, MetricPoint, SchemaField, SchemaObservation
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
from observer.ingest.statements import Statements
from observer.ingest.tables import (
    dataset_versions,
    lineage_events,
    run_datasets,
    runs,
)
from observer.metrics import PROJECTED_EVENTS, PROJECTION_LAG_SECONDS
from observer.store import Store
from observer.store.metadata import UtcDateTime

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
    run_facets: dict[str, Any] = field(default_factory=dict)
    job_facets: dict[str, Any] = field(default_factory=dict)

    @property
    def run_id_as_sent(self) -> str | None:
        run = self.payload.get("run")
        return run.get("runId") if isinstance(run, dict) else None


def load_events(connection: Connection, after: int, limit: int, upto: int | None = None) -> list[LoggedEvent]:
    sql = Statements(connection)
    bounds = "id > ? AND id <= ?" if upto is not None else "id > ?"
    rows = sql.rows(
        "SELECT id, payload, kind, event_type, event_time, run_uuid, notes FROM lineage_events "
        f"WHERE {bounds} ORDER BY id LIMIT ?",
        [after, upto, limit] if upto is not None else [after, limit],
    )
    events = []
    for event_id, text, kind, event_type, event_time, run_uuid, notes in rows:
        payload = orjson.loads(text)
        if any(note.startswith(IGNORED_FACETS) for note in sql.read_json(notes) or ()):
            payload = ol.usable(payload)
        job = ol.job_ref(payload) if kind != "DatasetEvent" and isinstance(payload.get("job"), dict) else None
        moment = sql.read_time(event_time)
        assert moment is not None
        events.append(
            LoggedEvent(
                event_id,
                payload,
                kind,
                event_type,
                moment,
                run_uuid,
                list(ol.datasets(payload)),
                job,
                ol.facet_dict(payload.get("run"), "facets"),
                ol.facet_dict(payload.get("job"), "facets"),
            )
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
    """Projects batches of logged events into the catalog and the run tables.

    A step reads each table's rows it touches once and writes each table once, through plain
    driver statements over tuples (:class:`Statements`): a few dozen statements per step whatever
    its size, instead of a few per job and dataset."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def project(self, connection: Connection, events: Sequence[LoggedEvent]) -> dict[DatasetRef, DatasetRef]:
        """Project ``events``; return the dataset each of their datasets' names resolves to."""
        now = self._clock.now()
        sql = Statements(connection)
        self._namespaces(sql, events, now)
        dataset_ids = self._datasets(connection, events, now)
        job_ids = self._jobs(connection, sql, events, now)
        self._catalog_records(connection, sql, events, dataset_ids, now)
        touched = self._runs(sql, [event for event in events if event.kind == "RunEvent"], job_ids)
        self._run_io(sql, events, touched, dataset_ids)
        refs = catalog.dataset_refs(
            connection, {key[0] for state in touched.values() for key in state.io} | set(dataset_ids.values())
        )
        self._versions(connection, sql, touched, job_ids, refs)
        self._write_runs(connection, sql, touched)
        self._freshness(sql, touched, now)
        SqlLineageQueue.enqueue(connection, self._queries(events), now)
        return {ref: refs.get(dataset_id, ref) for ref, dataset_id in dataset_ids.items()}

    # namespaces, datasets, jobs ---------------------------------------------------------------

    def _namespaces(self, sql: Statements, events: Sequence[LoggedEvent], now: datetime) -> None:
        names: set[str] = set()
        for event in events:
            if event.job is not None:
                names.add(event.job.namespace)
            names.update(facts.ref.namespace for facts in event.facts)
        stamp = sql.time(now)
        sql.many(
            "INSERT INTO namespaces (name, created_at, updated_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            [(name, stamp, stamp) for name in sorted(names)],
        )

    def _datasets(
        self, connection: Connection, events: Sequence[LoggedEvent], now: datetime
    ) -> dict[DatasetRef, int]:
        refs = {facts.ref for event in events for facts in event.facts}
        ids = _ensure_datasets(Statements(connection), refs, now)
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
        self, connection: Connection, sql: Statements, events: Sequence[LoggedEvent], now: datetime
    ) -> dict[JobRef, int]:
        """Ids of the events' jobs (created when new); their facets merge by name into the job's,
        and documentation, ownership and job type overwrite the job's when sent."""
        refs = {event.job for event in events if event.job is not None}
        job_ids = _ensure_jobs(sql, refs, now)
        merged: dict[int, dict[str, Any]] = {}
        for event in events:
            if event.job is not None:
                merged.setdefault(job_ids[event.job], {}).update(event.job_facets)
        changed = {job_id: facets for job_id, facets in merged.items() if facets}
        current = dict(sql.rows_in("SELECT id, facets FROM jobs WHERE id IN ?", sorted(changed)))
        stamp = sql.time(now)
        rows = []
        for job_id, facets in changed.items():
            attributes = _job_attributes(facets)
            stored = sql.read_json(current[job_id]) or {}
            rows.append(
                (
                    stamp,
                    attributes.get("job_type"),
                    attributes.get("description"),
                    sql.json(attributes.get("owners")),
                    sql.json({**stored, **facets}),
                    job_id,
                )
            )
        sql.many(
            "UPDATE jobs SET updated_at = ?, job_type = COALESCE(?, job_type), "
            "description = COALESCE(?, description), owners = COALESCE(?, owners), facets = ? WHERE id = ?",
            rows,
        )
        return job_ids

    def _catalog_records(
        self,
        connection: Connection,
        sql: Statements,
        events: Sequence[LoggedEvent],
        ids: dict[DatasetRef, int],
        now: datetime,
    ) -> None:
        schemas: list[tuple[SchemaObservation, str]] = []
        metrics: list[MetricPoint] = []
        checks: list[Assertion] = []
        attributes: dict[int, dict[str, Any]] = {}
        last_schema: dict[DatasetRef, dict[str, Any]] = {}
        for event in events:
            for facts in event.facts:
                schema = facts.schema
                if schema is not None and last_schema.get(facts.ref) != schema:
                    last_schema[facts.ref] = schema
                    fields, digest = _SCHEMAS.of(facts)
                    observation = SchemaObservation(
                        facts.ref, fields, event.event_time, ol.SOURCE, event.run_uuid
                    )
                    schemas.append((observation, digest))
                metrics += ol.metric_points(facts, event.event_time, event.run_uuid)
                checks += ol.assertions(facts, event.event_time, event.run_uuid)
                merged = attributes.setdefault(ids[facts.ref], {"facets": {}})
                merged["facets"].update(facts.facets)
                for name in ("description", "owners", "kind", "lifecycle_state", "tags"):
                    if getattr(facts, name) is not None:
                        merged[name] = getattr(facts, name)
            if event.kind == "RunEvent":
                run_facets = event.run_facets
                targets = [facts.ref for facts in event.facts if facts.direction == "input"] or [
                    facts.ref for facts in event.facts if facts.direction == "output"
                ]
                checks += ol.test_assertions(run_facets, targets, event.event_time, event.run_uuid)
        current = {
            dataset_id: (facets, digest)
            for dataset_id, facets, digest in sql.rows_in(
                "SELECT datasets.id, datasets.facets, schema_versions.fields_hash FROM datasets "
                "LEFT JOIN schema_versions ON schema_versions.id = datasets.current_schema_version_id "
                "WHERE datasets.id IN ?",
                sorted(attributes),
            )
        }
        self._update_datasets(sql, attributes, {key: facets for key, (facets, _) in current.items()}, now)
        changing = _new_schemas(schemas, ids, {key: digest for key, (_, digest) in current.items()})
        if changing:
            catalog.record_schemas(connection, changing, now)
        sql.many(
            "INSERT INTO metric_points (dataset_id, column_name, metric, measured_at, value, source, run_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [
                (
                    ids[point.dataset],
                    point.column,
                    point.metric,
                    sql.time(point.measured_at),
                    point.value,
                    point.source,
                    point.run_id,
                )
                for point in metrics
            ],
        )
        sql.many(
            "INSERT INTO assertions (dataset_id, column_name, name, success, observed_at, severity, details, "
            "source, run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    ids[item.dataset],
                    item.column,
                    item.name,
                    item.success,
                    sql.time(item.observed_at),
                    item.severity,
                    sql.json(item.details),
                    item.source,
                    item.run_id,
                )
                for item in checks
            ],
        )

    @staticmethod
    def _update_datasets(
        sql: Statements, attributes: dict[int, dict[str, Any]], current: dict[int, Any], now: datetime
    ) -> None:
        """Each dataset's attributes the step sent overwrite the stored ones; facets merge by name
        (a facet with ``_deleted`` is removed), as :func:`catalog.update_dataset` does."""
        stamp = sql.time(now)
        rows = []
        for dataset_id, values in attributes.items():
            facets: dict[str, Any] | None = None
            if values["facets"]:
                facets = dict(sql.read_json(current[dataset_id]) or {})
                for name, facet in values["facets"].items():
                    if isinstance(facet, Mapping) and facet.get("_deleted"):
                        facets.pop(name, None)
                    else:
                        facets[name] = facet
            rows.append(
                (
                    stamp,
                    values.get("kind"),
                    values.get("description"),
                    sql.json(values.get("owners")),
                    sql.json(values.get("tags")),
                    values.get("lifecycle_state"),
                    sql.json(facets),
                    dataset_id,
                )
            )
        sql.many(
            "UPDATE datasets SET updated_at = ?, kind = COALESCE(?, kind), "
            "description = COALESCE(?, description), owners = COALESCE(?, owners), "
            "tags = COALESCE(?, tags), lifecycle_state = COALESCE(?, lifecycle_state), "
            "facets = COALESCE(?, facets) WHERE id = ?",
            rows,
        )

    # runs -------------------------------------------------------------------------------------

    def _runs(
        self, sql: Statements, events: Sequence[LoggedEvent], job_ids: dict[JobRef, int]
    ) -> dict[str, RunState]:
        touched: dict[str, RunState] = {}
        wanted = sorted({event.run_uuid for event in events if event.run_uuid})
        stored = sql.rows_in(f"SELECT {', '.join(_RUN_COLUMNS)} FROM runs WHERE run_uuid IN ?", wanted)
        for row in stored:
            record = _run_record(sql, row)
            touched[record.run_uuid] = RunState(record)
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
                event.run_facets,
                event.job_facets,
            )
            state.events.append(event)
            if event.event_type in TERMINAL or _streaming(event):
                state.finalise = True
        return touched

    def _run_io(
        self,
        sql: Statements,
        events: Sequence[LoggedEvent],
        touched: dict[str, RunState],
        ids: dict[DatasetRef, int],
    ) -> None:
        stored = sql.rows_in(
            f"SELECT {', '.join(_IO_COLUMNS)} FROM run_datasets WHERE run_uuid IN ?", sorted(touched)
        )
        for run_uuid, dataset_id, direction, version_id, facets, first_seen in stored:
            touched[run_uuid].io[(dataset_id, direction)] = {
                "run_uuid": run_uuid,
                "dataset_id": dataset_id,
                "direction": direction,
                "dataset_version_id": version_id,
                "facets": sql.read_json(facets),
                "first_seen": sql.read_time(first_seen),
            }
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
        self,
        connection: Connection,
        sql: Statements,
        touched: dict[str, RunState],
        job_ids: dict[JobRef, int],
        refs: dict[int, DatasetRef],
    ) -> None:
        """Dataset versions for what each run wrote; job versions for runs that finished."""
        self._dataset_versions(connection, sql, touched, refs)
        finished = [state for state in touched.values() if state.finalise]
        if finished:
            job_refs = {job_id: ref for ref, job_id in job_ids.items()}
            self._job_versions(connection, sql, finished, refs, job_refs)

    def _dataset_versions(
        self,
        connection: Connection,
        sql: Statements,
        touched: dict[str, RunState],
        refs: dict[int, DatasetRef],
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
        existing: dict[tuple[int, str], tuple[int, Any]] = {
            (dataset_id, version): (version_id, facets)
            for dataset_id, version, version_id, facets in sql.rows_in_pairs(
                "SELECT dataset_id, version, id, facets FROM dataset_versions WHERE (dataset_id, version) IN ?",
                list(wanted),
            )
        }
        fresh, changed = [], []
        for key, (state, facts) in wanted.items():
            schema = facts.schema
            fields = list(schema.get("fields") or []) if schema is not None else None
            row = existing.get(key)
            if row is None:
                fresh.append(
                    (
                        key[0],
                        key[1],
                        state.record.run_uuid,
                        sql.time(state.record.created_at),
                        sql.json(fields if fields is not None else _current_fields(connection, key[0])),
                        facts.lifecycle_state,
                        sql.json(facts.facets),
                    )
                )
                continue
            facets = {**(sql.read_json(row[1]) or {}), **facts.facets}
            changed.append((sql.json(facets), sql.json(fields), facts.lifecycle_state, row[0]))
        sql.many(
            "UPDATE dataset_versions SET facets = ?, fields = COALESCE(?, fields), "
            "lifecycle_state = COALESCE(?, lifecycle_state) WHERE id = ?",
            changed,
        )
        sql.many(
            "INSERT INTO dataset_versions (dataset_id, version, run_uuid, created_at, fields, lifecycle_state, "
            "facets) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            fresh,
        )
        if fresh:
            existing.update(
                {
                    (dataset_id, version): (version_id, None)
                    for dataset_id, version, version_id in sql.rows_in_pairs(
                        "SELECT dataset_id, version, id FROM dataset_versions WHERE (dataset_id, version) IN ?",
                        [row[:2] for row in fresh],
                    )
                }
            )
        for key, (state, _facts) in wanted.items():
            state.io[(key[0], "output")]["dataset_version_id"] = existing[key][0]

    def _job_versions(
        self,
        connection: Connection,
        sql: Statements,
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
        lookup = "SELECT job_id, version, id, updated_at FROM job_versions WHERE (job_id, version) IN ?"
        existing = {
            (job_id, version): (version_id, sql.read_time(updated_at))
            for job_id, version, version_id, updated_at in sql.rows_in_pairs(lookup, list(versions))
        }
        missing = [key for key in versions if key not in existing]
        sql.many(
            "INSERT INTO job_versions (job_id, version, inputs, outputs, location, created_at, updated_at, "
            "latest_run_uuid) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [
                (
                    key[0],
                    key[1],
                    sql.json(versions[key]["inputs"]),
                    sql.json(versions[key]["outputs"]),
                    versions[key]["location"],
                    sql.time(versions[key]["created_at"]),
                    sql.time(versions[key]["updated_at"]),
                    versions[key]["latest_run_uuid"],
                )
                for key in missing
            ],
        )
        sql.many(
            "UPDATE job_versions SET updated_at = ?, latest_run_uuid = ? WHERE id = ?",
            [
                (sql.time(entry["updated_at"]), entry["latest_run_uuid"], existing[key][0])
                for key, entry in versions.items()
                if key in existing and entry["updated_at"] >= existing[key][1]
            ],
        )
        existing.update(
            {
                (job_id, version): (version_id, None)
                for job_id, version, version_id, _ in sql.rows_in_pairs(lookup, missing)
            }
        )
        newest: dict[int, tuple[datetime, int, str | None]] = {}
        for key, entry in versions.items():
            version_id = existing[key][0]
            for state in entry["states"]:
                state.record.job_version_id = version_id
            candidate = (entry["updated_at"], version_id, entry["location"])
            if key[0] not in newest or candidate[0] >= newest[key[0]][0]:
                newest[key[0]] = candidate
        self._point_heads(sql, newest)

    def _job_ref(self, connection: Connection, job_id: int) -> JobRef:
        row = connection.execute(
            select(jobs_table.c.namespace, jobs_table.c.name).where(jobs_table.c.id == job_id)
        ).one()
        return JobRef(row.namespace, row.name)

    def _point_heads(self, sql: Statements, newest: dict[int, tuple[datetime, int, str | None]]) -> None:
        """Move each job's current version to the newest finished one."""
        job_ids = sorted(newest)
        sql.many(
            "INSERT INTO job_heads (job_id) VALUES (?) ON CONFLICT DO NOTHING",
            [(job_id,) for job_id in job_ids],
        )
        current = {
            job_id: sql.read_time(moment)
            for job_id, moment in sql.rows_in(
                "SELECT job_heads.job_id, job_versions.updated_at FROM job_heads "
                "JOIN job_versions ON job_versions.id = job_heads.current_version_id "
                "WHERE job_heads.job_id IN ?",
                job_ids,
            )
        }
        sql.many(
            "UPDATE job_heads SET current_version_id = ?, location = ? WHERE job_id = ?",
            [
                (version_id, location, job_id)
                for job_id, (moment, version_id, location) in newest.items()
                if current.get(job_id) is None or moment >= current[job_id]  # type: ignore[operator]
            ],
        )

    def _freshness(self, sql: Statements, touched: dict[str, RunState], now: datetime) -> None:
        """A completed run wrote each of its outputs (whichever of its events listed them) at its end."""
        updates = [
            (dataset_id, state.record.ended_at, state.record.run_uuid)
            for state in touched.values()
            if state.record.state == "COMPLETED" and state.record.ended_at is not None
            for dataset_id, direction in state.io
            if direction == "output"
        ]
        sql.many(
            "INSERT INTO dataset_updates (dataset_id, updated_at, source, run_id) VALUES (?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            [(dataset_id, sql.time(moment), ol.SOURCE, run_uuid) for dataset_id, moment, run_uuid in updates],
        )
        newest: dict[int, datetime] = {}
        for dataset_id, moment, _run_uuid in updates:
            assert moment is not None
            newest[dataset_id] = max(moment, newest.get(dataset_id, moment))
        sql.many(
            "UPDATE datasets SET last_updated_at = ? WHERE id = ? "
            "AND (last_updated_at IS NULL OR last_updated_at < ?)",
            [(sql.time(moment), dataset_id, sql.time(moment)) for dataset_id, moment in newest.items()],
        )

    def _write_runs(self, connection: Connection, sql: Statements, touched: dict[str, RunState]) -> None:
        if not touched:
            return
        sql.many(
            _upsert("runs", _RUN_COLUMNS, ("run_uuid",)),
            [_run_row(sql, state.record) for state in touched.values()],
        )
        sql.many(
            _upsert("run_datasets", _IO_COLUMNS, ("run_uuid", "dataset_id", "direction")),
            [
                (
                    row["run_uuid"],
                    row["dataset_id"],
                    row["direction"],
                    row["dataset_version_id"],
                    sql.json(row["facets"]),
                    sql.time(row["first_seen"]),
                )
                for state in touched.values()
                for row in (state.io[key] for key in sorted(state.changed_io))
            ],
        )
        self._heads(connection, sql, touched)

    def _heads(self, connection: Connection, sql: Statements, touched: dict[str, RunState]) -> None:
        latest: dict[int, RunRecord] = {}
        for state in touched.values():
            record = state.record
            if record.job_id not in latest or record.created_at >= latest[record.job_id].created_at:
                latest[record.job_id] = record
        job_ids = sorted(latest)
        sql.many(
            "INSERT INTO job_heads (job_id) VALUES (?) ON CONFLICT DO NOTHING",
            [(job_id,) for job_id in job_ids],
        )
        current = {
            job_id: sql.read_time(moment)
            for job_id, moment in sql.rows_in(
                "SELECT job_id, latest_run_at FROM job_heads WHERE job_id IN ?", job_ids
            )
        }
        parents = self._parent_jobs(connection, latest.values())
        sql.many(
            "UPDATE job_heads SET latest_run_uuid = ?, latest_run_at = ? WHERE job_id = ?",
            [
                (record.run_uuid, sql.time(record.created_at), job_id)
                for job_id, record in latest.items()
                if current.get(job_id) is None or record.created_at >= current[job_id]  # type: ignore[operator]
            ],
        )
        sql.many(
            "UPDATE job_heads SET parent_job_id = ? WHERE job_id = ?",
            [(parents[job_id], job_id) for job_id in latest if parents.get(job_id) is not None],
        )

    def _parent_jobs(self, connection: Connection, records: Iterable[RunRecord]) -> dict[int, int]:
        wanted = {
            record.job_id: JobRef(record.parent_job_namespace, record.parent_job_name)
            for record in records
            if record.parent_job_namespace and record.parent_job_name
        }
        ids = _ensure_jobs(Statements(connection), wanted.values(), self._clock.now())
        return {job_id: ids[ref] for job_id, ref in wanted.items() if ids[ref] != job_id}

    def _queries(self, events: Sequence[LoggedEvent]) -> list[QueuedQuery]:
        queued = []
        for event in events:
            job = event.job
            sql = event.job_facets.get("sql")
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


_RUN_COLUMNS = tuple(item.name for item in fields(RunRecord))
_RUN_VALUES = attrgetter(*_RUN_COLUMNS)
_IO_COLUMNS = ("run_uuid", "dataset_id", "direction", "dataset_version_id", "facets", "first_seen")


_RUN_TIMES = tuple(at for at, name in enumerate(_RUN_COLUMNS) if isinstance(runs.c[name].type, UtcDateTime))
_RUN_JSON = tuple(at for at, name in enumerate(_RUN_COLUMNS) if isinstance(runs.c[name].type, JSON))


def _run_record(sql: Statements, row: Sequence[Any]) -> RunRecord:
    """A stored run (driver values in :data:`_RUN_COLUMNS` order) as its record."""
    values = list(row)
    for at in _RUN_TIMES:
        values[at] = sql.read_time(values[at])
    for at in _RUN_JSON:
        values[at] = sql.read_json(values[at])
    return RunRecord(*values)


def _run_row(sql: Statements, record: RunRecord) -> list[Any]:
    """A run record as driver values in :data:`_RUN_COLUMNS` order."""
    values = list(_RUN_VALUES(record))
    for at in _RUN_TIMES:
        values[at] = sql.time(values[at])
    for at in _RUN_JSON:
        values[at] = sql.json(values[at])
    return values


def _upsert(table: str, columns: Sequence[str], keys: Sequence[str]) -> str:
    """``INSERT`` of ``columns``; on a ``keys`` conflict the other columns are overwritten."""
    updates = ", ".join(f"{name} = excluded.{name}" for name in columns if name not in keys)
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}"
    )


def _new_schemas(
    observations: list[tuple[SchemaObservation, str]],
    ids: dict[DatasetRef, int],
    current: dict[int, str | None],
) -> list[SchemaObservation]:
    """The observations (with their fields hash) of the datasets whose schema may change: those of
    a dataset whose every observation has the stored schema are left out
    (:func:`catalog.record_schemas` would store none of them), so the common step, repeating known
    schemas, writes none."""
    changing = {
        ids[observation.dataset]
        for observation, digest in observations
        if digest != current.get(ids[observation.dataset])
    }
    return [observation for observation, _digest in observations if ids[observation.dataset] in changing]


class _SchemaCache:
    """The fields and fields hash of a schema facet, by its JSON text: producers repeat a dataset's
    schema in every event."""

    def __init__(self, limit: int = 4096) -> None:
        self._limit = limit
        self._known: dict[bytes, tuple[tuple[SchemaField, ...], str]] = {}

    def of(self, facts: ol.DatasetFacts) -> tuple[tuple[SchemaField, ...], str]:
        key = orjson.dumps(facts.schema)
        found = self._known.get(key)
        if found is None:
            fields = facts.fields
            assert fields is not None
            found = (fields, catalog.fields_hash(fields))
            if len(self._known) >= self._limit:
                self._known.clear()
            self._known[key] = found
        return found


_SCHEMAS = _SchemaCache()


def _find_datasets(sql: Statements, refs: Iterable[DatasetRef]) -> dict[DatasetRef, int]:
    """:func:`catalog.find_dataset_ids` through the driver: by a dataset's own name, else an alias."""
    names_by_namespace: dict[str, list[str]] = {}
    for ref in sorted(set(refs)):
        names_by_namespace.setdefault(ref.namespace, []).append(ref.name)
    found: dict[DatasetRef, int] = {}
    for namespace, names in names_by_namespace.items():
        for lookup in (
            "SELECT name, id FROM datasets WHERE namespace = ? AND name IN ?",
            "SELECT name, dataset_id FROM dataset_aliases WHERE namespace = ? AND name IN ?",
        ):
            for name, dataset_id in sql.rows_in(lookup, names, before=[namespace]):
                found.setdefault(DatasetRef(namespace, name), dataset_id)
    return found


def _ensure_datasets(sql: Statements, refs: Iterable[DatasetRef], now: datetime) -> dict[DatasetRef, int]:
    """:func:`catalog.ensure_datasets` through the driver."""
    wanted = set(refs)
    found = _find_datasets(sql, wanted)
    missing = sorted(wanted - found.keys())
    if missing:
        stamp = sql.time(now)
        sql.many(
            "INSERT INTO datasets (namespace, name, owners, tags, facets, created_at, updated_at) "
            "VALUES (?, ?, '[]', '[]', '{}', ?, ?) ON CONFLICT DO NOTHING",
            [(ref.namespace, ref.name, stamp, stamp) for ref in missing],
        )
        found.update(_find_datasets(sql, missing))
    return found


def _ensure_jobs(sql: Statements, refs: Iterable[JobRef], now: datetime) -> dict[JobRef, int]:
    """:func:`catalog.ensure_jobs` through the driver."""
    wanted = sorted(set(refs))
    stamp = sql.time(now)
    sql.many(
        "INSERT INTO jobs (namespace, name, owners, facets, created_at, updated_at) "
        "VALUES (?, ?, '[]', '{}', ?, ?) ON CONFLICT DO NOTHING",
        [(ref.namespace, ref.name, stamp, stamp) for ref in wanted],
    )
    names_by_namespace: dict[str, list[str]] = {}
    for ref in wanted:
        names_by_namespace.setdefault(ref.namespace, []).append(ref.name)
    found: dict[JobRef, int] = {}
    for namespace, names in names_by_namespace.items():
        lookup = "SELECT name, id FROM jobs WHERE namespace = ? AND name IN ?"
        found.update(
            {
                JobRef(namespace, name): job_id
                for name, job_id in sql.rows_in(lookup, names, before=[namespace])
            }
        )
    return found


def _streaming(event: LoggedEvent) -> bool:
    job_type = event.job_facets.get("jobType") or {}
    return job_type.get("processingType") == "STREAMING"


def _current_fields(connection: Connection, dataset_id: int) -> list[dict[str, Any]]:
    history = catalog.schema_history(connection, dataset_id)
    return [item.as_json() for item in history[-1].fields] if history else []


# lineage for the graph ------------------------------------------------------------------------


def lineage_batches(
    connection: Connection,
    events: Sequence[LoggedEvent],
    resolved: Mapping[DatasetRef, DatasetRef] | None = None,
) -> list[LineageBatch]:
    """One :class:`LineageBatch` per event, with symlinked identities resolved to their dataset
    (``resolved``: what the projection of these events already resolved)."""
    per_event: list[tuple[LoggedEvent, list[DatasetEdge], list[ColumnEdge], bool]] = []
    mentioned: set[DatasetRef] = set()
    for event in events:
        job = event.job
        dataset_edges: list[DatasetEdge] = []
        column_edges: list[ColumnEdge] = []
        sources = 0
        for facts in event.facts:
            if job is not None and facts.direction is not None:
                dataset_edges.append(DatasetEdge(job, facts.ref, facts.direction))
                mentioned.add(facts.ref)
            if facts.direction != "input":
                derived = _COLUMN_EDGES.of(event, facts)
                if derived.edges:
                    column_edges += derived.edges
                    sources += 1
                    mentioned.update(derived.datasets)
                if job is not None and derived.whole:
                    dataset_edges += [DatasetEdge(job, ref, "input") for ref in derived.whole]
                    mentioned.update(derived.whole)
        per_event.append((event, dataset_edges, column_edges, sources > 1))
    known = resolved or {}
    canonical = {**known, **_canonical(connection, mentioned - known.keys())}
    moved = {ref: target for ref, target in canonical.items() if ref != target}
    batches = []
    for event, dataset_edges, column_edges, overlapping in per_event:
        if moved:
            dataset_edges = [
                DatasetEdge(edge.job, moved.get(edge.dataset, edge.dataset), edge.direction)
                for edge in dataset_edges
            ]
            column_edges = [
                ColumnEdge(
                    ColumnRef(moved.get(edge.source.dataset, edge.source.dataset), edge.source.field),
                    ColumnRef(moved.get(edge.target.dataset, edge.target.dataset), edge.target.field),
                    edge.transformation,
                    edge.job,
                )
                for edge in column_edges
            ]
        batch = LineageBatch(
            observed_at=event.event_time,
            source="openlineage",
            dataset_edges=list(dict.fromkeys(dataset_edges)),
            column_edges=list(dict.fromkeys(column_edges)) if moved or overlapping else column_edges,
            run_id=event.run_uuid,
        )
        if batch:
            batches.append(batch)
    return batches


@dataclass(frozen=True)
class _DerivedEdges:
    """The column edges into one dataset (without duplicates), its dataset-level inputs, and the
    datasets the edges name."""

    edges: list[ColumnEdge]
    whole: list[DatasetRef]
    datasets: frozenset[DatasetRef]


class _ColumnEdgeCache:
    """:func:`ol.column_edges` by what it reads (the job, the dataset, its lineage, column lineage
    and schema facets, the job's ``lineage`` facet): producers repeat a job's column lineage in
    every event of every run, so most events cost a JSON encoding and a lookup."""

    _NONE = _DerivedEdges([], [], frozenset())

    def __init__(self, limit: int = 4096) -> None:
        self._limit = limit
        self._known: dict[tuple[Any, ...], _DerivedEdges] = {}

    def of(self, event: LoggedEvent, target: ol.DatasetFacts) -> _DerivedEdges:
        facets, job = target.facets, event.job
        job_lineage = event.job_facets.get("lineage")
        if job_lineage is None and "lineage" not in facets and "columnLineage" not in facets:
            return self._NONE
        declared = (facets.get("lineage"), facets.get("columnLineage"), facets.get("schema"), job_lineage)
        key = (job, target.ref, orjson.dumps(declared))
        found = self._known.get(key)
        if found is None:
            edges, whole = ol.column_edges(event.payload, job, target)
            unique = list(dict.fromkeys(edges))
            datasets = frozenset(ref for edge in unique for ref in (edge.source.dataset, edge.target.dataset))
            found = _DerivedEdges(unique, whole, datasets)
            if len(self._known) >= self._limit:
                self._known.clear()
            self._known[key] = found
        return found


_COLUMN_EDGES = _ColumnEdgeCache()


def _canonical(connection: Connection, refs: set[DatasetRef]) -> dict[DatasetRef, DatasetRef]:
    if not refs:
        return {}
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
        resolved: dict[DatasetRef, DatasetRef] = {}
        if events:
            with self._store.engine.begin() as connection:
                resolved = self._projector.project(connection, events)
                if not write_cursor(connection, PROJECTION_CURSOR, cursor, events[-1].id, self._clock):
                    raise _CursorMoved()
            if self._progress is not None:
                self._progress.advanced(events[-1].id)
            PROJECTED_EVENTS.inc(len(events))
            self._record_lag_age(events[-1].id)
        graphed = self._graph_catch_up(cursor, events, resolved)
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

    def _graph_catch_up(
        self, projected_from: int, just_projected: list[LoggedEvent], resolved: dict[DatasetRef, DatasetRef]
    ) -> int:
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
                resolved = {}
        try:
            if self._graph_joins_transactions:
                with self._store.engine.begin() as connection:
                    batches = lineage_batches(connection, events, resolved)
                    self._graph.record_many(batches, connection=connection)  # type: ignore[attr-defined]
                    set_cursor(connection, GRAPH_CURSOR, events[-1].id, self._clock)
            else:
                with self._store.engine.connect() as connection:
                    batches = lineage_batches(connection, events, resolved)
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
