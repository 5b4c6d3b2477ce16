"""Collectors turn the outside world into domain records: warehouse snapshots, query history and
dbt artifacts become schema versions, metric points, dataset updates, assertions and lineage."""
