"""The demo's warehouse: a small coffee shop in DuckDB, and the shop's own database its loaders read.

The shop database (:class:`ShopSource`) is generated, deterministic for a seed: customers who keep
signing up, a product catalogue, and each day's orders and order lines with a weekly rhythm (busy
Fridays, quiet Sundays), slow growth and a little noise. The warehouse file holds three schemas,
``raw`` (what the loaders land), ``staging`` and ``marts`` (what the SQL jobs of
:mod:`observer.demo.pipeline` build).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from observer.catalog.identity import DatasetRef

WAREHOUSE_FILE = "shop.duckdb"
CATALOG = "shop"
"""DuckDB names a file's catalog after the file: every table is ``shop.<schema>.<table>``."""
NAMESPACE = "duckdb://shop.duckdb"
"""The OpenLineage namespace of the warehouse, shared by the job events and the collector."""
SOURCE_NAMESPACE = "postgres://shop-db.internal:5432"
SOURCE_DATABASE = "shop"
SCHEMAS = ("raw", "staging", "marts")

CATEGORIES: dict[str, tuple[float, float]] = {
    "Coffee beans": (9.5, 24.0),
    "Tea": (6.0, 18.0),
    "Brewing gear": (18.0, 140.0),
    "Mugs": (8.0, 26.0),
    "Snacks": (2.5, 9.0),
    "Subscriptions": (20.0, 45.0),
    "Gift cards": (15.0, 50.0),
    "Accessories": (4.0, 35.0),
}
COUNTRIES = ("DE", "FR", "NL", "GB", "US", "ES", "IT", "SE", "PL", "BE")
COUNTRY_WEIGHTS = (0.24, 0.14, 0.1, 0.12, 0.16, 0.06, 0.06, 0.04, 0.04, 0.04)
CHANNELS = ("web", "app", "marketplace")
CHANNEL_WEIGHTS = (0.55, 0.35, 0.1)
STATUSES = ("completed", "cancelled", "returned")
STATUS_WEIGHTS = (0.93, 0.05, 0.02)
WEEKDAY_FACTORS = (0.96, 0.94, 0.97, 1.02, 1.12, 0.86, 0.74)
"""Orders relative to the base, Monday to Sunday."""
HOURLY_SHAPE = np.array(
    [1, 1, 1, 1, 1, 2, 3, 5, 7, 8, 8, 8, 9, 8, 7, 7, 7, 8, 9, 10, 10, 8, 5, 3], dtype=float
)
"""When in the day orders are placed (relative weights per UTC hour)."""

_FIRST_NAMES = (
    "Ada",
    "Ben",
    "Chloé",
    "Daan",
    "Elif",
    "Finn",
    "Greta",
    "Hugo",
    "Ines",
    "Jonas",
    "Kai",
    "Lena",
)
_LAST_NAMES = ("Meyer", "Dubois", "de Vries", "Smith", "García", "Rossi", "Nowak", "Berg", "Peeters", "Klein")


def table_ref(table: str) -> DatasetRef:
    """``raw.orders`` → the warehouse dataset ``shop.raw.orders``."""
    return DatasetRef(NAMESPACE, f"{CATALOG}.{table}")


def source_ref(table: str) -> DatasetRef:
    """A table of the shop's own database (``orders`` → ``shop.public.orders``)."""
    return DatasetRef(SOURCE_NAMESPACE, f"{SOURCE_DATABASE}.public.{table}")


@dataclass(frozen=True)
class SourceVolume:
    """How busy the shop is: base orders per day, daily growth, noise and customers."""

    base_orders: int = 700
    growth_per_day: float = 0.002
    noise: float = 0.035
    initial_customers: int = 3000
    signups_per_day: float = 25.0
    products: int = 96


