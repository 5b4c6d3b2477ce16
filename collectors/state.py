"""A collector's memory between passes (``collector_state``), read once and written back in bulk."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from collectors.tables import collector_state
from observer.store.upsert import upsert


class CollectorState:
    """Values by ``(kind, key)`` for one collector; only changed values are written back."""

    def __init__(self, collector: str, values: dict[tuple[str, str], Any] | None = None) -> None:
        self.collector = collector
        self._values = values or {}
        self._changed: set[tuple[str, str]] = set()

    @classmethod
    def load(cls, connection: Connection, collector: str) -> CollectorState:
        rows = connection.execute(
            select(collector_state.c.kind, collector_state.c.key, collector_state.c.value).where(
                collector_state.c.collector == collector
            )
        )
        return cls(collector, {(kind, key): value for kind, key, value in rows})

    def get(self, kind: str, key: str) -> Any:
        return self._values.get((kind, key))

    def of_kind(self, kind: str) -> dict[str, Any]:
        return {key: value for (each, key), value in self._values.items() if each == kind}

    def set(self, kind: str, key: str, value: Any) -> None:
        if self._values.get((kind, key)) != value:
            self._values[(kind, key)] = value
            self._changed.add((kind, key))

    def save(self, connection: Connection, now: datetime) -> None:
        rows = [
            {
                "collector": self.collector,
                "kind": kind,
                "key": key,
                "value": self._values[(kind, key)],
                "updated_at": now,
            }
            for kind, key in sorted(self._changed)
        ]
        upsert(
            connection,
            collector_state,
            rows,
            keys=["collector", "kind", "key"],
            update=["value", "updated_at"],
        )
        self._changed.clear()
