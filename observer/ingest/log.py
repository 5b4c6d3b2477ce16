"""The raw event log: durable appends with group commit, and the cheap lag counter.

One writer thread owns the log's connection. Requests hand it their parsed events and wait on a
future; the thread takes everything queued (up to ``max_events``) and writes it in ONE transaction,
so a burst of concurrent requests costs one commit (one fsync) instead of one each. A future is
resolved only after its commit, so a 2xx always means "on disk". Re-sent events (same content
hash) are stored once.

Appends are serialised across processes too (SQLite's single writer; an advisory lock on
PostgreSQL), so event ids are in commit order and the projection can follow the log by id.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass

from sqlalchemy import Connection, func, select
from sqlalchemy.exc import SQLAlchemyError

from observer.clock import Clock
from observer.ingest.parse import ParsedEvent
from observer.ingest.tables import lineage_events
from observer.metrics import PROJECTION_LAG_EVENTS
from observer.store import Store
from observer.store.core_tables import observer_state
from observer.store.upsert import insert_ignoring_conflicts, upsert

log = logging.getLogger(__name__)

PROJECTION_CURSOR = "ingest.projection.cursor"
GRAPH_CURSOR = "ingest.graph.cursor"
_APPEND_LOCK = 7_215_001
_LOOKUP_CHUNK = 900


class LogUnavailable(RuntimeError):
    """The event log could not be written; nothing of the request was acknowledged."""


@dataclass(frozen=True)
class AppendResult:
    stored: int
    duplicates: int


@dataclass
class _Request:
    events: Sequence[ParsedEvent]
    future: Future[AppendResult]


class Progress:
    """Where the log and the projection are, so lag is a subtraction and not a COUNT(*).

    ``appended`` is the newest committed event id, ``projected`` the projection's cursor. When the
    projection runs in another process, :meth:`lag` re-reads the cursor at most once a second.
    """

    def __init__(self, store: Store, *, local_projection: bool) -> None:
        self._store = store
        self._local = local_projection
        self._lock = threading.Lock()
        self.appended = 0
        self.projected = 0
        self._refreshed = 0.0
        self._loaded = False

    def load(self) -> None:
        with self._store.engine.connect() as connection:
            appended = connection.execute(select(func.max(lineage_events.c.id))).scalar() or 0
            projected = read_cursor(connection, PROJECTION_CURSOR)
        with self._lock:
            self.appended = max(self.appended, appended)
            self.projected = max(self.projected, projected)
        self._refreshed = time.monotonic()
        self._loaded = True
        PROJECTION_LAG_EVENTS.set(max(0, self.appended - self.projected))

    def committed(self, upto: int) -> None:
        with self._lock:
            self.appended = max(self.appended, upto)
        PROJECTION_LAG_EVENTS.set(self.lag())

    def advanced(self, upto: int) -> None:
        with self._lock:
            self.projected = max(self.projected, upto)
        PROJECTION_LAG_EVENTS.set(self.lag())

    def lag(self) -> int:
        if (not self._local or not self._loaded) and time.monotonic() - self._refreshed > 1.0:
            self._refreshed = time.monotonic()
            try:
                self.load()
            except SQLAlchemyError:
                log.warning("could not refresh the projection cursor", exc_info=True)
        with self._lock:
            return max(0, self.appended - self.projected)


def read_cursor(connection: Connection, key: str) -> int:
    value = connection.execute(select(observer_state.c.value).where(observer_state.c.key == key)).scalar()
    return int(value) if value is not None else 0


def write_cursor(connection: Connection, key: str, expected: int, value: int, clock: Clock) -> bool:
    """Move a cursor from ``expected`` to ``value``; False when another worker moved it first."""
    if expected == 0:
        insert_ignoring_conflicts(
            connection, observer_state, [{"key": key, "value": "0", "updated_at": clock.now()}]
        )
    result = connection.execute(
        observer_state.update()
        .where(observer_state.c.key == key, observer_state.c.value == str(expected))
        .values(value=str(value), updated_at=clock.now())
    )
    return result.rowcount == 1


def set_cursor(connection: Connection, key: str, value: int, clock: Clock) -> None:
    upsert(
        connection,
        observer_state,
        [{"key": key, "value": str(value), "updated_at": clock.now()}],
        keys=["key"],
        update=["value", "updated_at"],
    )


def event_rows(events: Sequence[ParsedEvent], received_at: object) -> list[dict[str, object]]:
    seen: set[str] = set()
    rows = []
    for event in events:
        if event.content_hash in seen:
            continue
        seen.add(event.content_hash)
        rows.append(
            {
                "content_hash": event.content_hash,
                "kind": event.kind,
                "event_type": event.event_type,
                "event_time": event.event_time,
                "run_uuid": event.run_uuid,
                "job_namespace": event.job_namespace,
                "job_name": event.job_name,
                "received_at": received_at,
                "payload": event.canonical.decode(),
                "notes": event.notes or None,
            }
        )
    return rows


class EventLog:
    """The group-commit appender (a :class:`observer.runtime.Service`).

    ``background`` (the projection step) runs on the same thread, between group commits, so the
    store never has two writers of this process waiting on each other (SQLite has one write lock).
    ``background(limit)`` does at most ``limit`` events' worth of work (None: its own batch size).
    While appends keep arriving (one within the last ``quiet`` seconds) it gets at most
    ``background_share`` of the thread's time, in steps of ``background_batch`` events (which bounds
    how long an append can wait behind one), and a step waits until that many events have arrived or
    ``background_delay`` seconds have passed, so that each step's fixed cost is spread over many
    events. Once appends pause it runs full steps until caught up. A step
    returns how much it did; 0 means "caught up", and the thread then only wakes for appends or every
    ``idle_wait`` seconds (for events other processes appended).
    """

    name = "ingest-log"

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        max_events: int = 5000,
        durable: bool = True,
        on_commit: Callable[[int], None] | None = None,
        background: Callable[[int | None], int] | None = None,
        background_share: float = 0.3,
        background_batch: int = 50,
        background_delay: float = 1.0,
        quiet: float = 0.1,
        idle_wait: float = 1.0,
    ) -> None:
        self._store = store
        self._clock = clock
        self._max_events = max_events
        self._durable = durable
        self._on_commit = on_commit
        self._queue: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._connection: Connection | None = None
        self._background = background
        self._background_share = background_share
        self._background_batch = background_batch
        self._background_delay = background_delay
        self._background_last = 0.0
        self._appended_since_step = 0
        self._idle_wait = idle_wait
        self._quiet = quiet
        self._background_pending = background is not None
        self._background_next = 0.0
        self._appended_at = 0.0

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def submit(self, events: Sequence[ParsedEvent]) -> Future[AppendResult]:
        """Queue ``events`` for the next group commit; the future resolves once they are durable."""
        future: Future[AppendResult] = Future()
        if not self.running:
            future.set_exception(LogUnavailable("the event log is not running"))
        else:
            self._queue.put(_Request(events, future))
        return future

    def append(self, events: Sequence[ParsedEvent], timeout: float | None = None) -> AppendResult:
        return self.submit(events).result(timeout)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            try:
                first = self._queue.get(timeout=self._wait())
            except queue.Empty:
                self._maybe_run_background()
                continue
            if first is None:
                break
            group, count = [first], len(first.events)
            while count < self._max_events:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                    break
                group.append(item)
                count += len(item.events)
            self._commit(group)
            self._appended_since_step += count
            self._appended_at = time.monotonic()
            self._background_pending = self._background is not None
            self._maybe_run_background()
        if self._connection is not None:
            self._connection.close()

    def _background_allowed_at(self) -> float:
        """When the next background step may run: at once in a pause, else when its share allows and
        enough events are waiting (or the oldest has waited long enough)."""
        busy_at = self._background_next
        if self._appended_since_step < self._background_batch:
            busy_at = max(busy_at, self._background_last + self._background_delay)
        return min(busy_at, self._appended_at + self._quiet)

    def _wait(self) -> float:
        if not self._background_pending:
            return self._idle_wait
        return min(self._idle_wait, max(0.001, self._background_allowed_at() - time.monotonic()))

    def _maybe_run_background(self) -> None:
        """One step of the background task (the projection) if there is work and it is its turn."""
        started = time.monotonic()
        if self._background is None or not self._background_pending:
            return
        if started < self._background_allowed_at():
            return
        self._appended_since_step = 0
        busy = started < self._appended_at + self._quiet
        try:
            self._background_pending = self._background(self._background_batch if busy else None) > 0
        except Exception:
            log.exception("the projection step failed; retrying in %.0fs", self._idle_wait)
            self._background_pending = False
        finished = self._background_last = time.monotonic()
        self._background_next = finished + (finished - started) * (1 / self._background_share - 1)

    def _commit(self, group: list[_Request]) -> None:
        events = [event for request in group for event in request.events]
        rows = event_rows(events, self._clock.now())
        try:
            connection = self._connect()
            with connection.begin():
                if connection.dialect.name == "postgresql":
                    connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_APPEND_LOCK})")
                fresh = _insert(connection, rows)
                newest = connection.execute(select(func.max(lineage_events.c.id))).scalar() or 0
        except Exception as error:
            log.warning("appending %d events failed: %s", len(events), error)
            self._reset()
            failure = LogUnavailable(f"the event log could not be written: {error.__class__.__name__}")
            for request in group:
                request.future.set_exception(failure)
            return
        if self._on_commit is not None:
            self._on_commit(newest)
        for request in group:
            stored = 0
            for event in request.events:
                if event.content_hash in fresh:
                    fresh.discard(event.content_hash)
                    stored += 1
            request.future.set_result(AppendResult(stored, len(request.events) - stored))

    def _connect(self) -> Connection:
        if self._connection is None:
            self._connection = self._store.engine.connect()
            if self._connection.dialect.name == "sqlite":
                level = "FULL" if self._durable else "NORMAL"
                self._connection.exec_driver_sql(f"PRAGMA synchronous={level}")
            self._connection.commit()
        return self._connection

    def _reset(self) -> None:
        if self._connection is not None:
            try:
                self._connection.invalidate()
                self._connection.close()
            except SQLAlchemyError:
                pass
            self._connection = None


def _insert(connection: Connection, rows: list[dict[str, object]]) -> set[str]:
    """Insert the rows whose content hash is new; return those hashes."""
    known: set[str] = set()
    for start in range(0, len(rows), _LOOKUP_CHUNK):
        hashes = [row["content_hash"] for row in rows[start : start + _LOOKUP_CHUNK]]
        query = select(lineage_events.c.content_hash).where(lineage_events.c.content_hash.in_(hashes))
        known.update(connection.execute(query).scalars())
    fresh = [row for row in rows if row["content_hash"] not in known]
    insert_ignoring_conflicts(connection, lineage_events, fresh)
    return {str(row["content_hash"]) for row in fresh}
