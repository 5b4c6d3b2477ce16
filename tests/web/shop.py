"""A small shop warehouse as OpenLineage events: raw loads, dbt staging models, marts and a report,
eight weeks of daily runs with schemas, column lineage (DIRECT and INDIRECT), row counts, one volume
drop on the orders mart, a stale source whose loader started failing, and a schema change.

The browser tests send these events to a live server through ``POST /api/v1/lineage/batch`` and the
findings through ``POST /api/v1/sidecar/findings``, exactly as producers and sidecars do.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

WAREHOUSE = "postgres://warehouse.internal:5432"
SCHEDULER = "airflow://scheduler"
DBT = "dbt://shop"
PRODUCER = "https://github.com/observer/tests/web"
SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
FACET = {"_producer": PRODUCER, "_schemaURL": "https://openlineage.io/spec/facets/1-0-0/Facet.json"}
DAYS = 56

Column = tuple[str, str]  # name, type
Source = tuple[str, str, str, str]  # input dataset, input field, DIRECT | INDIRECT, subtype


@dataclass
class Model:
    """One job writing one dataset."""

    job_namespace: str
    job: str
    output: str
    columns: list[Column]
    inputs: list[str] = field(default_factory=list)
    lineage: dict[str, list[Source]] = field(default_factory=dict)
    rows: float = 10_000
    hour: float = 5.0
    owner: str = "team:data-platform"
    description: str = ""


def _identity(source: str, *names: str) -> dict[str, list[Source]]:
    return {name: [(source, name, "DIRECT", "IDENTITY")] for name in names}


MODELS: list[Model] = [
    Model(
        SCHEDULER,
        "shop_ingest.load_orders",
        "shop.raw.orders",
        [
            ("order_id", "bigint"),
            ("customer_id", "bigint"),
            ("amount", "numeric"),
            ("status", "varchar"),
            ("created_at", "timestamp"),
        ],
        rows=52_000,
        hour=2.0,
        owner="team:checkout",
        description="Orders copied nightly from the checkout service's database.",
    ),
    Model(
        SCHEDULER,
        "shop_ingest.load_customers",
        "shop.raw.customers",
        [
            ("customer_id", "bigint"),
            ("email", "varchar"),
            ("country", "varchar"),
            ("signed_up_at", "timestamp"),
        ],
        rows=18_000,
        hour=2.2,
        owner="team:growth",
    ),
    Model(
        SCHEDULER,
        "shop_ingest.load_payments",
        "shop.raw.payments",
        [
            ("payment_id", "bigint"),
            ("order_id", "bigint"),
            ("amount", "numeric"),
            ("method", "varchar"),
            ("paid_at", "timestamp"),
        ],
        rows=49_000,
        hour=2.4,
        owner="team:payments",
    ),
    Model(
        SCHEDULER,
        "shop_ingest.load_sessions",
        "shop.raw.sessions",
        [
            ("session_id", "varchar"),
            ("customer_id", "bigint"),
            ("channel", "varchar"),
            ("started_at", "timestamp"),
        ],
        rows=240_000,
        hour=2.6,
        owner="team:web",
    ),
    Model(
        DBT,
        "shop.stg_orders",
        "analytics.staging.stg_orders",
        [
            ("order_id", "bigint"),
            ("customer_id", "bigint"),
            ("amount", "numeric"),
            ("status", "varchar"),
            ("ordered_at", "timestamp"),
        ],
        ["shop.raw.orders"],
        {
            **_identity("shop.raw.orders", "order_id", "customer_id", "amount", "status"),
            "ordered_at": [("shop.raw.orders", "created_at", "DIRECT", "IDENTITY")],
        },
        rows=51_000,
        hour=4.0,
    ),
    Model(
        DBT,
        "shop.stg_customers",
        "analytics.staging.stg_customers",
        [
            ("customer_id", "bigint"),
            ("email_domain", "varchar"),
            ("country", "varchar"),
            ("signed_up_at", "timestamp"),
        ],
        ["shop.raw.customers"],
        {
            **_identity("shop.raw.customers", "customer_id", "country", "signed_up_at"),
            "email_domain": [("shop.raw.customers", "email", "DIRECT", "TRANSFORMATION")],
        },
        rows=18_000,
        hour=4.05,
    ),
    Model(
        DBT,
        "shop.stg_payments",
        "analytics.staging.stg_payments",
        [("payment_id", "bigint"), ("order_id", "bigint"), ("amount", "numeric"), ("method", "varchar")],
        ["shop.raw.payments"],
        _identity("shop.raw.payments", "payment_id", "order_id", "amount", "method"),
        rows=48_500,
        hour=4.1,
    ),
    Model(
        DBT,
        "shop.stg_sessions",
        "analytics.staging.stg_sessions",
        [
            ("session_id", "varchar"),
            ("customer_id", "bigint"),
            ("channel", "varchar"),
            ("started_at", "timestamp"),
        ],
        ["shop.raw.sessions"],
        _identity("shop.raw.sessions", "session_id", "customer_id", "channel", "started_at"),
        rows=238_000,
        hour=4.15,
    ),
    Model(
        DBT,
        "shop.fct_orders",
        "analytics.marts.fct_orders",
        [
            ("order_id", "bigint"),
            ("customer_id", "bigint"),
            ("order_total", "numeric"),
            ("paid_total", "numeric"),
            ("ordered_at", "timestamp"),
        ],
        ["analytics.staging.stg_orders", "analytics.staging.stg_payments"],
        {
            **_identity("analytics.staging.stg_orders", "order_id", "customer_id", "ordered_at"),
            "order_total": [
                ("analytics.staging.stg_orders", "amount", "DIRECT", "IDENTITY"),
                ("analytics.staging.stg_orders", "status", "INDIRECT", "FILTER"),
            ],
            "paid_total": [
                ("analytics.staging.stg_payments", "amount", "DIRECT", "AGGREGATION"),
                ("analytics.staging.stg_payments", "order_id", "INDIRECT", "JOIN"),
                ("analytics.staging.stg_orders", "order_id", "INDIRECT", "JOIN"),
            ],
        },
        rows=50_000,
        hour=5.0,
        owner="team:analytics",
        description="One row per order with what was ordered and what was paid.",
    ),
    Model(
        DBT,
        "shop.dim_customers",
        "analytics.marts.dim_customers",
        [
            ("customer_id", "bigint"),
            ("country", "varchar"),
            ("first_order_at", "timestamp"),
            ("lifetime_value", "numeric"),
            ("sessions_30d", "bigint"),
        ],
        ["analytics.staging.stg_customers", "analytics.marts.fct_orders", "analytics.staging.stg_sessions"],
        {
            **_identity("analytics.staging.stg_customers", "customer_id", "country"),
            "first_order_at": [
                ("analytics.marts.fct_orders", "ordered_at", "DIRECT", "AGGREGATION"),
                ("analytics.marts.fct_orders", "customer_id", "INDIRECT", "GROUP_BY"),
            ],
            "lifetime_value": [
                ("analytics.marts.fct_orders", "paid_total", "DIRECT", "AGGREGATION"),
                ("analytics.marts.fct_orders", "customer_id", "INDIRECT", "GROUP_BY"),
            ],
            "sessions_30d": [
                ("analytics.staging.stg_sessions", "session_id", "DIRECT", "AGGREGATION"),
                ("analytics.staging.stg_sessions", "started_at", "INDIRECT", "FILTER"),
            ],
        },
        rows=18_000,
        hour=5.3,
        owner="team:growth",
    ),
    Model(
        DBT,
        "shop.fct_revenue_daily",
        "analytics.marts.fct_revenue_daily",
        [("day", "date"), ("country", "varchar"), ("orders", "bigint"), ("revenue", "numeric")],
        ["analytics.marts.fct_orders", "analytics.marts.dim_customers"],
        {
            "day": [("analytics.marts.fct_orders", "ordered_at", "DIRECT", "TRANSFORMATION")],
            "country": [
                ("analytics.marts.dim_customers", "country", "DIRECT", "IDENTITY"),
                ("analytics.marts.fct_orders", "customer_id", "INDIRECT", "JOIN"),
            ],
            "orders": [
                ("analytics.marts.fct_orders", "order_id", "DIRECT", "AGGREGATION"),
                ("analytics.marts.fct_orders", "ordered_at", "INDIRECT", "GROUP_BY"),
            ],
            "revenue": [
                ("analytics.marts.fct_orders", "paid_total", "DIRECT", "AGGREGATION"),
                ("analytics.marts.fct_orders", "ordered_at", "INDIRECT", "GROUP_BY"),
            ],
        },
        rows=1_800,
        hour=5.6,
        owner="team:finance",
        description="Revenue per day and country: the number the board sees.",
    ),
    Model(
        DBT,
        "shop.exec_dashboard",
        "analytics.reporting.exec_dashboard",
        [("week", "date"), ("revenue", "numeric"), ("active_customers", "bigint")],
        ["analytics.marts.fct_revenue_daily", "analytics.marts.dim_customers"],
        {
            "week": [("analytics.marts.fct_revenue_daily", "day", "DIRECT", "TRANSFORMATION")],
            "revenue": [
                ("analytics.marts.fct_revenue_daily", "revenue", "DIRECT", "AGGREGATION"),
                ("analytics.marts.fct_revenue_daily", "day", "INDIRECT", "GROUP_BY"),
            ],
            "active_customers": [
                ("analytics.marts.dim_customers", "customer_id", "DIRECT", "AGGREGATION"),
                ("analytics.marts.dim_customers", "sessions_30d", "INDIRECT", "FILTER"),
            ],
        },
        rows=60,
        hour=6.0,
        owner="team:finance",
    ),
]

MART = "analytics.marts.fct_orders"
STALE_SOURCE = "shop.raw.sessions"
STALE_DAYS = 3  # the sessions loader has failed for this many days
DROPPED = ("analytics.marts.fct_orders", "analytics.marts.fct_revenue_daily")  # today's rows fell
DROP_SHARE = 0.42
CHANGED = "analytics.staging.stg_payments"
COLUMN_ADDED_DAYS_AGO = 12
TYPE_CHANGED_DAYS_AGO = 0  # today, upstream of the drop: a suspect


def _columns(model: Model, days_ago: int) -> list[Column]:
    columns = list(model.columns)
    if model.output == CHANGED:
        if days_ago < COLUMN_ADDED_DAYS_AGO:
            columns.append(("currency", "varchar"))
        if days_ago <= TYPE_CHANGED_DAYS_AGO:
            columns = [(name, "decimal(12,2)" if name == "amount" else kind) for name, kind in columns]
    return columns


def _rows(model: Model, day: datetime, days_ago: int) -> int:
    weekly = 1.0 - 0.18 * (day.weekday() >= 5)  # quieter weekends
    trend = 1.0 + 0.004 * (DAYS - days_ago)
    wobble = 1.0 + 0.02 * math.sin(days_ago * 2.3 + len(model.output))
    rows = model.rows * weekly * trend * wobble
    if days_ago == 0 and model.output in DROPPED:
        rows *= DROP_SHARE
    return max(1, round(rows))


def _facets(model: Model, days_ago: int, rows: int) -> dict[str, Any]:
    columns = _columns(model, days_ago)
    facets: dict[str, Any] = {
        "schema": {**FACET, "fields": [{"name": name, "type": kind} for name, kind in columns]},
        "dataSource": {**FACET, "name": "warehouse", "uri": WAREHOUSE},
        "ownership": {**FACET, "owners": [{"name": model.owner, "type": "MAINTAINER"}]},
        "dataQualityMetrics": {**FACET, "rowCount": rows, "columnMetrics": {}},
    }
    if model.description:
        facets["documentation"] = {**FACET, "description": model.description}
    if model.lineage:
        facets["columnLineage"] = {
            **FACET,
            "fields": {
                target: {
                    "inputFields": [
                        {
                            "namespace": WAREHOUSE,
                            "name": dataset,
                            "field": source,
                            "transformations": [{"type": kind, "subtype": subtype}],
                        }
                        for dataset, source, kind, subtype in sources
                    ]
                }
                for target, sources in model.lineage.items()
            },
        }
    return facets


def _event(kind: str, model: Model, run_id: str, at: datetime, days_ago: int) -> dict[str, Any]:
    rows = _rows(model, at, days_ago)
    event: dict[str, Any] = {
        "eventType": kind,
        "eventTime": at.isoformat(),
        "producer": PRODUCER,
        "schemaURL": SCHEMA_URL,
        "run": {"runId": run_id, "facets": {}},
        "job": {"namespace": model.job_namespace, "name": model.job, "facets": {}},
        "inputs": [{"namespace": WAREHOUSE, "name": name} for name in model.inputs],
        "outputs": [{"namespace": WAREHOUSE, "name": model.output}],
    }
    if kind == "COMPLETE":
        event["outputs"][0]["facets"] = _facets(model, days_ago, rows)
        event["outputs"][0]["outputFacets"] = {"outputStatistics": {**FACET, "rowCount": rows}}
        if model.job_namespace == DBT:
            event["job"]["facets"]["sql"] = {**FACET, "query": f"select ... from {', '.join(model.inputs)}"}
    if kind == "FAIL":
        event["run"]["facets"]["errorMessage"] = {
            **FACET,
            "message": "connection to sessions-db timed out",
            "programmingLanguage": "python",
        }
    return event


def last_day(now: datetime) -> datetime:
    """Midnight of the newest day whose runs (02:00 to 06:25 UTC) have all finished by ``now``, so the
    story (today's drop, the stale source) is the same at any time of day."""
    return (now.astimezone(UTC) - timedelta(hours=6, minutes=30)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )


def events(now: datetime) -> list[dict[str, Any]]:
    """Every event of the last ``DAYS`` days up to ``now``, oldest first."""
    today = last_day(now)
    found: list[tuple[datetime, dict[str, Any]]] = []
    for days_ago in range(DAYS, -1, -1):
        day = today - timedelta(days=days_ago)
        for model in MODELS:
            start = day + timedelta(hours=model.hour, minutes=(days_ago * 7) % 11)
            end = start + timedelta(minutes=4 + (days_ago + len(model.job)) % 9)
            if end > now:
                continue
            run_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{model.job}/{day.date()}"))
            failing = model.output == STALE_SOURCE and days_ago < STALE_DAYS
            found.append((start, _event("START", model, run_id, start, days_ago)))
            found.append((end, _event("FAIL" if failing else "COMPLETE", model, run_id, end, days_ago)))
    found.sort(key=lambda item: item[0])
    return [event for _, event in found]


def findings(now: datetime) -> dict[str, Any]:
    """What the checks found today, as a sidecar forwards it."""
    detected = now - timedelta(minutes=20)
    volume = []
    for name in DROPPED:
        model = next(model for model in MODELS if model.output == name)
        expected = model.rows * (1.0 + 0.004 * DAYS)
        observed = expected * DROP_SHARE
        volume.append(
            {
                "namespace": WAREHOUSE,
                "name": name,
                "check": "volume",
                "severity": "error",
                "detected_at": detected.isoformat(),
                "explanation": (
                    f"{name} has {observed:,.0f} rows today; {expected * 0.93:,.0f} to {expected * 1.07:,.0f} "
                    "were expected from the last 4 weeks."
                ),
                "score": 14.2,
                "observed": round(observed),
                "expected": round(expected),
                "lower": round(expected * 0.93),
                "upper": round(expected * 1.07),
                "direction": "drop",
                "details": {"metric": "row_count"},
            }
        )
    last_load = now - timedelta(days=STALE_DAYS)
    stale = {
        "namespace": WAREHOUSE,
        "name": STALE_SOURCE,
        "check": "freshness",
        "severity": "error",
        "detected_at": (detected - timedelta(hours=30)).isoformat(),
        "explanation": (
            f"{STALE_SOURCE} was last updated {STALE_DAYS} days ago; it usually updates daily at about "
            "02:40 UTC, so the next update was due two days ago."
        ),
        "direction": "late",
        "details": {"last_update": last_load.isoformat()},
    }
    return {
        "sidecar": "warehouse-sidecar",
        "sent_at": now.isoformat(),
        "findings": [stale, *volume],
        "passes": [],
    }


def dataset_names() -> list[str]:
    return [model.output for model in MODELS]
