"""Shared pieces of the collector tests: a graph writer that records, warehouse settings, SQL runners."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import sqlglot
from sqlalchemy import Engine, create_engine, text
from sqlglot import exp

from observer.config.settings import WarehouseSettings
from observer.graph.model import LineageBatch


class RecordingGraph:
    """A :class:`observer.graph.model.GraphWriter` that keeps what it is given."""

    def __init__(self) -> None:
        self.batches: list[LineageBatch] = []

    def record(self, batch: LineageBatch) -> None:
        self.batches.append(batch)

    def column_edges(self) -> set[tuple[str, str, str, str]]:
        """``(source table, source column, target table, target column)`` of every column edge."""
        return {
            (edge.source.dataset.name, edge.source.field, edge.target.dataset.name, edge.target.field)
            for batch in self.batches
            for edge in batch.column_edges
        }

    def dataset_edges(self) -> set[tuple[str, str, str]]:
        """``(job name, dataset name, direction)`` of every dataset edge."""
        return {
            (edge.job.name, edge.dataset.name, edge.direction)
            for batch in self.batches
            for edge in batch.dataset_edges
        }


def warehouse(name: str, url: str, **options: Any) -> WarehouseSettings:
    return WarehouseSettings.model_validate({"name": name, "url": url, **options})


@contextmanager
def database(url: str) -> Iterator[Engine]:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        yield engine
    finally:
        engine.dispose()


def run(engine: Engine, *statements: str) -> None:
    """Run statements in one session, then make PostgreSQL publish the session's table statistics."""
    with engine.connect() as connection:
        for statement in statements:
            connection.execute(text(statement))
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_stat_force_next_flush()"))


def on_duckdb(sql: str, dialect: str, views: Mapping[str, str], connection: Any) -> list[tuple[Any, ...]]:
    """Run ``sql`` written for ``dialect`` on DuckDB, with the catalog views it reads (matched by their
    last two name parts, e.g. ``information_schema.tables``) replaced by fixture tables."""
    tree = sqlglot.parse_one(sql, read=dialect)

    def swap(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Table):
            key = ".".join(part.name.lower() for part in node.parts[-2:])
            if key in views or node.name.lower() in views:
                replacement = exp.to_table(views.get(key) or views[node.name.lower()])
                if node.alias:
                    replacement.set("alias", exp.TableAlias(this=exp.to_identifier(node.alias)))
                return replacement
        if isinstance(node, exp.DataType) and any(e.name.upper() == "MAX" for e in node.expressions):
            return exp.DataType(this=node.this)
        return node

    return connection.execute(tree.transform(swap).sql("duckdb")).fetchall()
