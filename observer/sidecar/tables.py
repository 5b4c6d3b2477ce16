"""The sidecar's own state, so that a restart (or the next cron run of ``--once``) goes on where the
last one stopped: each table's last statistics, the problems already alerted on and the findings not
yet forwarded to a central server; and, on a central server, the findings sidecars forwarded."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, String, Table, Text

from observer.store.metadata import UtcDateTime, metadata

NAME = 1000

sidecar_watermarks = Table(
    "sidecar_watermarks",
    metadata,
    Column("namespace", String(NAME), primary_key=True),
    Column("name", String(NAME), primary_key=True),
    Column("write_counter", BigInteger, nullable=True),
    Column(
        "last_modified", UtcDateTime, nullable=True, comment="newest timestamp-column or catalog write time"
    ),
    Column("watched_since", UtcDateTime, nullable=False, comment="first cycle that saw the table"),
    Column("observed_at", UtcDateTime, nullable=False),
    Column("row_count", BigInteger, nullable=True, comment="the catalog's row count (estimate)"),
    Column("size_bytes", BigInteger, nullable=True),
    comment="Per watched table: the last statistics read, to tell a write from no write.",
)

sidecar_open_problems = Table(
    "sidecar_open_problems",
    metadata,
    Column("check_name", String(40), primary_key=True),
    Column("namespace", String(NAME), primary_key=True),
    Column("name", String(NAME), primary_key=True),
    Column("opened_at", UtcDateTime, nullable=False),
    comment="Problems the sidecar has alerted on and not yet seen cleared.",
)

sidecar_forwards = Table(
    "sidecar_forwards",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("state", String(10), nullable=False, comment="open (a problem appeared) or cleared"),
    Column(
        "item", JSON, nullable=False, comment="the finding or pass as POST /api/v1/sidecar/findings takes it"
    ),
    Column("created_at", UtcDateTime, nullable=False),
    comment="Findings and passes waiting to be forwarded to the central Observer, oldest first.",
)

sidecar_findings = Table(
    "sidecar_findings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("sidecar", String(200), nullable=False),
    Column("check_name", String(40), nullable=False),
    Column("namespace", String(NAME), nullable=False),
    Column("name", String(NAME), nullable=False),
    Column("state", String(10), nullable=False, comment="open (a problem appeared) or cleared"),
    Column("severity", String(20), nullable=True),
    Column("observed_at", UtcDateTime, nullable=False, comment="when the sidecar saw it"),
    Column("received_at", UtcDateTime, nullable=False),
    Column("explanation", Text, nullable=True),
    Column("details", JSON, nullable=False, default=dict),
    Index("ix_sidecar_findings_received", "received_at"),
    comment="Findings forwarded by sidecars (POST /api/v1/sidecar/findings), as received.",
)
