"""The catalog: what Observer knows about datasets, their schemas, metrics, updates and jobs.

Every source (OpenLineage projection, warehouse collectors, dbt) writes here through
:mod:`observer.catalog.service`, keyed by the shared identity ``(namespace, name)``.
"""

from observer.catalog.identity import DatasetRef, JobRef

__all__ = ["DatasetRef", "JobRef"]
