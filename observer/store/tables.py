"""Imports every domain's tables so that ``metadata`` describes the whole store."""

from collectors import tables as collector_tables  # noqa: F401
from observer.alerts import tables as alert_tables
from observer.catalog import tables as catalog_tables
from observer.graph import tables as graph_tables  # noqa: F401
from observer.incidents import tables as incident_tables
from observer.ingest import tables as ingest_tables  # noqa: F401
from observer.sidecar import tables as sidecar_tables
from observer.store import core_tables as core_tables
from observer.store.metadata import metadata

__all__ = ["alert_tables", "catalog_tables", "core_tables", "incident_tables", "metadata", "sidecar_tables"]
