"""What every warehouse adapter provides, and the records a collection pass is made of.

An adapter knows its engine's catalog: it reads every table, column and table statistic in a fixed
number of queries (independent of the number of tables), reads the query log when asked, and turns
driver errors into messages that say what failed and, for a missing privilege, which grant is missing.
Everything dialect-neutral (profiles, exact counts, writing to the store) lives outside the adapters.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL

from collectors.warehouse.naming import catalog_identifier, namespace_for, parse_url
from observer.config.settings import WarehouseSettings

if TYPE_CHECKING:
    # sqlglot (~8 MiB resident) is imported where SQL is built, not by every user of the adapters
    from sqlglot import exp


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    type: str | None
    nullable: bool | None = None
    description: str | None = None


@dataclass(frozen=True)
class TableInfo:
    """One table or view as the catalog describes it right now."""

    schema: str
    name: str
    kind: str = "TABLE"
    columns: tuple[ColumnInfo, ...] = ()
    description: str | None = None
    row_count: int | None = None
    size_bytes: int | None = None
    last_modified: datetime | None = None
    write_counters: Mapping[str, int] = field(default_factory=dict)
    """Cumulative row counters since the engine's statistics were reset (``inserted``, ``updated``,
    ``deleted``); their growth between two passes is a write."""

    @property
    def key(self) -> str:
        """``schema.table``, what include/exclude globs and profiles refer to."""
        return f"{self.schema}.{self.name}"

    @property
    def has_data(self) -> bool:
        return self.kind not in ("VIEW",)


@dataclass
class Snapshot:
    database: str
    default_schema: str | None
    user: str | None
    tables: list[TableInfo]


@dataclass(frozen=True)
class LoggedQuery:
    """A statement from the warehouse's query log."""

    sql: str
    key: str
    """The warehouse's own id for the statement (pg_stat_statements ``queryid``, a query or job id)."""
    runs: int = 1
    cumulative: bool = False
    """``runs`` is a running total (pg_stat_statements ``calls``): new runs are its growth."""
    finished_at: datetime | None = None
    default_database: str | None = None
    default_schema: str | None = None
    user: str | None = None


@dataclass
class QueryLog:
    queries: list[LoggedQuery] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    read_until: datetime | None = None
    """For logs read by time: the end of the window read, where the next pass starts."""


class WarehouseProblem(Exception):
    """A failure worth one clear line: what was being done, what went wrong, and the missing grant."""

    def __init__(self, message: str, *, grant: str | None = None) -> None:
        self.message = message
        self.grant = grant
        super().__init__(f"{message}; missing privilege, run: {grant}" if grant else message)


class Adapter(ABC):
    """One warehouse engine: catalog reads, the query log, session safety and error wording."""

    dialect: ClassVar[str]
    tracks_writes: ClassVar[bool] = False
    """The catalog reveals writes (change counters or last-modified times). Where it does not, a
    write is inferred from a profile's newest ``timestamp_column`` or from a changed row count."""

    def __init__(self, settings: WarehouseSettings) -> None:
        self.settings = settings
        self.url: URL = parse_url(settings.url.get_secret_value())
        self.namespace = settings.namespace or namespace_for(self.url)

    def create_engine(self) -> Engine:
        engine = create_engine(
            self.url,
            pool_size=self.settings.max_connections,
            max_overflow=0,
            **self.engine_options(),
        )
        event.listen(engine, "connect", self._on_connect)
        return engine

    def _on_connect(self, dbapi_connection: Any, _record: Any) -> None:
        statements = self.session_statements()
        if statements:
            cursor = dbapi_connection.cursor()
            for statement in statements:
                cursor.execute(statement)
            cursor.close()
            dbapi_connection.commit()

    def engine_options(self) -> dict[str, Any]:
        """Extra ``create_engine`` options: read-only access and time limits where the driver takes them."""
        return {}

    def session_statements(self) -> list[str]:
        """Statements that make a new connection safe (statement timeout, UTC) where the driver cannot
        take them as connect options."""
        return []

    def timeout_seconds(self) -> int:
        return max(1, int(self.settings.statement_timeout.total_seconds()))

    @abstractmethod
    def snapshot(self, connection: Connection, *, columns: bool = True) -> Snapshot:
        """Every table and view with columns and statistics, in a fixed number of queries.

        ``columns=False`` skips the columns query (tables then have no ``columns``): one catalog
        query fewer for readers that only need table statistics."""

    def query_log(self, connection: Connection, since: datetime | None, now: datetime) -> QueryLog:
        """Write statements that finished after ``since`` (None: the first pass, a short look back), or
        the statements a cumulative log tracks now."""
        return QueryLog(warnings=[f"query history: {self.dialect} keeps no query log Observer can read"])

    def table_expression(self, database: str, table: TableInfo) -> exp.Table:
        """A fully quoted reference to ``table`` for generated SQL."""
        from sqlglot import exp

        return exp.table_(table.name, db=table.schema, catalog=database, quoted=True)

    def canonical(self, part: str) -> str:
        return catalog_identifier(part, self.dialect)

    def describe(self, error: BaseException, doing: str, user: str | None = None) -> WarehouseProblem:
        """``error`` (raised while ``doing``) as one clear message, naming a missing grant."""
        return WarehouseProblem(f"{doing}: {first_line(error)}")


def first_line(error: BaseException) -> str:
    """The driver's own message without SQLAlchemy's statement dump and background links."""
    original = getattr(error, "orig", None) or error
    text = str(original).strip() or type(original).__name__
    return text.splitlines()[0].strip()


def log_window(
    since: datetime | None, now: datetime, *, latency: timedelta, first: timedelta = timedelta(days=1)
) -> tuple[datetime, datetime]:
    """The part of a time-ordered query log to read: from the previous pass's end (the first pass looks
    ``first`` back) to ``now`` minus the log's ``latency``, so late-arriving rows are not skipped."""
    until = now - latency
    start = since if since is not None else until - first
    return min(start, until), until
