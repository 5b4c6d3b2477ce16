"""The event log's appender and how it shares its thread with the projection."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime

from sqlalchemy import select

from observer.clock import SystemClock
from observer.ingest.log import EventLog
from observer.ingest.parse import ParsedEvent, parse_body
from observer.ingest.service import projection_share
from observer.ingest.tables import lineage_events
from observer.store import Store
from tests.ingest.conftest import run_event


def _events(count: int, **fields: object) -> list[ParsedEvent]:
    return parse_body([run_event(**fields) for _ in range(count)])  # type: ignore[arg-type]


def test_appended_rows_read_back_as_sent_and_resent_events_are_stored_once(store: Store) -> None:
    event_log = EventLog(store, SystemClock())
    event_log.start()
    try:
        sloppy = parse_body(run_event(time="2026-05-01T05:00:00.250"))  # no zone: a note, read as UTC
        first = event_log.append(sloppy + _events(3))
        again = event_log.append(sloppy)
    finally:
        event_log.stop()
    assert (first.stored, first.duplicates) == (4, 0)
    assert (again.stored, again.duplicates) == (0, 1)
    with store.engine.connect() as connection:
        rows = connection.execute(select(lineage_events).order_by(lineage_events.c.id)).mappings().all()
    assert len(rows) == 4
    assert rows[0]["event_time"] == datetime(2026, 5, 1, 5, 0, 0, 250_000, tzinfo=UTC)
    assert rows[0]["notes"] and "UTC" in rows[0]["notes"][0]
    assert rows[0]["payload"] == sloppy[0].canonical.decode()
    assert rows[0]["received_at"].tzinfo is not None
    assert all(row["notes"] is None for row in rows[1:])


def test_asyncio_waiters_of_one_group_commit_all_learn_their_outcome(store: Store) -> None:
    event_log = EventLog(store, SystemClock())
    event_log.start()

    async def send_all() -> list[tuple[int, int]]:
        futures = [event_log.submit_async(_events(2)) for _ in range(20)]
        futures.append(event_log.submit_async(_events(1, run_id="00000000-0000-4000-8000-00000000000a")))
        futures.append(event_log.submit_async(_events(1, run_id="00000000-0000-4000-8000-00000000000a")))
        return [(result.stored, result.duplicates) for result in await asyncio.gather(*futures)]

    try:
        outcomes = asyncio.run(send_all())
    finally:
        event_log.stop()
    assert outcomes[:20] == [(2, 0)] * 20
    assert sorted(outcomes[20:]) == [(0, 1), (1, 0)]


def test_under_continuous_appends_the_projection_steps_in_small_batches_then_catches_up(store: Store) -> None:
    limits: list[int | None] = []
    stepped = threading.Condition()
    appending = threading.Event()
    appending.set()

    def background(limit: int | None) -> int:
        with stepped:
            limits.append(limit)
            stepped.notify_all()
        return 1

    event_log = EventLog(
        store, SystemClock(), background=background, background_batch=5, background_delay=0.05
    )
    event_log.start()

    def keep_appending() -> None:
        while appending.is_set():
            event_log.append(_events(1))

    appender = threading.Thread(target=keep_appending)
    appender.start()
    try:
        with stepped:
            assert stepped.wait_for(lambda: 5 in limits, timeout=30), "no projection step under load"
        appending.clear()
        appender.join()
        with stepped:
            assert stepped.wait_for(lambda: limits[-1] is None, timeout=30), "no full step after the load"
    finally:
        appending.clear()
        event_log.stop()


def test_the_projection_share_grows_with_the_lag() -> None:
    assert projection_share(0, 200_000) == 0.05
    assert projection_share(50_000, 200_000) == 0.25
    assert projection_share(100_000, 200_000) == 0.5
    assert projection_share(400_000, 200_000) == 0.5
