"""The alert outbox: every planned message, delivered (and retried) by the alert service."""

from __future__ import annotations

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, String, Table, Text

from observer.store.metadata import UtcDateTime, metadata

alert_outbox = Table(
    "alert_outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "idempotency_key",
        String(400),
        nullable=False,
        unique=True,
        comment="incident:kind:sequence:destination; a message is planned at most once",
    ),
    Column("incident_id", Integer, ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False),
    Column("destination", String(300), nullable=False, comment="notifier[:channel]"),
    Column("kind", String(20), nullable=False, comment="post (root message), reply (in its thread), update"),
    Column("payload", JSON, nullable=False, comment="text, Slack blocks and the JSON document"),
    Column("status", String(20), nullable=False, comment="pending, sending, done, failed, superseded"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("not_before", UtcDateTime, nullable=False, comment="next attempt (backoff, quiet hours)"),
    Column("lease_until", UtcDateTime, nullable=True, comment="a sending row past this is in doubt"),
    Column("last_error", Text, nullable=True),
    Column("external_channel", String(100), nullable=True, comment="Slack channel id of the message"),
    Column("external_ts", String(40), nullable=True, comment="Slack ts of the message"),
    Column("created_at", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime, nullable=True),
    Index("ix_alert_outbox_due", "status", "not_before"),
    Index("ix_alert_outbox_incident", "incident_id", "destination", "kind"),
)
