"""Ingest tables: the raw OpenLineage event log (the source of truth) and the run projection built
from it: namespaces, runs, run inputs/outputs, job and dataset versions, and the SQL lineage queue."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from observer.catalog.tables import NAME
from observer.store.metadata import UtcDateTime, metadata

EventId = BigInteger().with_variant(Integer, "sqlite")
"""Event ids are the log's offsets: 64-bit on PostgreSQL, SQLite's rowid on SQLite."""

UUID_LENGTH = 36

lineage_events = Table(
    "lineage_events",
    metadata,
    Column("id", EventId, primary_key=True, autoincrement=True),
    Column("content_hash", String(64), nullable=False, comment="sha256 of the event's canonical JSON"),
    Column("kind", String(12), nullable=False, comment="RunEvent, DatasetEvent or JobEvent"),
    Column("event_type", String(20), nullable=True, comment="START, RUNNING, COMPLETE, FAIL, ABORT, OTHER"),
    Column("event_time", UtcDateTime, nullable=False),
    Column(
        "run_uuid", String(UUID_LENGTH), nullable=True, comment="runId, mapped to a UUID when it is not one"
    ),
    Column("job_namespace", String(NAME), nullable=True),
    Column("job_name", String(NAME), nullable=True),
    Column("received_at", UtcDateTime, nullable=False),
    Column("payload", Text, nullable=False, comment="the event as received (canonical JSON)"),
    Column("notes", JSON, nullable=True, comment="what leniency decided, e.g. a time read as UTC"),
    UniqueConstraint("content_hash", name="uq_lineage_events_content_hash"),
    Index("ix_lineage_events_event_time", "event_time"),
    Index("ix_lineage_events_run_uuid", "run_uuid"),
    comment="Every accepted OpenLineage event, once; everything else is projected from here.",
)

namespaces = Table(
    "namespaces",
    metadata,
    Column("name", String(NAME), primary_key=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("owner_name", String(NAME), nullable=True),
    Column("description", Text, nullable=True),
    comment="Job and dataset namespaces seen in events (Marquez's namespaces).",
)

job_versions = Table(
    "job_versions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("job_id", Integer, ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
    Column(
        "version", String(UUID_LENGTH), nullable=False, comment="uuid of the job's identity, I/O, location"
    ),
    Column("inputs", JSON, nullable=False, comment='[["namespace", "name"], …] sorted'),
    Column("outputs", JSON, nullable=False),
    Column("location", Text, nullable=True, comment="sourceCodeLocation url"),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("latest_run_uuid", String(UUID_LENGTH), nullable=True),
    UniqueConstraint("job_id", "version", name="uq_job_versions_version"),
)

job_heads = Table(
    "job_heads",
    metadata,
    Column("job_id", Integer, ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True),
    Column("current_version_id", Integer, nullable=True),
    Column("latest_run_uuid", String(UUID_LENGTH), nullable=True),
    Column("latest_run_at", UtcDateTime, nullable=True),
    Column("parent_job_id", Integer, nullable=True),
    Column("location", Text, nullable=True),
    comment="Per-job pointers kept current by the projection (current version, latest run).",
)

runs = Table(
    "runs",
    metadata,
    Column("run_uuid", String(UUID_LENGTH), primary_key=True),
    Column("external_id", String(NAME), nullable=True, comment="the runId as sent, when it is not a UUID"),
    Column("job_id", Integer, ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
    Column("state", String(12), nullable=False, comment="NEW, RUNNING, COMPLETED, FAILED, ABORTED"),
    Column("last_event_type", String(20), nullable=True),
    Column("last_event_time", UtcDateTime, nullable=False),
    Column("terminal_event_time", UtcDateTime, nullable=True),
    Column("started_at", UtcDateTime, nullable=True),
    Column("ended_at", UtcDateTime, nullable=True),
    Column("nominal_start_time", UtcDateTime, nullable=True),
    Column("nominal_end_time", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False, comment="earliest event time of the run"),
    Column("updated_at", UtcDateTime, nullable=False, comment="latest event time of the run"),
    Column("job_version_id", Integer, nullable=True),
    Column("parent_run_uuid", String(UUID_LENGTH), nullable=True),
    Column("parent_job_namespace", String(NAME), nullable=True),
    Column("parent_job_name", String(NAME), nullable=True),
    Column("root_run_uuid", String(UUID_LENGTH), nullable=True),
    Column("root_job_namespace", String(NAME), nullable=True),
    Column("root_job_name", String(NAME), nullable=True),
    Column("error_message", Text, nullable=True),
    Column("facets", JSON, nullable=False, comment="run facets, accumulated by name"),
    Column("job_facets", JSON, nullable=False, comment="job facets sent with this run's events"),
    Column(
        "facet_times",
        JSON,
        nullable=False,
        comment="event time each facet was last set at; earliest START and active event",
    ),
    Column("event_types", JSON, nullable=False, comment="event types seen, for the state machine"),
    Index("ix_runs_job_created", "job_id", "created_at"),
    Index("ix_runs_parent", "parent_run_uuid"),
)

run_datasets = Table(
    "run_datasets",
    metadata,
    Column(
        "run_uuid", String(UUID_LENGTH), ForeignKey("runs.run_uuid", ondelete="CASCADE"), primary_key=True
    ),
    Column("dataset_id", Integer, ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True),
    Column("direction", String(6), primary_key=True, comment="input or output"),
    Column("dataset_version_id", Integer, nullable=True),
    Column("facets", JSON, nullable=False, comment="inputFacets / outputFacets, accumulated"),
    Column("first_seen", UtcDateTime, nullable=False),
    Index("ix_run_datasets_dataset", "dataset_id"),
    comment="What each run read and wrote (accumulated over its events).",
)

dataset_versions = Table(
    "dataset_versions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("dataset_id", Integer, ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False),
    Column("version", String(UUID_LENGTH), nullable=False, comment="uuid of the dataset and the writing run"),
    Column("run_uuid", String(UUID_LENGTH), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("fields", JSON, nullable=False),
    Column("lifecycle_state", String(20), nullable=True),
    Column("facets", JSON, nullable=False),
    UniqueConstraint("dataset_id", "version", name="uq_dataset_versions_version"),
    Index("ix_dataset_versions_dataset_created", "dataset_id", "created_at"),
    comment="One version per dataset per writing run (as Marquez).",
)

sql_queue = Table(
    "sql_queue",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("job_namespace", String(NAME), nullable=False),
    Column("job_name", String(NAME), nullable=False),
    Column("sql_hash", String(64), nullable=False),
    Column("query", Text, nullable=False),
    Column("dialect", String(40), nullable=True),
    Column("run_uuid", String(UUID_LENGTH), nullable=True),
    Column("event_time", UtcDateTime, nullable=False),
    Column("inputs", JSON, nullable=False, comment='[["namespace", "name"], …] of the event'),
    Column("outputs", JSON, nullable=False),
    Column("default_namespace", String(NAME), nullable=True),
    Column("status", String(10), nullable=False, comment="pending, done, failed"),
    Column("error", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("done_at", UtcDateTime, nullable=True),
    UniqueConstraint("job_namespace", "job_name", "sql_hash", name="uq_sql_queue_query"),
    Index("ix_sql_queue_status", "status", "id"),
    comment="Queries from sql job facets waiting for the SQL lineage engine (once per job and query).",
)
