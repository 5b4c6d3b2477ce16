"""The shop's pipeline: nightly loaders land the shop database's tables in ``raw``; then a dbt-style
build turns them into ``staging`` models and ``marts``, in dependency order.

A loader copies one source table (no SQL of its own; an extract-load tool). A model is one SQL
statement; a model whose upstream model failed or whose upstream test failed is skipped, as
``dbt build`` does. Tests are SQL returning failing rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from observer.catalog.identity import DatasetRef, JobRef
from observer.demo.warehouse import source_ref, table_ref

JOB_NAMESPACE = "shop"
LOAD_AT = timedelta(hours=1)
BUILD_AT = timedelta(hours=2)
COLLECT_AT = timedelta(hours=3)
CHECK_AT = timedelta(hours=9)
"""When, after midnight UTC, each stage of a simulated day happens."""


@dataclass(frozen=True)
class Loader:
    """Extract-load of one table of the shop database into ``raw``."""

    source_table: str

    @property
    def name(self) -> str:
        return f"load_{self.source_table}"

    @property
    def job(self) -> JobRef:
        return JobRef(JOB_NAMESPACE, f"extract_load.{self.source_table}")

    @property
    def target(self) -> str:
        return f"raw.{self.source_table}"

    @property
    def source(self) -> DatasetRef:
        return source_ref(self.source_table)


@dataclass(frozen=True)
class Test:
    """A data test on a model: ``sql`` returns the failing rows (none when the test passes)."""

    name: str
    sql: str
    description: str


@dataclass(frozen=True)
class Model:
    """One SQL model: ``sql`` (re)builds ``target`` from ``inputs``."""

    target: str
    inputs: tuple[str, ...]
    sql: str
    description: str
    tests: tuple[Test, ...] = field(default_factory=tuple)

    @property
    def name(self) -> str:
        return self.target.split(".")[1]

    @property
    def job(self) -> JobRef:
        return JobRef(JOB_NAMESPACE, f"dbt.{self.target}")

    @property
    def incremental(self) -> bool:
        return self.sql.lstrip().upper().startswith("INSERT")


LOADERS = (Loader("customers"), Loader("products"), Loader("orders"), Loader("order_items"))

MARTS_DDL = (
    """CREATE TABLE IF NOT EXISTS shop.marts.fct_orders (
    order_id BIGINT, customer_id INTEGER, order_date DATE, channel VARCHAR, country VARCHAR,
    items INTEGER, revenue DECIMAL(12, 2))""",
    """CREATE TABLE IF NOT EXISTS shop.marts.category_sales (
    order_date DATE, category VARCHAR, units INTEGER, revenue DECIMAL(12, 2))""",
)
"""The incremental marts exist before their first build (dbt creates them on the first run)."""

STAGING = (
    Model(
        "staging.stg_customers",
        ("raw.customers",),
        """CREATE OR REPLACE TABLE shop.staging.stg_customers AS
SELECT customer_id,
       lower(trim(email)) AS email,
       upper(country) AS country,
       CAST(signed_up_at AS DATE) AS signup_date
FROM shop.raw.customers""",
        "Customers, one row each, with normalised email and country.",
    ),
    Model(
        "staging.stg_products",
        ("raw.products",),
        """CREATE OR REPLACE TABLE shop.staging.stg_products AS
SELECT product_id,
       name AS product_name,
       category,
       CAST(price AS DECIMAL(10, 2)) AS price
FROM shop.raw.products""",
        "The product catalogue.",
    ),
    Model(
        "staging.stg_orders",
        ("raw.orders",),
        """CREATE OR REPLACE TABLE shop.staging.stg_orders AS
SELECT order_id,
       customer_id,
       CAST(ordered_at AS DATE) AS order_date,
       status,
       channel
FROM shop.raw.orders
WHERE status <> 'test'""",
        "Yesterday's orders.",
        (
            Test(
                "stg_orders_volume",
                """SELECT today.orders, history.average
FROM (SELECT count(*) AS orders FROM shop.staging.stg_orders) AS today,
     (SELECT avg(orders) AS average FROM (
         SELECT count(*) AS orders FROM shop.marts.fct_orders
         GROUP BY order_date ORDER BY order_date DESC LIMIT 7)) AS history
WHERE history.average IS NOT NULL AND today.orders < 0.5 * history.average""",
                "at least half of the last week's daily orders",
            ),
        ),
    ),
    Model(
        "staging.stg_order_items",
        ("raw.order_items",),
        """CREATE OR REPLACE TABLE shop.staging.stg_order_items AS
SELECT order_id,
       product_id,
       CAST(created_at AS DATE) AS order_date,
       quantity,
       CAST(quantity * unit_price AS DECIMAL(12, 2)) AS amount
FROM shop.raw.order_items""",
        "Yesterday's order lines with their amounts.",
    ),
)

MARTS = (
    Model(
        "marts.fct_orders",
        ("staging.stg_orders", "staging.stg_customers", "staging.stg_order_items"),
        """INSERT INTO shop.marts.fct_orders
SELECT o.order_id,
       o.customer_id,
       o.order_date,
       o.channel,
       c.country,
       CAST(sum(i.quantity) AS INTEGER) AS items,
       sum(i.amount) AS revenue
FROM shop.staging.stg_orders AS o
JOIN shop.staging.stg_customers AS c ON c.customer_id = o.customer_id
JOIN shop.staging.stg_order_items AS i ON i.order_id = o.order_id
WHERE o.status = 'completed'
GROUP BY o.order_id, o.customer_id, o.order_date, o.channel, c.country""",
        "Completed orders with their customer's country, items and revenue (appended daily).",
    ),
    Model(
        "marts.daily_revenue",
        ("marts.fct_orders",),
        """CREATE OR REPLACE TABLE shop.marts.daily_revenue AS
SELECT order_date,
       count(*) AS orders,
       sum(revenue) AS revenue,
       CAST(avg(revenue) AS DECIMAL(12, 2)) AS average_order_value
FROM shop.marts.fct_orders
GROUP BY order_date""",
        "Orders and revenue per day.",
    ),
    Model(
        "marts.customer_ltv",
        ("marts.fct_orders",),
        """CREATE OR REPLACE TABLE shop.marts.customer_ltv AS
SELECT customer_id,
       any_value(country) AS country,
       min(order_date) AS first_order_date,
       count(*) AS orders,
       sum(revenue) AS lifetime_revenue
FROM shop.marts.fct_orders
GROUP BY customer_id""",
        "Lifetime orders and revenue per customer.",
    ),
    Model(
        "marts.category_sales",
        ("staging.stg_order_items", "staging.stg_products"),
        """INSERT INTO shop.marts.category_sales
SELECT i.order_date,
       p.category,
       CAST(sum(i.quantity) AS INTEGER) AS units,
       sum(i.amount) AS revenue
FROM shop.staging.stg_order_items AS i
JOIN shop.staging.stg_products AS p ON p.product_id = i.product_id
GROUP BY i.order_date, p.category""",
        "Units and revenue per product category and day (appended daily).",
    ),
)

MODELS = STAGING + MARTS
"""Every model in an order that builds each after its inputs."""


def all_tables() -> list[str]:
    return [loader.target for loader in LOADERS] + [model.target for model in MODELS]


def dataset(table: str) -> DatasetRef:
    return table_ref(table)
