"""The trouble the demo injects in its last days, as it happens in real pipelines.

* **Dropped column.** The shop's developers move product categories into a table of their own and
  drop ``products.category``. The products loader lands what it finds, so ``raw.products`` loses the
  column; the model selecting it fails, and everything built from it is skipped.
* **Partial load.** The orders loader loses its connection to the shop database part-way: it has
  committed a fifth of yesterday's orders and then fails. The staging model builds on what landed,
  so the volume drop propagates; the volume test on staging fails, so the marts are skipped and go
  stale.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from observer.demo.pipeline import Loader


@dataclass(frozen=True)
class DroppedColumn:
    source_table: str
    column: str
    from_day: int

    def describe(self) -> str:
        return f"the shop database drops {self.source_table}.{self.column}"


@dataclass(frozen=True)
class PartialLoad:
    source_table: str
    day: int
    fraction: float

    def describe(self) -> str:
        return f"the {self.source_table} load stops after {self.fraction:.0%} of the rows"


@dataclass(frozen=True)
class LoadOutcome:
    """What a loader lands on one day, and the error it fails with (None: it completes)."""

    rows: pd.DataFrame
    error: str | None = None


@dataclass(frozen=True)
class Trouble:
    dropped_column: DroppedColumn | None = None
    partial_load: PartialLoad | None = None

    @classmethod
    def in_last_days(cls, days: int) -> Trouble:
        """The column goes on the second-to-last day (and stays gone); the partial load is on the last."""
        return cls(
            dropped_column=DroppedColumn("products", "category", from_day=days - 2),
            partial_load=PartialLoad("orders", day=days - 1, fraction=0.2),
        )

    @classmethod
    def none(cls) -> Trouble:
        return cls()

    def days(self) -> dict[int, str]:
        """What goes wrong on which day (for the progress output)."""
        found: dict[int, list[str]] = {}
        if self.dropped_column is not None:
            found.setdefault(self.dropped_column.from_day, []).append(self.dropped_column.describe())
        if self.partial_load is not None:
            found.setdefault(self.partial_load.day, []).append(self.partial_load.describe())
        return {day: "; ".join(items) for day, items in found.items()}

    def load(self, loader: Loader, day: int, extract: pd.DataFrame) -> LoadOutcome:
        """The rows ``loader`` lands on ``day`` out of the full ``extract``, and how the load ends."""
        rows = extract
        dropped = self.dropped_column
        if dropped is not None and loader.source_table == dropped.source_table and day >= dropped.from_day:
            rows = rows.drop(columns=[dropped.column])
        partial = self.partial_load
        if partial is not None and loader.source_table == partial.source_table and day == partial.day:
            landed = int(len(rows) * partial.fraction)
            error = (
                "psycopg.OperationalError: consuming input failed: server closed the connection "
                f"unexpectedly (after {landed:,} of {len(rows):,} rows of {loader.source.name}; "
                "the rows copied so far were committed)"
            )
            return LoadOutcome(rows.iloc[:landed], error)
        return LoadOutcome(rows)
