"""A small warehouse recorded the way sources record it, for the graph tests.

::

    raw.orders ──stg_orders──► stg.orders ──┐
                                            ├─mart_revenue─► mart.revenue ──campaigns──► report.campaigns
    raw.customers ─stg_customers─► stg.customers ─┤                └─(SQL view)─► analytics.revenue_view
                                            └─mart_customers─► mart.customer_count   (a sibling of mart.revenue)

``raw.orders.amount`` reaches ``mart.revenue.revenue`` and the view through DIRECT edges only;
``report.campaigns`` takes values from it only through INDIRECT ones. The campaigns job appears
on March 1st and the view on February 1st, for the ``asOf`` tests.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update

from observer.catalog.identity import DatasetRef, JobRef
from observer.catalog.service import ensure_datasets, ensure_jobs, update_dataset
from observer.catalog.tables import jobs
from observer.graph.base import BaseGraph
from observer.graph.model import ColumnEdge, ColumnRef, DatasetEdge, LineageBatch, Transformation

NS = "postgres://db.internal:5432"
RAW_ORDERS = DatasetRef(NS, "shop.raw.orders")
RAW_CUSTOMERS = DatasetRef(NS, "shop.raw.customers")
STG_ORDERS = DatasetRef(NS, "shop.stg.orders")
STG_CUSTOMERS = DatasetRef(NS, "shop.stg.customers")
REVENUE = DatasetRef(NS, "shop.mart.revenue")
CUSTOMER_COUNT = DatasetRef(NS, "shop.mart.customer_count")
CAMPAIGNS = DatasetRef(NS, "shop.report.campaigns")
VIEW = DatasetRef(NS, "shop.analytics.revenue_view")

STAGE_ORDERS = JobRef("airflow", "shop.stg_orders")
STAGE_CUSTOMERS = JobRef("airflow", "shop.stg_customers")
MART_REVENUE = JobRef("airflow", "shop.mart_revenue")
MART_CUSTOMERS = JobRef("airflow", "shop.mart_customers")
CAMPAIGN_JOB = JobRef("airflow", "shop.campaigns")

JANUARY = datetime(2026, 1, 1, tzinfo=UTC)
FEBRUARY = datetime(2026, 2, 1, tzinfo=UTC)
MARCH = datetime(2026, 3, 1, tzinfo=UTC)

DIRECT = Transformation("DIRECT", "IDENTITY")
AGGREGATE = Transformation("DIRECT", "AGGREGATION")
JOIN = Transformation("INDIRECT", "JOIN")
FILTER = Transformation("INDIRECT", "FILTER")


def column(dataset: DatasetRef, field: str) -> ColumnRef:
    return ColumnRef(dataset, field)


def run(
    when: datetime,
    job: JobRef,
    inputs: list[DatasetRef],
    outputs: list[DatasetRef],
    columns: list[tuple[ColumnRef, ColumnRef, Transformation]],
) -> LineageBatch:
    """What an OpenLineage run event of ``job`` records."""
    return LineageBatch(
        observed_at=when,
        source="openlineage",
        dataset_edges=[DatasetEdge(job, ref, "input") for ref in inputs]
        + [DatasetEdge(job, ref, "output") for ref in outputs],
        column_edges=[ColumnEdge(source, target, how, job) for source, target, how in columns],
    )


def batches() -> list[LineageBatch]:
    orders, customers = RAW_ORDERS, RAW_CUSTOMERS
    stage_columns = [
        (column(orders, "id"), column(STG_ORDERS, "order_id"), DIRECT),
        (column(orders, "customer_id"), column(STG_ORDERS, "customer_id"), DIRECT),
        (column(orders, "amount"), column(STG_ORDERS, "amount"), DIRECT),
    ] + [
        (column(orders, "status"), column(STG_ORDERS, name), FILTER)
        for name in ("order_id", "customer_id", "amount")
    ]
    return [
        run(JANUARY, STAGE_ORDERS, [orders], [STG_ORDERS], stage_columns),
        run(
            JANUARY,
            STAGE_CUSTOMERS,
            [customers],
            [STG_CUSTOMERS],
            [
                (column(customers, "id"), column(STG_CUSTOMERS, "customer_id"), DIRECT),
                (column(customers, "region"), column(STG_CUSTOMERS, "region"), DIRECT),
                (
                    column(customers, "email"),
                    column(STG_CUSTOMERS, "email_hash"),
                    Transformation("DIRECT", "TRANSFORMATION", "sha256(email)", masking=True),
                ),
            ],
        ),
        run(
            JANUARY,
            MART_REVENUE,
            [STG_ORDERS, STG_CUSTOMERS],
            [REVENUE],
            [
                (column(STG_ORDERS, "amount"), column(REVENUE, "revenue"), AGGREGATE),
                (column(STG_CUSTOMERS, "region"), column(REVENUE, "region"), DIRECT),
                (column(STG_ORDERS, "customer_id"), column(REVENUE, "revenue"), JOIN),
                (column(STG_ORDERS, "customer_id"), column(REVENUE, "region"), JOIN),
                (column(STG_CUSTOMERS, "customer_id"), column(REVENUE, "region"), JOIN),
            ],
        ),
        run(
            JANUARY,
            MART_CUSTOMERS,
            [STG_CUSTOMERS],
            [CUSTOMER_COUNT],
            [
                (column(STG_CUSTOMERS, "region"), column(CUSTOMER_COUNT, "region"), DIRECT),
                (column(STG_CUSTOMERS, "customer_id"), column(CUSTOMER_COUNT, "customers"), AGGREGATE),
            ],
        ),
        LineageBatch(
            observed_at=FEBRUARY,
            source="sql",
            column_edges=[
                ColumnEdge(column(REVENUE, "revenue"), column(VIEW, "revenue"), DIRECT),
                ColumnEdge(column(REVENUE, "region"), column(VIEW, "region"), DIRECT),
            ],
        ),
        run(
            MARCH,
            CAMPAIGN_JOB,
            [REVENUE],
            [CAMPAIGNS],
            [
                (column(REVENUE, "region"), column(CAMPAIGNS, "region"), DIRECT),
                (column(REVENUE, "revenue"), column(CAMPAIGNS, "orders"), FILTER),
            ],
        ),
    ]


def record_shop(graph: BaseGraph) -> None:
    """The shop's lineage, plus owners in the catalog (datasets and one job)."""
    with graph.store.engine.begin() as connection:
        ids = ensure_datasets(connection, [REVENUE, CAMPAIGNS, STG_ORDERS], JANUARY)
        update_dataset(connection, ids[REVENUE], JANUARY, owners=[{"name": "team:finance", "type": "TEAM"}])
        update_dataset(connection, ids[CAMPAIGNS], JANUARY, owners=[{"name": "team:marketing"}])
        update_dataset(connection, ids[STG_ORDERS], JANUARY, owners=[{"name": "team:data"}])
        job_ids = ensure_jobs(connection, [CAMPAIGN_JOB], JANUARY)
        connection.execute(
            update(jobs).where(jobs.c.id == job_ids[CAMPAIGN_JOB]).values(owners=[{"name": "team:marketing"}])
        )
    for batch in batches():
        graph.record(batch)
