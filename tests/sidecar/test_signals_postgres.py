"""What one sidecar read costs the real PostgreSQL: the statements sent per cycle do not grow with
the number of tables, and the columns query is sent only when a rule needs columns."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, event, text

from observer.checks.rules import CheckRules
from observer.config.settings import ChecksSettings, WarehouseSettings
from observer.sidecar.signals import SignalSource

FRESHNESS = {"dataset": "*", "freshness": {"max_age": "1h"}}
VOLUME = {"dataset": "*", "volume": {"enabled": True}}
SCHEMA = {"dataset": "*", "schema": {"enabled": True}}
STAMPED = {"dataset": "*.public.orders", "freshness": {"timestamp_column": "created_at"}}


@pytest.fixture
def warehouse(postgres_url: str) -> Iterator[Engine]:
    engine = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("CREATE TABLE public.orders (id integer, created_at timestamptz)"))
        connection.execute(text("INSERT INTO public.orders VALUES (1, '2026-03-02 07:30:00+00')"))
    yield engine
    engine.dispose()


def add_tables(engine: Engine, count: int) -> None:
    with engine.connect() as connection:
        for index in range(count):
            connection.execute(text(f"CREATE TABLE public.t{index:03d} (id integer, label text)"))


def statements_per_read(postgres_url: str, rules: list[dict[str, Any]]) -> tuple[list[str], SignalSource]:
    """The statements one read sends (a second read, so that connecting is not counted), and the source."""
    settings = WarehouseSettings.model_validate({"name": "shop", "url": postgres_url})
    source = SignalSource(settings, query_timeout=timedelta(seconds=10))
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    check_rules = CheckRules(ChecksSettings.model_validate({"rules": rules}))
    source.read(check_rules)
    event.listen(source.engine, "before_cursor_execute", record)
    source.read(check_rules)
    event.remove(source.engine, "before_cursor_execute", record)
    return sent, source


@pytest.mark.postgres
@pytest.mark.parametrize("rules", [[FRESHNESS], [FRESHNESS, VOLUME]], ids=["freshness", "volume"])
def test_freshness_and_volume_cost_two_catalog_statements_whatever_the_number_of_tables(
    postgres_url: str, warehouse: Engine, rules: list[dict[str, Any]]
) -> None:
    few, source = statements_per_read(postgres_url, rules)
    source.close()
    add_tables(warehouse, 60)
    many, source = statements_per_read(postgres_url, rules)
    signals = source.read(CheckRules(ChecksSettings.model_validate({"rules": rules})))
    source.close()
    assert len(few) == len(many) == 2
    assert not any("pg_attribute" in statement for statement in many)
    assert len(signals) == 61
    assert all(signal.table.row_count is not None for signal in signals)


@pytest.mark.postgres
def test_schema_checks_add_the_columns_statement_and_the_tables_get_their_columns(
    postgres_url: str, warehouse: Engine
) -> None:
    few, source = statements_per_read(postgres_url, [FRESHNESS, SCHEMA])
    source.close()
    add_tables(warehouse, 60)
    many, source = statements_per_read(postgres_url, [FRESHNESS, SCHEMA])
    signals = source.read(CheckRules(ChecksSettings.model_validate({"rules": [FRESHNESS, SCHEMA]})))
    source.close()
    assert len(few) == len(many) == 3
    assert sum("pg_attribute" in statement for statement in many) == 1
    columns = {
        signal.dataset.name.rsplit(".", 1)[-1]: [c.name for c in signal.table.columns] for signal in signals
    }
    assert columns["orders"] == ["id", "created_at"]
    assert columns["t059"] == ["id", "label"]


@pytest.mark.postgres
def test_a_timestamp_column_reads_the_columns_and_one_max_statement(
    postgres_url: str, warehouse: Engine
) -> None:
    add_tables(warehouse, 60)
    sent, source = statements_per_read(postgres_url, [FRESHNESS, STAMPED])
    signals = source.read(CheckRules(ChecksSettings.model_validate({"rules": [FRESHNESS, STAMPED]})))
    source.close()
    assert len(sent) == 4  # identity, tables, columns (to find created_at), max(created_at)
    orders = next(signal for signal in signals if signal.dataset.name.endswith(".orders"))
    assert orders.newest == datetime(2026, 3, 2, 7, 30, tzinfo=UTC)
