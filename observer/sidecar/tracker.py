"""From successive reads of table statistics to the history of observed updates.

The rules are the collectors' (``collectors/warehouse/collect.py``), per table, first that applies:

* a configured ``timestamp_column``: a newer ``max(column)`` is a write at that exact time;
* a catalog modification time (Snowflake ``LAST_ALTERED``, BigQuery): a newer one is a write then;
* cumulative write counters (PostgreSQL ``n_tup_ins + n_tup_upd + n_tup_del``): growth since the
  previous read is a write observed at this read (its time known to within one interval). A counter
  that went down was reset (statistics reset, table re-created): its value is the growth since;
* otherwise (DuckDB) a changed row count or size is a write observed at this read.

The first read of a table is its baseline: the table was not written since at least then as far as
the sidecar knows, which lets an SLA fire on a table that never moves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from collectors.warehouse.records import counter_deltas
from observer.catalog.identity import DatasetRef
from observer.catalog.records import DatasetUpdate
from observer.sidecar.signals import TableSignal

SOURCE = "sidecar"
HISTORY_LIMIT = 600  # the freshness detector learns from at most this many updates
HISTORY_SPAN = timedelta(weeks=5)  # ... over at most this span


@dataclass(frozen=True)
class Watermark:
    """What the previous read of a table said. ``last_modified``: the newest write time read (the
    timestamp column's, or the catalog's)."""

    write_counter: int | None
    last_modified: datetime | None
    watched_since: datetime
    row_count: int | None = None
    size_bytes: int | None = None


@dataclass(frozen=True)
class Observation:
    """What one cycle learned: new updates, and the watermarks to save."""

    updates: list[DatasetUpdate]
    changed: dict[DatasetRef, Watermark]


class UpdateTracker:
    def __init__(self, history_limit: int = HISTORY_LIMIT, history_span: timedelta = HISTORY_SPAN) -> None:
        self.history_limit = history_limit
        self.history_span = history_span
        self.watermarks: dict[DatasetRef, Watermark] = {}
        self.histories: dict[DatasetRef, list[datetime]] = {}

    def restore(
        self, watermarks: Mapping[DatasetRef, Watermark], histories: Mapping[DatasetRef, Iterable[datetime]]
    ) -> None:
        self.watermarks.update(watermarks)
        for ref, moments in histories.items():
            self.histories[ref] = sorted(set(moments))[-self.history_limit :]

    def observe(self, signals: Sequence[TableSignal], now: datetime) -> Observation:
        updates: list[DatasetUpdate] = []
        changed: dict[DatasetRef, Watermark] = {}
        for signal in signals:
            previous = self.watermarks.get(signal.dataset)
            written_at = _write_time(previous, signal, now)
            modified = _modified(signal)
            current = Watermark(
                write_counter=signal.write_counter,
                last_modified=modified or (previous.last_modified if previous else None),
                watched_since=previous.watched_since if previous else now,
                row_count=signal.table.row_count,
                size_bytes=signal.table.size_bytes,
            )
            if current != previous:
                changed[signal.dataset] = current
                self.watermarks[signal.dataset] = current
            if written_at is not None and self._append(signal.dataset, written_at):
                updates.append(DatasetUpdate(signal.dataset, written_at, SOURCE))
        return Observation(updates, changed)

    def history(self, ref: DatasetRef) -> list[datetime]:
        return self.histories.get(ref, [])

    def forget(self, keep: set[DatasetRef]) -> None:
        """Drop tables that are no longer watched (dropped, or the rules changed)."""
        for ref in set(self.watermarks) - keep:
            del self.watermarks[ref]
            self.histories.pop(ref, None)

    def _append(self, ref: DatasetRef, moment: datetime) -> bool:
        history = self.histories.setdefault(ref, [])
        if history and moment <= history[-1]:
            return False
        history.append(moment)
        cutoff = moment - self.history_span
        drop = next((i for i, value in enumerate(history) if value >= cutoff), len(history))
        excess = max(drop, len(history) - self.history_limit)
        if excess:
            del history[:excess]
        return True


def _modified(signal: TableSignal) -> datetime | None:
    """The write time the table itself gives: its timestamp column's newest value, else the catalog's."""
    return signal.newest if signal.newest is not None else signal.table.last_modified


def _write_time(previous: Watermark | None, signal: TableSignal, now: datetime) -> datetime | None:
    modified = _modified(signal)
    if modified is not None:
        newer = previous is None or previous.last_modified is None or modified > previous.last_modified
        return min(modified, now) if newer else None
    if previous is None:
        return None
    if signal.tracks_writes:
        current, before = signal.write_counter, previous.write_counter
        if current is None or before is None:
            return None
        deltas = counter_deltas({"writes": current}, {"writes": before})
        return now if deltas and deltas["writes"] > 0 else None
    table = signal.table
    changed = table.row_count != previous.row_count or table.size_bytes != previous.size_bytes
    return now if changed else None
