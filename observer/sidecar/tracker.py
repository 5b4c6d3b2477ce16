"""From successive reads of table statistics to the history of observed updates.

A write counter that grew since the previous read is a write observed at this read (the time is
known to within one interval); a newer ``max(timestamp_column)`` is a write at that exact time. A
counter that went down (statistics reset, table re-created) starts a new baseline without
inventing a write. The first read of a table is its baseline: the table was not written since at
least then as far as the sidecar knows, which lets an SLA fire on a table that never moves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from observer.catalog.identity import DatasetRef
from observer.catalog.records import DatasetUpdate
from observer.sidecar.signals import TableSignal

SOURCE = "sidecar"
HISTORY_LIMIT = 600  # the freshness detector learns from at most this many updates
HISTORY_SPAN = timedelta(weeks=5)  # ... over at most this span


@dataclass(frozen=True)
class Watermark:
    write_counter: int | None
    last_modified: datetime | None
    watched_since: datetime


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
            current = Watermark(
                write_counter=signal.write_counter,
                last_modified=signal.last_modified or (previous.last_modified if previous else None),
                watched_since=previous.watched_since if previous else now,
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


def _write_time(previous: Watermark | None, signal: TableSignal, now: datetime) -> datetime | None:
    if signal.last_modified is not None:
        newer = (
            previous is None
            or previous.last_modified is None
            or signal.last_modified > previous.last_modified
        )
        return min(signal.last_modified, now) if newer else None
    if previous is None or previous.write_counter is None or signal.write_counter is None:
        return None
    return now if signal.write_counter > previous.write_counter else None
