"""The adapter for a warehouse URL."""

from __future__ import annotations

from collectors.warehouse.base import Adapter
from collectors.warehouse.bigquery import BigQueryAdapter
from collectors.warehouse.duckdb import DuckDBAdapter
from collectors.warehouse.naming import dialect_of
from collectors.warehouse.postgres import PostgresAdapter
from collectors.warehouse.redshift import RedshiftAdapter
from collectors.warehouse.snowflake import SnowflakeAdapter
from observer.config.settings import WarehouseSettings

ADAPTERS: dict[str, type[Adapter]] = {
    "postgres": PostgresAdapter,
    "duckdb": DuckDBAdapter,
    "snowflake": SnowflakeAdapter,
    "bigquery": BigQueryAdapter,
    "redshift": RedshiftAdapter,
}


def adapter_for(settings: WarehouseSettings) -> Adapter:
    """Raises :class:`collectors.warehouse.naming.UnsupportedWarehouse` for other databases."""
    return ADAPTERS[dialect_of(settings.url.get_secret_value())](settings)
