"""Reading the freshness signals of every watched table of a warehouse in a fixed number of queries.

PostgreSQL keeps per-table write counters in ``pg_stat_user_tables`` (rows inserted, updated,
deleted): one query returns them for every table, and a counter that moved between two cycles
means the table was written. A table with a configured ``timestamp_column`` is read as
``max(column)`` instead, all such tables in one ``UNION ALL`` query, which gives the real write time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from fnmatch import fnmatchcase
from typing import Protocol

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL, make_url

from observer.catalog.identity import DatasetRef
from observer.checks.rules import CheckRules
from observer.clock import ensure_utc
from observer.config.settings import WarehouseSettings


@dataclass(frozen=True)
class TableSignal:
    """What one read of a table's statistics says.

    ``write_counter`` only ever grows while the table is written (None: not available);
    ``last_modified`` is the newest value of the table's timestamp column, when one is configured.
    """

    dataset: DatasetRef
    write_counter: int | None = None
    row_estimate: int | None = None
    last_modified: datetime | None = None


class SignalSource(Protocol):
    name: str

    def read(self, rules: CheckRules) -> list[TableSignal]:
        """Signals of every table the rules watch; raises on any warehouse error."""
        ...

    def close(self) -> None: ...


def postgres_url(url: str) -> URL:
    """Accept ``postgres://`` and ``postgresql://`` URLs and use the psycopg 3 driver."""
    parsed = make_url(
        url.replace("postgres://", "postgresql://", 1) if url.startswith("postgres://") else url
    )
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def postgres_namespace(url: URL) -> str:
    """The OpenLineage namespace of a PostgreSQL server: ``postgres://host:port``."""
    return f"postgres://{url.host or 'localhost'}:{url.port or 5432}"


_STATS = text(
    """
    SELECT current_database(), schemaname, relname, n_tup_ins + n_tup_upd + n_tup_del, n_live_tup
    FROM pg_stat_user_tables
    """
)


class PostgresSignals:
    """One PostgreSQL database: table write counters, plus ``max(timestamp_column)`` where configured."""

    def __init__(
        self,
        settings: WarehouseSettings,
        *,
        query_timeout: timedelta,
        on_query: Callable[[], None] = lambda: None,
    ) -> None:
        self.name = settings.name
        self.url = postgres_url(settings.url.get_secret_value())
        self.namespace = settings.namespace or postgres_namespace(self.url)
        self.include = list(settings.include)
        self.exclude = list(settings.exclude)
        self._on_query = on_query
        query_timeout = min(query_timeout, settings.statement_timeout)
        timeout_ms = max(int(query_timeout.total_seconds() * 1000), 1)
        self.engine: Engine = create_engine(
            self.url,
            pool_size=1,
            max_overflow=0,
            pool_pre_ping=True,
            connect_args={
                "connect_timeout": max(int(query_timeout.total_seconds()), 1),
                "options": f"-c statement_timeout={timeout_ms}",
                "application_name": "observer-sidecar",
            },
        )

    def read(self, rules: CheckRules) -> list[TableSignal]:
        with self.engine.connect() as connection:
            self._on_query()
            rows = connection.execute(_STATS).all()
            signals: dict[DatasetRef, TableSignal] = {}
            located: dict[DatasetRef, tuple[str, str]] = {}
            for database, schema, table, counter, live in rows:
                if not self._included(f"{schema}.{table}"):
                    continue
                ref = DatasetRef(self.namespace, f"{database}.{schema}.{table}")
                if rules.watches(ref):
                    signals[ref] = TableSignal(ref, write_counter=int(counter), row_estimate=int(live))
                    located[ref] = (schema, table)
            stamped = {
                ref: column
                for ref in signals
                if (column := rules.for_dataset(ref).freshness_column()) is not None
            }
            if stamped:
                self._on_query()
                quote = self.engine.dialect.identifier_preparer.quote
                parts = [
                    f"SELECT {index} AS position, max({quote(column)}) AS newest "
                    f"FROM {quote(located[ref][0])}.{quote(located[ref][1])}"
                    for index, (ref, column) in enumerate(stamped.items())
                ]
                refs = list(stamped)
                for position, newest in connection.execute(text(" UNION ALL ".join(parts))):
                    ref = refs[position]
                    signals[ref] = TableSignal(
                        ref, row_estimate=signals[ref].row_estimate, last_modified=_as_utc(newest)
                    )
            connection.rollback()
        return list(signals.values())

    def _included(self, table: str) -> bool:
        return any(fnmatchcase(table, glob) for glob in self.include) and not any(
            fnmatchcase(table, glob) for glob in self.exclude
        )

    def close(self) -> None:
        self.engine.dispose()


def _as_utc(value: object) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return ensure_utc(value)
    if isinstance(value, date):
        return ensure_utc(datetime.combine(value, time.min))
    raise TypeError(f"timestamp column holds {type(value).__name__}, not a date or timestamp")


def build_source(
    settings: WarehouseSettings, *, query_timeout: timedelta, on_query: Callable[[], None]
) -> SignalSource:
    """The signal reader for a warehouse URL (PostgreSQL for now; others come with the collectors)."""
    backend = postgres_url(settings.url.get_secret_value()).get_backend_name()
    if backend == "postgresql":
        return PostgresSignals(settings, query_timeout=query_timeout, on_query=on_query)
    raise ValueError(f"sidecar warehouse {settings.name!r}: {backend} is not supported yet (postgresql is)")
