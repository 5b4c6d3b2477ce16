"""event log and run projection

Revision ID: ingest_0001
Revises: core_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import observer.store.metadata

revision = "ingest_0001"
down_revision = "core_0001"
branch_labels = ("ingest",)
depends_on = "catalog_0001"


def upgrade() -> None:
    op.create_table(
        "lineage_events",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column(
            "content_hash",
            sa.String(length=64),
            nullable=False,
            comment="sha256 of the event's canonical JSON",
        ),
        sa.Column("kind", sa.String(length=12), nullable=False, comment="RunEvent, DatasetEvent or JobEvent"),
        sa.Column(
            "event_type",
            sa.String(length=20),
            nullable=True,
            comment="START, RUNNING, COMPLETE, FAIL, ABORT, OTHER",
        ),
        sa.Column("event_time", observer.store.metadata.UtcDateTime(timezone=True), nullable=False),
        sa.Column(
            "run_uuid",
            sa.String(length=36),
            nullable=True,
            comment="runId, mapped to a UUID when it is not one",
        ),
        sa.Column("job_namespace", sa.String(length=1000), nullable=True),
        sa.Column("job_name", sa.String(length=1000), nullable=True),
        sa.Column("received_at", observer.store.metadata.UtcDateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False, comment="the event as received (canonical JSON)"),
        sa.Column(
            "notes", sa.JSON(), nullable=True, comment="what leniency decided, e.g. a time read as UTC"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lineage_events")),
        sa.UniqueConstraint("content_hash", name="uq_lineage_events_content_hash"),
        comment="Every accepted OpenLineage event, once; everything else is projected from here.",
    )
    with op.batch_alter_table("lineage_events", schema=None) as batch_op:
        batch_op.create_index("ix_lineage_events_event_time", ["event_time"], unique=False)
        batch_op.create_index("ix_lineage_events_run_uuid", ["run_uuid"], unique=False)

    op.create_table(
        "namespaces",
        sa.Column("name", sa.String(length=1000), nullable=False),
        sa.Column("created_at", observer.store.metadata.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", observer.store.metadata.UtcDateTime(timezone=True), nullable=False),
        sa.Column("owner_name", sa.String(length=1000), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_namespaces")),
        comment="Job and dataset namespaces seen in events (Marquez's namespaces).",
    )
    op.create_table(
        "sql_queue",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_namespace", sa.String(length=1000), nullable=False),
        sa.Column("job_name", sa.String(length=1000), nullable=False),
        sa.Column("sql_hash", sa.String(length=64), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("dialect", sa.String(length=40), nullable=True),
        sa.Column("run_uuid", sa.String(length=36), nullable=True),
        sa.Column("event_time", observer.store.metadata.UtcDateTime(timezone=True), nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=False, comment='[["namespace", "name"], …] of the event'),
        sa.Column("outputs", sa.JSON(), nullable=False),
        sa.Column("default_namespace", sa.String(length=1000), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False, comment="pending, done, failed"),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", observer.store.metadata.UtcDateTime(timezone=True), nullable=False),
        sa.Column("done_at", observer.store.metadata.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sql_queue")),
        sa.UniqueConstraint("job_namespace", "job_name", "sql_hash", name="uq_sql_queue_query"),
        comment="Queries from sql job facets waiting for the SQL lineage engine (once per job and query).",
    )
    with op.batch_alter_table("sql_queue", schema=None) as batch_op:
        batch_op.create_index("ix_sql_queue_status", ["status", "id"], unique=False)

    op.create_table(
        "dataset_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column(
            "version", sa.String(length=36), nullable=False, comment="uuid of the dataset and the writing run"
        ),
        sa.Column("run_uuid", sa.String(length=36), nullable=True),
        sa.Column("created_at", observer.store.metadata.UtcDateTime(timezone=True), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("lifecycle_state", sa.String(length=20), nullable=True),
        sa.Column("facets", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.id"],
            name=op.f("fk_dataset_versions_dataset_id_datasets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dataset_versions")),
        sa.UniqueConstraint("dataset_id", "version", name="uq_dataset_versions_version"),
        comment="One version per dataset per writing run (as Marquez).",
    )
    with op.batch_alter_table("dataset_versions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_dataset_versions_dataset_created", ["dataset_id", "created_at"], unique=False
        )

    op.create_table(
        "job_heads",
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("current_version_id", sa.Integer(), nullable=True),
        sa.Column("latest_run_uuid", sa.String(length=36), nullable=True),
        sa.Column("latest_run_at", observer.store.metadata.UtcDateTime(timezone=True), nullable=True),
        sa.Column("parent_job_id", sa.Integer(), nullable=True),
        sa.Column("location", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_job_heads_job_id_jobs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("job_id", name=op.f("pk_job_heads")),
        comment="Per-job pointers kept current by the projection (current version, latest run).",
    )
    op.create_table(
        "job_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column(
            "version",
            sa.String(length=36),
            nullable=False,
            comment="uuid of the job's identity, I/O, location",
        ),
        sa.Column("inputs", sa.JSON(), nullable=False, comment='[["namespace", "name"], …] sorted'),
        sa.Column("outputs", sa.JSON(), nullable=False),
        sa.Column("location", sa.Text(), nullable=True, comment="sourceCodeLocation url"),
        sa.Column("created_at", observer.store.metadata.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", observer.store.metadata.UtcDateTime(timezone=True), nullable=False),
        sa.Column("latest_run_uuid", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_job_versions_job_id_jobs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_versions")),
        sa.UniqueConstraint("job_id", "version", name="uq_job_versions_version"),
    )
    op.create_table(
        "runs",
        sa.Column("run_uuid", sa.String(length=36), nullable=False),
        sa.Column(
            "external_id",
            sa.String(length=1000),
            nullable=True,
            comment="the runId as sent, when it is not a UUID",
        ),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column(
            "state", sa.String(length=12), nullable=False, comment="NEW, RUNNING, COMPLETED, FAILED, ABORTED"
        ),
        sa.Column("last_event_type", sa.String(length=20), nullable=True),
        sa.Column("last_event_time", observer.store.metadata.UtcDateTime(timezone=True), nullable=False),
        sa.Column("terminal_event_time", observer.store.metadata.UtcDateTime(timezone=True), nullable=True),
        sa.Column("started_at", observer.store.metadata.UtcDateTime(timezone=True), nullable=True),
        sa.Column("ended_at", observer.store.metadata.UtcDateTime(timezone=True), nullable=True),
        sa.Column("nominal_start_time", observer.store.metadata.UtcDateTime(timezone=True), nullable=True),
        sa.Column("nominal_end_time", observer.store.metadata.UtcDateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            observer.store.metadata.UtcDateTime(timezone=True),
            nullable=False,
            comment="earliest event time of the run",
        ),
        sa.Column(
            "updated_at",
            observer.store.metadata.UtcDateTime(timezone=True),
            nullable=False,
            comment="latest event time of the run",
        ),
        sa.Column("job_version_id", sa.Integer(), nullable=True),
        sa.Column("parent_run_uuid", sa.String(length=36), nullable=True),
        sa.Column("parent_job_namespace", sa.String(length=1000), nullable=True),
        sa.Column("parent_job_name", sa.String(length=1000), nullable=True),
        sa.Column("root_run_uuid", sa.String(length=36), nullable=True),
        sa.Column("root_job_namespace", sa.String(length=1000), nullable=True),
        sa.Column("root_job_name", sa.String(length=1000), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("facets", sa.JSON(), nullable=False, comment="run facets, accumulated by name"),
        sa.Column("job_facets", sa.JSON(), nullable=False, comment="job facets sent with this run's events"),
        sa.Column(
            "facet_times",
            sa.JSON(),
            nullable=False,
            comment="event time each facet was last set at; earliest START and active event",
        ),
        sa.Column(
            "event_types", sa.JSON(), nullable=False, comment="event types seen, for the state machine"
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_runs_job_id_jobs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_uuid", name=op.f("pk_runs")),
    )
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.create_index("ix_runs_job_created", ["job_id", "created_at"], unique=False)
        batch_op.create_index("ix_runs_parent", ["parent_run_uuid"], unique=False)

    op.create_table(
        "run_datasets",
        sa.Column("run_uuid", sa.String(length=36), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(length=6), nullable=False, comment="input or output"),
        sa.Column("dataset_version_id", sa.Integer(), nullable=True),
        sa.Column("facets", sa.JSON(), nullable=False, comment="inputFacets / outputFacets, accumulated"),
        sa.Column("first_seen", observer.store.metadata.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.id"],
            name=op.f("fk_run_datasets_dataset_id_datasets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_uuid"], ["runs.run_uuid"], name=op.f("fk_run_datasets_run_uuid_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_uuid", "dataset_id", "direction", name=op.f("pk_run_datasets")),
        comment="What each run read and wrote (accumulated over its events).",
    )
    with op.batch_alter_table("run_datasets", schema=None) as batch_op:
        batch_op.create_index("ix_run_datasets_dataset", ["dataset_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("run_datasets", schema=None) as batch_op:
        batch_op.drop_index("ix_run_datasets_dataset")

    op.drop_table("run_datasets")
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_index("ix_runs_parent")
        batch_op.drop_index("ix_runs_job_created")

    op.drop_table("runs")
    op.drop_table("job_versions")
    op.drop_table("job_heads")
    with op.batch_alter_table("dataset_versions", schema=None) as batch_op:
        batch_op.drop_index("ix_dataset_versions_dataset_created")

    op.drop_table("dataset_versions")
    with op.batch_alter_table("sql_queue", schema=None) as batch_op:
        batch_op.drop_index("ix_sql_queue_status")

    op.drop_table("sql_queue")
    op.drop_table("namespaces")
    with op.batch_alter_table("lineage_events", schema=None) as batch_op:
        batch_op.drop_index("ix_lineage_events_run_uuid")
        batch_op.drop_index("ix_lineage_events_event_time")

    op.drop_table("lineage_events")
