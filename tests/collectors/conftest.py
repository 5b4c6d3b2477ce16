"""Fixtures of the collector tests: a migrated SQLite store and a clock that only moves when told."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from observer.clock import SimulatedClock
from observer.store import Store

START = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def catalog_store(sqlite_url: str) -> Iterator[Store]:
    """Where collections are written (the warehouse under test is a separate database)."""
    store = Store(sqlite_url)
    store.upgrade()
    yield store
    store.dispose()


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(START)
