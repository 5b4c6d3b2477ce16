"""dbt artifacts (manifest, catalog, run_results, sources) as datasets, lineage, assertions and
freshness."""
