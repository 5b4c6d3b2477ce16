"""The SQL store: SQLite by default, PostgreSQL by URL, one schema managed by Alembic."""

from observer.store.database import Store, StoreUnavailable

__all__ = ["Store", "StoreUnavailable"]
