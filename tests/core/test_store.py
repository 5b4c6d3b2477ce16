"""The store: the same migrations on SQLite and PostgreSQL, UTC timestamps, SQLite tuned for a server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import insert, inspect, select, text

from observer.store import Store, StoreUnavailable
from observer.store.core_tables import observer_state


def test_upgrade_creates_the_schema_and_is_idempotent(store_url: str) -> None:
    store = Store(store_url)
    applied = store.upgrade()
    assert "core_0001" in applied
    assert "observer_state" in inspect(store.engine).get_table_names()
    assert store.upgrade() == []
    assert store.pending_revisions() == []
    store.dispose()


def test_timestamps_come_back_aware_utc(store: Store) -> None:
    written = datetime(2026, 3, 1, 12, 30, tzinfo=timezone(timedelta(hours=2)))
    with store.engine.begin() as connection:
        connection.execute(insert(observer_state).values(key="k", value="v", updated_at=written))
    with store.engine.connect() as connection:
        read = connection.execute(select(observer_state.c.updated_at)).scalar_one()
    assert read == written
    assert read.tzinfo is not None and read.utcoffset() == timedelta(0)


def test_naive_timestamps_are_refused(store: Store) -> None:
    with pytest.raises(Exception, match="naive datetime"), store.engine.begin() as connection:
        connection.execute(insert(observer_state).values(key="k", value="v", updated_at=datetime(2026, 1, 1)))


def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_url: str) -> None:
    store = Store(sqlite_url)
    with store.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
        assert connection.execute(text("PRAGMA busy_timeout")).scalar_one() == 30000
    store.dispose()


def test_unreachable_store_is_reported_without_password() -> None:
    store = Store("postgresql+psycopg://observer:hunter22@127.0.0.1:1/nowhere")
    with pytest.raises(StoreUnavailable) as caught:
        store.ping()
    assert "hunter22" not in str(caught.value)
    assert "127.0.0.1:1" in str(caught.value)


def test_utc_now_round_trip(store: Store) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    with store.engine.begin() as connection:
        connection.execute(insert(observer_state).values(key="now", value="x", updated_at=now))
        assert connection.execute(select(observer_state.c.updated_at)).scalar_one() == now
