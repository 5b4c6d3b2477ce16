"""Alembic environment: runs on the connection :class:`observer.store.Store` hands over."""

from __future__ import annotations

from alembic import context

from observer.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `observer db upgrade` (observer.store.Store.upgrade)")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
