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

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Dialect, func, select
from sqlalchemy.dialects import postgresql, sqlite
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
    future: Future[AppendResult] | asyncio.Future[AppendResult]
    loop: asyncio.AbstractEventLoop | None = None
    """The loop of an asyncio future (resolved on that loop); None for a thread's future."""


Outcome = tuple[_Request, AppendResult | Exception]


def _settle(outcomes: list[Outcome]) -> None:
    """Resolve each request's future; asyncio futures with one callback per loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[Outcome]] = {}
    for request, outcome in outcomes:
        if request.loop is None:
            _resolve(request.future, outcome)
        else:
            by_loop.setdefault(request.loop, []).append((request, outcome))
    for loop, items in by_loop.items():
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits for these any more
            loop.call_soon_threadsafe(_resolve_all, items)


def _resolve_all(outcomes: list[Outcome]) -> None:
    for request, outcome in outcomes:
        _resolve(request.future, outcome)


def _resolve(
    future: Future[AppendResult] | asyncio.Future[AppendResult], outcome: AppendResult | Exception
) -> None:
    if future.done():  # an asyncio future whose waiter timed out and cancelled it
        return
    if isinstance(outcome, Exception):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


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
    """The log rows of ``events``, each content once."""
    rows: dict[str, dict[str, object]] = {}
    for event in events:
        rows.setdefault(
            event.content_hash,
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
            },
        )
    return list(rows.values())


class _CompiledInsert:
    """``INSERT … ON CONFLICT DO NOTHING`` into the log, compiled once for a dialect and run as one
    driver-level ``executemany``. Each column's bind processor (timestamps as UTC, notes as JSON) is
    applied here, and ``received_at``, the same for a whole group, is processed once: SQLAlchemy's
    per-row parameter handling cost more than the rest of an append."""

    def __init__(self, dialect: Dialect) -> None:
        if dialect.name == "postgresql":
            statement: Any = postgresql.insert(lineage_events)
        else:
            statement = sqlite.insert(lineage_events)
        compiled = statement.on_conflict_do_nothing().compile(dialect=dialect, column_keys=list(_ROW_KEYS))
        self.sql = str(compiled)
        self.positional = dialect.positional
        self.order = list(compiled.positiontup or _ROW_KEYS) if self.positional else list(_ROW_KEYS)
        self.processors = {
            key: processor
            for key in _ROW_KEYS
            if (processor := lineage_events.c[key].type.dialect_impl(dialect).bind_processor(dialect))
            is not None
        }

    def parameters(self, rows: list[dict[str, object]]) -> list[Any]:
        constant = {}
        if rows and "received_at" in self.processors:
            constant["received_at"] = self.processors["received_at"](rows[0]["received_at"])
        per_row = [(key, processor) for key, processor in self.processors.items() if key not in constant]
        prepared = []
        for row in rows:
            values = {**row, **constant}
            for key, processor in per_row:
                values[key] = processor(values[key])
            prepared.append(tuple(values[key] for key in self.order) if self.positional else values)
        return prepared


_ROW_KEYS = (
    "content_hash",
    "kind",
    "event_type",
    "event_time",
    "run_uuid",
    "job_namespace",
    "job_name",
    "received_at",
    "payload",
    "notes",
)


class EventLog:
    """The group-commit appender (a :class:`observer.runtime.Service`).

    Appends come first: whenever requests are queued the thread commits them at once, all of them
    in one transaction. ``background`` (the projection step) runs on the same thread, so the store
    never has two writers of this process waiting on each other (SQLite has one write lock), and
    only when no append is queued. ``background(limit)`` does at most ``limit`` events' worth of
    work (None: its own batch size) and returns how much it did; 0 means "caught up", and the thread
    then only wakes for appends or every ``idle_wait`` seconds (for events other processes appended).

    While appends keep arriving (one within the last ``quiet`` seconds) a step does at most
    ``background_batch`` events (which bounds how long an append can wait behind it), waits until
    that many have arrived or ``background_delay`` seconds have passed (a step has a fixed cost to
    spread), and the steps take at most ``background_share()`` of the thread's time, a fraction the
    owner may vary (the ingest service raises it with the projection's lag). Once appends pause,
    full steps run until caught up.
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
        background_share: Callable[[], float] = lambda: 0.3,
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
        self._compiled: _CompiledInsert | None = None
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

    def submit_async(self, events: Sequence[ParsedEvent]) -> asyncio.Future[AppendResult]:
        """:meth:`submit` for a coroutine: an asyncio future of the running loop. The futures of one
        loop in a group commit are resolved together, with one wake-up of that loop."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[AppendResult] = loop.create_future()
        if not self.running:
            future.set_exception(LogUnavailable("the event log is not running"))
        else:
            self._queue.put(_Request(events, future, loop))
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
        """One step of the background task (the projection) if there is work and it is its turn;
        called only when no append is queued."""
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
        share = min(1.0, max(0.01, self._background_share()))
        self._background_next = finished + (finished - started) * (1 / share - 1)

    def _commit(self, group: list[_Request]) -> None:
        events = [event for request in group for event in request.events]
        rows = event_rows(events, self._clock.now())
        try:
            connection = self._connect()
            with connection.begin():
                if connection.dialect.name == "postgresql":
                    connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_APPEND_LOCK})")
                fresh = _insert(connection, self._insert_statement(connection), rows)
                newest = connection.execute(select(func.max(lineage_events.c.id))).scalar() or 0
        except Exception as error:
            log.warning("appending %d events failed: %s", len(events), error)
            self._reset()
            failure = LogUnavailable(f"the event log could not be written: {error.__class__.__name__}")
            _settle([(request, failure) for request in group])
            return
        if self._on_commit is not None:
            self._on_commit(newest)
        outcomes: list[tuple[_Request, AppendResult | Exception]] = []
        for request in group:
            stored = 0
            for event in request.events:
                if event.content_hash in fresh:
                    fresh.discard(event.content_hash)
                    stored += 1
            outcomes.append((request, AppendResult(stored, len(request.events) - stored)))
        _settle(outcomes)

    def _insert_statement(self, connection: Connection) -> _CompiledInsert:
        if self._compiled is None:
            self._compiled = _CompiledInsert(connection.dialect)
        return self._compiled

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


def _insert(connection: Connection, insert: _CompiledInsert, rows: list[dict[str, object]]) -> set[str]:
    """Insert the rows whose content hash is new; return those hashes."""
    known: set[str] = set()
    for start in range(0, len(rows), _LOOKUP_CHUNK):
        hashes = [row["content_hash"] for row in rows[start : start + _LOOKUP_CHUNK]]
        query = select(lineage_events.c.content_hash).where(lineage_events.c.content_hash.in_(hashes))
        known.update(connection.execute(query).scalars())
    fresh = [row for row in rows if row["content_hash"] not in known]
    if fresh:
        connection.exec_driver_sql(insert.sql, insert.parameters(fresh))
    return {str(row["content_hash"]) for row in fresh}