class ShopSource:
    """The shop's operational database on each simulated day (day 0 is ``start``)."""

    def __init__(self, start: date, days: int, *, seed: int = 7, volume: SourceVolume | None = None) -> None:
        self.start = start
        self.days = days
        self.seed = seed
        self.volume = volume or SourceVolume()
        rng = np.random.default_rng([seed, 0])
        self._signups = np.concatenate(
            [[self.volume.initial_customers], rng.poisson(self.volume.signups_per_day, days + 1)]
        ).cumsum()
        self._customers = self._make_customers(rng, int(self._signups[-1]))
        self._products = self._make_products(rng)
        self._orders: dict[int, tuple[pd.DataFrame, pd.DataFrame]] = {}

    def day(self, index: int) -> date:
        return self.start + timedelta(days=index)

    # Tables as the loaders extract them -------------------------------------------------------

    def customers(self, index: int) -> pd.DataFrame:
        """Every customer signed up by the end of the day before day ``index``."""
        known = int(self._signups[max(index, 0)])
        return self._customers.iloc[:known].reset_index(drop=True)

    def products(self) -> pd.DataFrame:
        return self._products

    def orders(self, index: int) -> pd.DataFrame:
        """The orders placed on the day before day ``index`` (what the nightly load picks up)."""
        return self._day_of_orders(index)[0]

    def order_items(self, index: int) -> pd.DataFrame:
        return self._day_of_orders(index)[1]

    def extract(self, table: str, index: int) -> pd.DataFrame:
        extracts = {
            "customers": lambda: self.customers(index),
            "products": self.products,
            "orders": lambda: self.orders(index),
            "order_items": lambda: self.order_items(index),
        }
        return extracts[table]()

    # Generation ---------------------------------------------------------------------------------

    def _make_customers(self, rng: np.random.Generator, count: int) -> pd.DataFrame:
        ids = np.arange(1, count + 1)
        first = rng.choice(_FIRST_NAMES, count)
        last = rng.choice(_LAST_NAMES, count)
        initial = self.volume.initial_customers
        origin = datetime.combine(self.start, time(), UTC)
        signed_up = np.empty(count, dtype="datetime64[s]")
        before = origin - timedelta(days=540)
        signed_up[:initial] = np.datetime64(before.replace(tzinfo=None), "s") + rng.integers(
            0, 540 * 86400, initial
        ).astype("timedelta64[s]")
        # customers(k) holds the first _signups[k]: the ones after _signups[k-1] joined on day k-1.
        joined_day = np.searchsorted(self._signups, ids[initial:], side="left") - 1
        seconds = rng.integers(0, 86400, count - initial)
        signed_up[initial:] = (
            np.datetime64(origin.replace(tzinfo=None), "s")
            + joined_day.astype("timedelta64[D]")
            + seconds.astype("timedelta64[s]")
        )
        return pd.DataFrame(
            {
                "customer_id": ids.astype("int32"),
                "email": [
                    f"{given.lower()}.{family.lower().replace(' ', '')}{i}@example.com"
                    for given, family, i in zip(first, last, ids, strict=True)
                ],
                "full_name": [f"{given} {family}" for given, family in zip(first, last, strict=True)],
                "country": rng.choice(COUNTRIES, count, p=COUNTRY_WEIGHTS),
                "signed_up_at": pd.to_datetime(signed_up).tz_localize("UTC"),
            }
        )

    def _make_products(self, rng: np.random.Generator) -> pd.DataFrame:
        names = list(CATEGORIES)
        count = self.volume.products
        category = [names[i % len(names)] for i in range(count)]
        price = [round(float(rng.uniform(*CATEGORIES[name])), 1) - 0.01 for name in category]
        return pd.DataFrame(
            {
                "product_id": np.arange(1, count + 1, dtype="int32"),
                "name": [f"{name.split()[0]} no. {i + 1}" for i, name in enumerate(category)],
                "category": category,
                "price": np.round(price, 2),
            }
        )

    def order_count(self, index: int) -> int:
        """How many orders the day before day ``index`` had."""
        placed = self.day(index) - timedelta(days=1)
        rng = np.random.default_rng([self.seed, 1, index])
        expected = (
            self.volume.base_orders
            * WEEKDAY_FACTORS[placed.weekday()]
            * (1 + self.volume.growth_per_day * index)
            * rng.normal(1.0, self.volume.noise)
        )
        return max(round(expected), 1)

    def _day_of_orders(self, index: int) -> tuple[pd.DataFrame, pd.DataFrame]:
        if index not in self._orders:
            self._orders = {index: self._make_orders(index)}
        return self._orders[index]

    def _make_orders(self, index: int) -> tuple[pd.DataFrame, pd.DataFrame]:
        placed = self.day(index) - timedelta(days=1)
        rng = np.random.default_rng([self.seed, 2, index])
        count = self.order_count(index)
        customers = int(self._signups[index])
        # Returning customers order more: favour low ids (older customers) a little.
        customer_ids = (customers * rng.power(0.8, count)).astype("int64") + 1
        seconds = _times_of_day(rng, count)
        midnight = np.datetime64(datetime.combine(placed, time()), "s")
        ordered_at = np.sort(midnight + seconds.astype("timedelta64[s]"))
        order_ids = (index + 1) * 100_000 + np.arange(count)
        orders = pd.DataFrame(
            {
                "order_id": order_ids.astype("int64"),
                "customer_id": np.minimum(customer_ids, customers).astype("int32"),
                "ordered_at": pd.to_datetime(ordered_at).tz_localize("UTC"),
                "status": rng.choice(STATUSES, count, p=STATUS_WEIGHTS),
                "channel": rng.choice(CHANNELS, count, p=CHANNEL_WEIGHTS),
            }
        )
        lines = 1 + rng.poisson(1.3, count)
        total = int(lines.sum())
        product_ids = rng.integers(1, self.volume.products + 1, total)
        prices = self._products["price"].to_numpy()[product_ids - 1]
        items = pd.DataFrame(
            {
                "order_id": np.repeat(order_ids, lines).astype("int64"),
                "line_number": np.concatenate([np.arange(1, n + 1) for n in lines]).astype("int32"),
                "product_id": product_ids.astype("int32"),
                "quantity": (1 + rng.poisson(0.35, total)).astype("int32"),
                "unit_price": prices,
                "created_at": np.repeat(orders["ordered_at"].to_numpy(), lines),
            }
        )
        return orders, items


