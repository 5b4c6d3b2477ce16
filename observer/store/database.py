"""Engine creation and schema upgrades for the store."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import ConnectionPoolEntry

from observer.config.settings import StoreSettings

if TYPE_CHECKING:
    # Alembic (~10 MiB resident) is imported by the methods that migrate: a process that only uses an
    # up-to-date store (the sidecar migrates it in a child process) never loads it.
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).parent / "migrations"


class StoreUnavailable(RuntimeError):
    """The store cannot be reached or used."""


def masked_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def json_text(value: Any) -> str:
    """JSON columns' text: orjson (a fifth of the projection's CPU went to the standard encoder),
    the standard encoder for anything orjson does not take."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY).decode()
    except TypeError:
        return json.dumps(value)


class Store:
    """One database: an engine plus the operations that concern the schema as a whole."""

    def __init__(self, url: str, *, pool_size: int = 5, echo: bool = False) -> None:
        self.url = url
        parsed = make_url(url)
        options: dict[str, Any] = {"echo": echo, "future": True, "json_serializer": json_text}
        if parsed.get_backend_name() == "sqlite":
            database = parsed.database or ""
            if database and database != ":memory:" and not database.startswith("file:"):
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            options["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            options.update(pool_size=pool_size, max_overflow=pool_size * 2, pool_pre_ping=True)
        self.engine: Engine = create_engine(url, **options)
        if parsed.get_backend_name() == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)

    @classmethod
    def from_settings(cls, settings: StoreSettings) -> Store:
        return cls(settings.resolved_url(), pool_size=settings.pool_size, echo=settings.echo)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def __repr__(self) -> str:
        return f"Store({masked_url(self.url)})"

    def _alembic_config(self) -> AlembicConfig:
        from alembic.config import Config as AlembicConfig

        config = AlembicConfig()
        config.set_main_option("script_location", str(MIGRATIONS))
        return config

    def upgrade(self) -> list[str]:
        """Bring the schema to the newest revision of every branch; return the revisions applied."""
        from alembic import command
        from alembic.script import ScriptDirectory

        config = self._alembic_config()
        script = ScriptDirectory.from_config(config)
        try:
            with self.engine.begin() as connection:
                before = _applied(script, connection)
                config.attributes["connection"] = connection
                command.upgrade(config, "heads")
                after = _applied(script, connection)
        except SQLAlchemyError as error:
            raise StoreUnavailable(
                f"cannot upgrade {masked_url(self.url)}: {error.__class__.__name__}: {error}"
            ) from error
        order = [revision.revision for revision in script.walk_revisions("base", "heads")][::-1]
        return [revision for revision in order if revision in after - before]

    def new_revision(self, branch: str, message: str) -> str:
        """Write a migration for the difference between the tables and this (upgraded) database.

        ``branch`` is the domain's Alembic branch label; a new branch starts from ``core``.
        Returns the path of the new script, to be read and edited before it is committed.
        """
        from alembic import command
        from alembic.script import ScriptDirectory

        config = self._alembic_config()
        script = ScriptDirectory.from_config(config)
        labels = {label for revision in script.walk_revisions() for label in revision.branch_labels}
        number = (
            sum(1 for revision in script.walk_revisions() if revision.revision.startswith(f"{branch}_")) + 1
        )
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            created = command.revision(
                config,
                message=message,
                autogenerate=True,
                rev_id=f"{branch}_{number:04d}",
                head=f"{branch}@head" if branch in labels else "core_0001",
                splice=branch not in labels,
                branch_label=None if branch in labels else branch,
                version_path=str(MIGRATIONS / "versions"),
            )
        assert created is not None and not isinstance(created, list)
        return str(created.path)

    def pending_revisions(self) -> list[str]:
        """Heads of the migration scripts that the database has not reached yet."""
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        script = ScriptDirectory.from_config(self._alembic_config())
        with self.engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
        return sorted(set(script.get_heads()) - current)

    def ping(self) -> None:
        """Raise :class:`StoreUnavailable` unless a trivial query answers."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError as error:
            raise StoreUnavailable(
                f"store {masked_url(self.url)} is unreachable: {error.__class__.__name__}"
            ) from error

    def dispose(self) -> None:
        self.engine.dispose()


def _applied(script: ScriptDirectory, connection: Connection) -> set[str]:
    """Every revision the database has, not only the heads Alembic records."""
    from alembic.runtime.migration import MigrationContext

    heads = MigrationContext.configure(connection).get_current_heads()
    return {
        revision.revision for revision in script.revision_map.iterate_revisions(heads, "base") if revision
    }


def _sqlite_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
