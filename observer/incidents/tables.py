"""Incident tables: incidents, the checks each one groups, the findings, the impact, and a timeline."""

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

incidents = Table(
    "incidents",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("state", String(20), nullable=False, comment="open, acknowledged, muted, resolved"),
    Column("severity", String(20), nullable=False),
    Column("title", Text, nullable=False),
    Column("root_namespace", String(NAME), nullable=False, comment="the most upstream broken dataset"),
    Column("root_name", String(NAME), nullable=False),
    Column("root_check", String(100), nullable=False),
    Column("root_column", String(NAME), nullable=False, default=""),
    Column("origin_namespace", String(NAME), nullable=False, comment="root, or the dataset of its cause"),
    Column("origin_name", String(NAME), nullable=False),
    Column("cause", JSON, nullable=True, comment="the most likely upstream cause, when one is known"),
    Column("suspects", JSON, nullable=False, default=list),
    Column("impact", JSON, nullable=False, default=dict, comment="counts, owners and top assets"),
    Column("first_seen_at", UtcDateTime, nullable=False, comment="earliest finding"),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("last_activity_at", UtcDateTime, nullable=False, comment="newest finding of any member"),
    Column("acknowledged_at", UtcDateTime, nullable=True),
    Column("acknowledged_by", String(200), nullable=True),
    Column("muted_until", UtcDateTime, nullable=True),
    Column("muted_by", String(200), nullable=True),
    Column("resolved_at", UtcDateTime, nullable=True),
    Column("resolved_by", String(200), nullable=True),
    Column("resolution", String(20), nullable=True, comment="checks_passed, manual, merged"),
    Column("merged_into", Integer, nullable=True),
    Column("message_seq", Integer, nullable=False, default=0, comment="notifications planned so far"),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_incidents_state_activity", "state", "last_activity_at"),
)

incident_checks = Table(
    "incident_checks",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("incident_id", Integer, ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False),
    Column("namespace", String(NAME), nullable=False),
    Column("name", String(NAME), nullable=False),
    Column("column_name", String(NAME), nullable=False, default=""),
    Column("check_kind", String(100), nullable=False),
    Column("hops", Integer, nullable=False, comment="dataset hops below the incident's root; 0 = root"),
    Column("severity", String(20), nullable=False),
    Column("first_seen_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    Column("finding_count", Integer, nullable=False, default=1),
    Column("cleared_at", UtcDateTime, nullable=True, comment="the check passed after its last finding"),
    Column("last_explanation", Text, nullable=False, default=""),
    UniqueConstraint(
        "incident_id", "namespace", "name", "column_name", "check_kind", name="uq_incident_checks_check"
    ),
    Index("ix_incident_checks_dataset", "namespace", "name", "check_kind"),
    comment="Each check that found a problem within an incident: the key of deduplication.",
)

incident_findings = Table(
    "incident_findings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("incident_id", Integer, ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False),
    Column("namespace", String(NAME), nullable=False),
    Column("name", String(NAME), nullable=False),
    Column("column_name", String(NAME), nullable=False, default=""),
    Column("check_kind", String(100), nullable=False),
    Column("severity", String(20), nullable=False),
    Column("detected_at", UtcDateTime, nullable=False),
    Column("explanation", Text, nullable=False),
    Column("score", Float, nullable=True),
    Column("observed", Float, nullable=True),
    Column("expected", Float, nullable=True),
    Column("lower", Float, nullable=True),
    Column("upper", Float, nullable=True),
    Column("direction", String(40), nullable=True),
    Column("run_id", String(64), nullable=True),
    Column("job_namespace", String(NAME), nullable=True),
    Column("job_name", String(NAME), nullable=True),
    Column("details", JSON, nullable=False, default=dict),
    Index("ix_incident_findings_incident", "incident_id", "detected_at"),
    Index("ix_incident_findings_dataset", "namespace", "name", "detected_at"),
    Index("ix_incident_findings_detected", "detected_at"),
)

incident_impacts = Table(
    "incident_impacts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("incident_id", Integer, ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False),
    Column("node_id", Text, nullable=False),
    Column("kind", String(20), nullable=False, comment="dataset, column, job"),
    Column("namespace", String(NAME), nullable=False),
    Column("name", String(NAME), nullable=False),
    Column("column_name", String(NAME), nullable=True),
    Column("hops", Integer, nullable=False),
    Column("direct", Boolean, nullable=False),
    Column("owners", JSON, nullable=False, default=list),
    Index("ix_incident_impacts_incident", "incident_id", "hops"),
    Index("ix_incident_impacts_dataset", "namespace", "name"),
    comment="What an incident's origin breaks downstream (the origin itself at 0 hops).",
)

incident_events = Table(
    "incident_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("incident_id", Integer, ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("kind", String(40), nullable=False, comment="opened, joined, rerooted, acknowledged, muted …"),
    Column("actor", String(200), nullable=True),
    Column("details", JSON, nullable=False, default=dict),
    Index("ix_incident_events_incident", "incident_id", "id"),
)
