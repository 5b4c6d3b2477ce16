"""Catalog tables: datasets (with symlinked aliases), schema versions, metric points, updates,
assertions and jobs."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from observer.store.metadata import UtcDateTime, metadata

NAME = 1000

datasets = Table(
    "datasets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("namespace", String(NAME), nullable=False),
    Column("name", String(NAME), nullable=False),
    Column("kind", String(40), nullable=True, comment="TABLE, VIEW, FILE, TOPIC … (datasetType)"),
    Column("description", Text, nullable=True),
    Column("owners", JSON, nullable=False, default=list, comment='[{"name": "team:data", "type": …}]'),
    Column("tags", JSON, nullable=False, default=list),
    Column("facets", JSON, nullable=False, default=dict, comment="latest dataset facets, by name"),
    Column("current_schema_version_id", Integer, nullable=True),
    Column("last_updated_at", UtcDateTime, nullable=True, comment="newest observed write"),
    Column("lifecycle_state", String(20), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("namespace", "name", name="uq_datasets_identity"),
)

dataset_aliases = Table(
    "dataset_aliases",
    metadata,
    Column("namespace", String(NAME), primary_key=True),
    Column("name", String(NAME), primary_key=True),
    Column("dataset_id", Integer, ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False),
    Column("alias_type", String(40), nullable=True, comment="symlink type: TABLE, LOCATION …"),
    comment="Other identities (symlinks) of a dataset; they all resolve to the one dataset.",
)

schema_versions = Table(
    "schema_versions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("dataset_id", Integer, ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False),
    Column("fields_hash", String(64), nullable=False),
    Column("fields", JSON, nullable=False, comment='[{"name", "type", "description", "nullable"}]'),
    Column("observed_at", UtcDateTime, nullable=False),
    Column("source", String(20), nullable=False, comment="openlineage, warehouse, dbt"),
    Column("run_id", String(64), nullable=True),
    Index("ix_schema_versions_dataset_observed", "dataset_id", "observed_at"),
)

metric_points = Table(
    "metric_points",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("dataset_id", Integer, ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False),
    Column("column_name", String(NAME), nullable=False, default="", comment="'' for table-level metrics"),
    Column("metric", String(100), nullable=False, comment="row_count, rows_written, null_rate …"),
    Column("measured_at", UtcDateTime, nullable=False, comment="bucket start, or observation time"),
    Column("value", Float, nullable=False),
    Column("source", String(20), nullable=False),
    Column("run_id", String(64), nullable=True),
    UniqueConstraint(
        "dataset_id", "column_name", "metric", "measured_at", "source", name="uq_metric_points_point"
    ),
)

dataset_updates = Table(
    "dataset_updates",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("dataset_id", Integer, ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("source", String(20), nullable=False, comment="openlineage run, warehouse observation, dbt"),
    Column("run_id", String(64), nullable=True),
    UniqueConstraint("dataset_id", "updated_at", "source", name="uq_dataset_updates_update"),
    comment="Every observed write of a dataset: the history freshness learns from.",
)

assertions = Table(
    "assertions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("dataset_id", Integer, ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False),
    Column("column_name", String(NAME), nullable=False, default=""),
    Column("name", String(NAME), nullable=False),
    Column("success", Boolean, nullable=False),
    Column("observed_at", UtcDateTime, nullable=False),
    Column("severity", String(20), nullable=True),
    Column("details", JSON, nullable=False, default=dict),
    Column("source", String(20), nullable=False),
    Column("run_id", String(64), nullable=True),
    Index("ix_assertions_dataset_observed", "dataset_id", "observed_at"),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("namespace", String(NAME), nullable=False),
    Column("name", String(NAME), nullable=False),
    Column("job_type", String(40), nullable=True),
    Column("description", Text, nullable=True),
    Column("owners", JSON, nullable=False, default=list),
    Column("facets", JSON, nullable=False, default=dict),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("namespace", "name", name="uq_jobs_identity"),
)
