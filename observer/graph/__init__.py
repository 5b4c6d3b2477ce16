"""The lineage graph: datasets, columns and jobs, with directional and impact queries."""
