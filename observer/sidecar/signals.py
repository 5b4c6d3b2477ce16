"""Reading every watched table of a warehouse in a fixed number of queries, through the collectors'
warehouse adapters (``collectors/warehouse``): the same catalog reader, identities and error wording
as ``observer collect``, for every warehouse the collectors support.

One cycle is the adapter's catalog snapshot, whatever the number of tables: its identity and tables
queries, plus its columns query only when a rule needs columns (a schema check turned on by name, or a
freshness ``timestamp_column``, whose name is looked up among them). PostgreSQL, DuckDB and Snowflake:
two catalog queries for freshness and volume, three with columns. When some watched tables have a
``timestamp_column``, one ``UNION ALL`` query of ``max(column)`` over all of them follows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, event

from collectors.warehouse.adapters import adapter_for
from collectors.warehouse.base import Adapter, TableInfo, WarehouseProblem
from collectors.warehouse.naming import dataset, selected
from observer.catalog.identity import DatasetRef
from observer.checks.rules import CheckRules
from observer.clock import ensure_utc
from observer.config.settings import WarehouseSettings

log = logging.getLogger(__name__)

RELEASE_BETWEEN_READS = frozenset({"duckdb"})
"""Engines whose readers lock the database file against writers: the sidecar holds no connection to
them between cycles, so the pipeline it watches can write in the meantime."""


@dataclass(frozen=True)
class TableSignal:
    """One read of one watched table.

    ``table`` is what the catalog says (row count, size, write counters, last-modified time, columns);
    ``tracks_writes`` whether that catalog reveals writes (counters or modification times);
    ``newest`` the newest value of the table's ``timestamp_column``, when one is configured.
    """

    dataset: DatasetRef
    table: TableInfo
    tracks_writes: bool = False
    newest: datetime | None = None

    @property
    def write_counter(self) -> int | None:
        """The sum of the catalog's cumulative write counters (None when it keeps none)."""
        counters = self.table.write_counters
        return int(sum(counters.values())) if counters else None


class SignalSource:
    """One configured warehouse, read through its collector adapter."""

    def __init__(
        self,
        settings: WarehouseSettings,
        *,
        query_timeout: timedelta,
        on_query: Callable[[], None] = lambda: None,
    ) -> None:
        """Raises :class:`collectors.warehouse.naming.UnsupportedWarehouse` for other databases."""
        self.name = settings.name
        timeout = min(query_timeout, settings.statement_timeout)
        self.settings = settings.model_copy(update={"statement_timeout": timeout, "max_connections": 1})
        self.adapter: Adapter = adapter_for(self.settings)
        self.namespace = self.adapter.namespace
        self.engine: Engine = self.adapter.create_engine()
        self._release = self.adapter.dialect in RELEASE_BETWEEN_READS
        self._warned: set[tuple[DatasetRef, str]] = set()

        def count(*_args: Any) -> None:
            on_query()

        event.listen(self.engine, "before_cursor_execute", count)

    def read(self, rules: CheckRules) -> list[TableSignal]:
        """Signals of every table the rules watch; raises :class:`WarehouseProblem` on any failure."""
        try:
            with self.engine.connect() as connection:
                signals = self._read(connection, rules)
                connection.rollback()
            return signals
        except WarehouseProblem:
            raise
        except Exception as error:
            raise self.adapter.describe(error, f"reading the catalog of {self.name}") from error
        finally:
            if self._release:
                self.engine.dispose()

    def _read(self, connection: Connection, rules: CheckRules) -> list[TableSignal]:
        snapshot = self.adapter.snapshot(connection, columns=needs_columns(rules))
        database = self.adapter.canonical(snapshot.database)
        signals: dict[DatasetRef, TableSignal] = {}
        stamped: dict[DatasetRef, tuple[TableInfo, str]] = {}
        for table in snapshot.tables:
            if not table.has_data or not selected(table.key, self.settings.include, self.settings.exclude):
                continue
            ref = dataset(
                self.namespace,
                database,
                self.adapter.canonical(table.schema),
                self.adapter.canonical(table.name),
            )
            if not rules.watches(ref):
                continue
            signals[ref] = TableSignal(ref, table, self.adapter.tracks_writes)
            column = rules.for_dataset(ref).freshness_column()
            if column is not None:
                found = self._column(ref, table, column)
                if found is not None:
                    stamped[ref] = (table, found)
        if stamped:
            newest = self._newest(connection, snapshot.database, stamped)
            for ref, moment in newest.items():
                signals[ref] = TableSignal(ref, signals[ref].table, signals[ref].tracks_writes, moment)
        return list(signals.values())

    def _column(self, ref: DatasetRef, table: TableInfo, column: str) -> str | None:
        """The table's column named ``column`` (compared without regard to case), or None with a warning."""
        for info in table.columns:
            if info.name.lower() == column.lower():
                return info.name
        if (ref, column) not in self._warned:
            self._warned.add((ref, column))
            log.warning(
                "%s has no column %s (its freshness timestamp_column); judging it by the catalog instead",
                ref.name,
                column,
            )
        return None

    def _newest(
        self, connection: Connection, database: str, stamped: dict[DatasetRef, tuple[TableInfo, str]]
    ) -> dict[DatasetRef, datetime | None]:
        """``max(timestamp_column)`` of every stamped table, in one statement."""
        from sqlglot import exp  # only sidecars with timestamp columns keep sqlglot (~8 MiB) loaded

        refs = list(stamped)
        branches = [
            exp.select(
                exp.alias_(exp.Literal.number(position), "position"),
                exp.alias_(exp.Max(this=exp.column(column, quoted=True)), "newest"),
            ).from_(self.adapter.table_expression(database, table))
            for position, (table, column) in enumerate(stamped.values())
        ]
        union: exp.Query = branches[0]
        for branch in branches[1:]:
            union = exp.union(union, branch, distinct=False)
        rows = connection.exec_driver_sql(union.sql(dialect=self.adapter.dialect)).all()
        return {refs[int(position)]: _as_utc(newest) for position, newest in rows}

    def close(self) -> None:
        self.engine.dispose()


def needs_columns(rules: CheckRules) -> bool:
    """Whether a cycle must read the tables' columns: some rule turns a schema check on by name (the
    sidecar runs schema only then), or names a freshness ``timestamp_column`` (looked up among them)."""
    return any(
        rule.schema_.enabled is True or rule.freshness.timestamp_column is not None
        for rule in rules.settings.rules
    )


def _as_utc(value: object) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return ensure_utc(value)
    if isinstance(value, date):
        return ensure_utc(datetime.combine(value, time.min))
    raise WarehouseProblem(f"a timestamp_column holds {type(value).__name__} values, not dates or timestamps")
