"""Warehouse collectors: a fixed handful of catalog queries per warehouse, then profiles and the query
log, written to the catalog and the lineage graph (see docs/collectors.md)."""
