"""Tables of the core itself."""

from sqlalchemy import Column, String, Table, Text

from observer.store.metadata import UtcDateTime, metadata

observer_state = Table(
    "observer_state",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    comment="Small named state values (worker cursors, instance id).",
)
