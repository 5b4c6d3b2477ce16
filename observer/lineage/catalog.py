"""Where table columns come from: the caller's schema mapping, a catalog (the store), and the script.

Lookups are forgiving in the ways real catalogs need: names match exactly first, then ignoring case,
and a reference may match a longer or shorter schema key by its trailing name parts when that is
unambiguous (``orders`` ↔ ``db.sales.orders``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol, runtime_checkable

SchemaMapping = Mapping[str, Mapping[str, str | None]]


@runtime_checkable
class Catalog(Protocol):
    """Supplies table columns, e.g. the store's latest schema versions."""

    def table_columns(self, table: str) -> Sequence[str] | None:
        """Columns of the fully qualified table ``table`` (dotted), in table order, or None if unknown."""
        ...


class MappingCatalog:
    """A :class:`Catalog` over a ``{"db.schema.table": {"column": "type"}}`` mapping."""

    def __init__(self, schema: SchemaMapping) -> None:
        self._index = SchemaIndex(schema)

    def table_columns(self, table: str) -> Sequence[str] | None:
        found = self._index.find(table.split("."))
        return found.names if found else None


class TableColumns:
    """The ordered columns of one table, looked up exactly and then case-insensitively."""

    __slots__ = ("_exact", "_folded", "names")

    def __init__(self, names: Iterable[str]) -> None:
        self.names = list(dict.fromkeys(names))
        self._exact = set(self.names)
        folded: dict[str, str | None] = {}
        for name in self.names:
            key = name.casefold()
            folded[key] = None if key in folded and folded[key] != name else name
        self._folded = folded

    def find(self, name: str) -> str | None:
        if name in self._exact:
            return name
        return self._folded.get(name.casefold())

    @property
    def top_level(self) -> list[str]:
        """Columns without struct sub-field entries such as ``widget.asset.id``."""
        names = self._exact
        return [n for n in self.names if "." not in n or n.split(".", 1)[0] not in names]


class SchemaIndex:
    """A schema mapping indexed for exact, case-insensitive and trailing-parts lookups."""

    def __init__(self, schema: SchemaMapping | None) -> None:
        self._raw: dict[tuple[str, ...], Mapping[str, str | None] | None] = {}
        self._tables: dict[tuple[str, ...], TableColumns] = {}
        self._by_last: dict[str, list[tuple[str, ...]]] = {}
        for name, columns in (schema or {}).items():
            key = tuple(p.casefold() for p in str(name).split("."))
            self._raw[key] = columns
            self._by_last.setdefault(key[-1], []).append(key)

    def __bool__(self) -> bool:
        return bool(self._raw)

    def _columns(self, key: tuple[str, ...]) -> TableColumns:
        """Built on first use: a schema may describe far more tables than one query reads."""
        found = self._tables.get(key)
        if found is None:
            found = TableColumns(str(c) for c in (self._raw[key] or {}))
            self._tables[key] = found
        return found

    def find(self, *candidates: Sequence[str]) -> TableColumns | None:
        """Columns for the first candidate name (as parts) that matches unambiguously."""
        for parts in candidates:
            key = tuple(p.casefold() for p in parts)
            if key in self._raw:
                return self._columns(key)
        for parts in candidates:
            key = tuple(p.casefold() for p in parts)
            matches = [
                other
                for other in self._by_last.get(key[-1], ())
                if other[-len(key) :] == key or key[-len(other) :] == other
            ]
            if len(matches) == 1:
                return self._columns(matches[0])
        return None


class ColumnSource:
    """One analysis's view of table columns: script-defined tables, then the schema, then the catalog."""

    def __init__(self, schema: SchemaMapping | None, catalog: Catalog | None) -> None:
        self._schema = SchemaIndex(schema)
        self._catalog = catalog
        self._catalog_cache: dict[str, TableColumns | None] = {}
        self._session: dict[tuple[str, ...], TableColumns | None] = {}

    def lookup(self, qualified: Sequence[str], written: Sequence[str]) -> TableColumns | None:
        """Columns of a table known by its qualified parts and the parts written in the SQL."""
        for parts in (qualified, written):
            key = tuple(p.casefold() for p in parts)
            if key in self._session:
                return self._session[key]
        found = self._schema.find(qualified, written)
        if found is not None or self._catalog is None:
            return found
        name = ".".join(qualified)
        if name not in self._catalog_cache:
            try:
                columns = self._catalog.table_columns(name)
            except Exception:  # a failing catalog must not break lineage
                columns = None
            self._catalog_cache[name] = TableColumns(columns) if columns else None
        return self._catalog_cache[name]

    def define(self, qualified: Sequence[str], columns: Iterable[str] | None) -> None:
        """A table created (or replaced) earlier in the same script."""
        self._session[tuple(p.casefold() for p in qualified)] = (
            TableColumns(columns) if columns is not None else None
        )

    def drop(self, qualified: Sequence[str]) -> None:
        self._session.pop(tuple(p.casefold() for p in qualified), None)
