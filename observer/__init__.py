"""Observer: data observability and lineage monitor."""

__version__ = "0.1.0"
