"""SQL helpers shared by the incident modules."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, and_, or_

from observer.catalog.identity import DatasetRef

CHUNK = 400
T = TypeVar("T")


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def datasets_in(namespace: Any, name: Any, refs: Iterable[DatasetRef]) -> ColumnElement[bool]:
    """``(namespace, name)`` is one of ``refs``, written so that SQLite uses an index on the pair
    (a row-value ``IN`` list makes it scan the table)."""
    names: dict[str, list[str]] = defaultdict(list)
    for ref in refs:
        names[ref.namespace].append(ref.name)
    return or_(*(and_(namespace == key, name.in_(values)) for key, values in sorted(names.items())))