def _times_of_day(rng: np.random.Generator, count: int) -> np.ndarray:
    hours = rng.choice(24, count, p=HOURLY_SHAPE / HOURLY_SHAPE.sum())
    return hours * 3600 + rng.integers(0, 3600, count)


class Warehouse:
    """The DuckDB file. Open it for a day's jobs and close it before a collector reads it: DuckDB lets
    a reader with other settings in only when nothing else in the process holds the file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def url(self) -> str:
        return f"duckdb:///{self.path.resolve().as_posix()}"

    @classmethod
    def create(cls, path: Path) -> Warehouse:
        """A fresh file with the three schemas (an older demo's file is replaced)."""
        for leftover in (path, path.with_name(path.name + ".wal")):
            leftover.unlink(missing_ok=True)
        warehouse = cls(path)
        with warehouse.session() as connection:
            for schema in SCHEMAS:
                connection.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        return warehouse

    @contextmanager
    def session(self) -> Iterator[duckdb.DuckDBPyConnection]:
        connection = duckdb.connect(str(self.path))
        try:
            connection.execute("SET TimeZone = 'UTC'")
            connection.execute("SET threads = 1")
            yield connection
        finally:
            connection.close()


def columns_of(connection: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    """``(name, type)`` of each column of ``schema.table``, in order."""
    rows = connection.execute("SELECT name, type FROM pragma_table_info(?)", [table]).fetchall()
    return [(str(column), str(kind)) for column, kind in rows]
