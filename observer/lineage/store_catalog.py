"""A :class:`~observer.lineage.catalog.Catalog` over the store: each dataset's latest schema version.

SQL names a table the way the query was written (``orders``, ``public.orders``) while the store
knows datasets by their full OpenLineage name (``shop.public.orders``), in whatever case the
producer used. A table is therefore found by its name or by a name ending in ``.<its name>``,
ignoring case, through the dataset's own name or one of its symlinked aliases, and only when that
match is unambiguous.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select

from observer.catalog.tables import dataset_aliases, datasets, schema_versions
from observer.store import Store


class StoreCatalog:
    """Columns of tables as the store last saw them; ``namespace`` (if given) limits the search."""

    def __init__(self, store: Store, namespace: str | None = None) -> None:
        self._store = store
        self._namespace = namespace
        self._found: dict[str, Sequence[str] | None] = {}

    def table_columns(self, table: str) -> Sequence[str] | None:
        wanted = table.lower()
        if wanted not in self._found:
            self._found[wanted] = self._lookup(wanted)
        return self._found[wanted]

    def _lookup(self, wanted: str) -> Sequence[str] | None:
        with self._store.engine.connect() as connection:
            rows = [
                *connection.execute(self._query(datasets.c.name, datasets.c.namespace, wanted)),
                *connection.execute(
                    self._query(dataset_aliases.c.name, dataset_aliases.c.namespace, wanted).join(
                        dataset_aliases, dataset_aliases.c.dataset_id == datasets.c.id
                    )
                ),
            ]
        exact = {dataset_id: fields for dataset_id, name, fields in rows if name.lower() == wanted}
        candidates = exact or {dataset_id: fields for dataset_id, _, fields in rows}
        if len(candidates) != 1:
            return None
        [fields] = candidates.values()
        names = [field.get("name") for field in fields or [] if isinstance(field, dict)]
        return [name for name in names if isinstance(name, str)] or None

    def _query(self, name: ColumnElement[Any], namespace: ColumnElement[Any], wanted: str) -> Select[Any]:
        escaped = wanted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = (
            select(datasets.c.id, name, schema_versions.c.fields)
            .select_from(datasets)
            .join(schema_versions, schema_versions.c.id == datasets.c.current_schema_version_id)
            .where(or_(func.lower(name) == wanted, func.lower(name).like(f"%.{escaped}", escape="\\")))
        )
        return query.where(namespace == self._namespace) if self._namespace is not None else query
