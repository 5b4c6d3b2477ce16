"""A small dbt project's artifacts (manifest v12, catalog, run_results v6, sources v3), written by the
tests instead of by dbt: two sources, a view, an ephemeral model, a table, four tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

INVOCATION = "7d3c1f0e-1111-4c6b-9d7e-000000000001"
GENERATED = "2026-03-10T11:00:00.000000Z"


def _relation(database: str, schema: str, name: str) -> str:
    return f'"{database}"."{schema}"."{name}"'


def _columns(*names: str, described: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        name: {
            "name": name,
            "description": (described or {}).get(name, ""),
            "meta": {},
            "data_type": None,
            "tags": [],
        }
        for name in names
    }


def manifest(database: str) -> dict[str, Any]:
    stg_orders_sql = (
        f"select id as order_id, customer_id, amount, status\n"
        f"from {_relation(database, 'raw', 'orders')}\nwhere status <> 'test'"
    )
    customers_sql = f"""with __dbt__cte__customer_orders as (
select customer_id, count(*) as order_count, sum(amount) as lifetime_value
from {_relation(database, "staging", "stg_orders")}
group by customer_id
), customers as (
select id, name from {_relation(database, "raw", "customers")}
)
select c.id as customer_id, c.name, coalesce(o.order_count, 0) as order_count, o.lifetime_value
from customers as c
left join __dbt__cte__customer_orders as o on o.customer_id = c.id"""

    def model(
        name: str, schema: str, materialized: str, sql: str, depends: list[str], **extra: Any
    ) -> dict[str, Any]:
        node = {
            "resource_type": "model",
            "unique_id": f"model.shop.{name}",
            "package_name": "shop",
            "name": name,
            "alias": name,
            "database": database,
            "schema": schema,
            "relation_name": None if materialized == "ephemeral" else _relation(database, schema, name),
            "original_file_path": f"models/{name}.sql",
            "config": {"materialized": materialized, "meta": extra.pop("config_meta", {}), "tags": []},
            "depends_on": {"nodes": depends, "macros": []},
            "compiled": True,
            "compiled_code": sql,
            "raw_code": "-- jinja",
            "description": extra.pop("description", ""),
            "meta": extra.pop("meta", {}),
            "tags": extra.pop("tags", []),
            "columns": extra.pop("columns", {}),
            "group": extra.pop("group", None),
        }
        return node

    def test(name: str, model_id: str, column: str, kind: str, severity: str = "ERROR") -> dict[str, Any]:
        return {
            "resource_type": "test",
            "unique_id": f"test.shop.{name}",
            "package_name": "shop",
            "name": name,
            "database": database,
            "schema": "dbt_test__audit",
            "column_name": column,
            "attached_node": model_id,
            "test_metadata": {"name": kind, "kwargs": {"column_name": column, "model": "{{ ref('x') }}"}},
            "config": {"severity": severity, "materialized": "test"},
            "depends_on": {"nodes": [model_id], "macros": []},
        }

    def source(name: str, columns: list[str], **extra: Any) -> dict[str, Any]:
        return {
            "resource_type": "source",
            "unique_id": f"source.shop.raw.{name}",
            "package_name": "shop",
            "source_name": "raw",
            "name": name,
            "identifier": name,
            "database": database,
            "schema": "raw",
            "relation_name": _relation(database, "raw", name),
            "loaded_at_field": extra.pop("loaded_at_field", None),
            "freshness": {"warn_after": {"count": 12, "period": "hour"}},
            "description": extra.pop("description", ""),
            "meta": extra.pop("meta", {}),
            "tags": extra.pop("tags", []),
            "config": {"enabled": True},
            "columns": _columns(*columns),
        }

    nodes = {
        "model.shop.stg_orders": model(
            "stg_orders",
            "staging",
            "view",
            stg_orders_sql,
            ["source.shop.raw.orders"],
            columns=_columns("order_id", "customer_id", "amount", "status"),
        ),
        "model.shop.customer_orders": model(
            "customer_orders", "staging", "ephemeral", "select 1", ["model.shop.stg_orders"]
        ),
        "model.shop.customers": model(
            "customers",
            "marts",
            "table",
            customers_sql,
            ["model.shop.customer_orders", "source.shop.raw.customers"],
            description="One row per customer with lifetime value.",
            meta={"owner": "team:growth"},
            config_meta={"channel": "#growth"},
            tags=["pii", "daily"],
            group="growth",
            columns=_columns(
                "customer_id",
                "name",
                "order_count",
                "lifetime_value",
                described={"lifetime_value": "EUR, gross"},
            ),
        ),
        "test.shop.not_null_customers_customer_id.1a": test(
            "not_null_customers_customer_id", "model.shop.customers", "customer_id", "not_null"
        ),
        "test.shop.unique_customers_customer_id.2b": test(
            "unique_customers_customer_id", "model.shop.customers", "customer_id", "unique"
        ),
        "test.shop.accepted_values_stg_orders_status.3c": test(
            "accepted_values_stg_orders_status", "model.shop.stg_orders", "status", "accepted_values", "WARN"
        ),
        "test.shop.source_not_null_raw_orders_id.4d": test(
            "source_not_null_raw_orders_id", "source.shop.raw.orders", "id", "not_null"
        ),
    }
    for unique_id, node in nodes.items():
        node["unique_id"] = unique_id
    return {
        "metadata": {
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json",
            "dbt_version": "1.8.7",
            "generated_at": GENERATED,
            "invocation_id": INVOCATION,
            "adapter_type": "postgres",
            "project_name": "shop",
        },
        "nodes": nodes,
        "sources": {
            "source.shop.raw.orders": source(
                "orders",
                ["id", "customer_id", "amount", "status", "loaded_at"],
                loaded_at_field="loaded_at",
                meta={"owner": "team:ingest"},
            ),
            "source.shop.raw.customers": source("customers", ["id", "name"]),
        },
        "groups": {
            "group.shop.growth": {
                "name": "growth",
                "unique_id": "group.shop.growth",
                "owner": {"name": "Growth", "email": "growth@example.com"},
            }
        },
        "exposures": {},
        "metrics": {},
        "parent_map": {},
        "child_map": {},
    }


def catalog(database: str) -> dict[str, Any]:
    def entry(
        unique_id: str, schema: str, name: str, kind: str, columns: list[tuple[str, str]]
    ) -> dict[str, Any]:
        return {
            "unique_id": unique_id,
            "metadata": {"type": kind, "schema": schema, "name": name, "database": database, "comment": None},
            "columns": {
                column: {"type": data_type, "index": index + 1, "name": column, "comment": None}
                for index, (column, data_type) in enumerate(columns)
            },
            "stats": {
                "has_stats": {"id": "has_stats", "label": "Has Stats?", "value": False, "include": False}
            },
        }

    return {
        "metadata": {
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/catalog/v1.json",
            "generated_at": GENERATED,
            "invocation_id": INVOCATION,
        },
        "nodes": {
            "model.shop.stg_orders": entry(
                "model.shop.stg_orders",
                "staging",
                "stg_orders",
                "VIEW",
                [
                    ("order_id", "integer"),
                    ("customer_id", "integer"),
                    ("amount", "numeric"),
                    ("status", "text"),
                ],
            ),
            "model.shop.customers": entry(
                "model.shop.customers",
                "marts",
                "customers",
                "BASE TABLE",
                [
                    ("customer_id", "integer"),
                    ("name", "text"),
                    ("order_count", "bigint"),
                    ("lifetime_value", "numeric"),
                ],
            ),
        },
        "sources": {
            "source.shop.raw.orders": entry(
                "source.shop.raw.orders",
                "raw",
                "orders",
                "BASE TABLE",
                [
                    ("id", "integer"),
                    ("customer_id", "integer"),
                    ("amount", "numeric"),
                    ("status", "text"),
                    ("loaded_at", "timestamp with time zone"),
                ],
            ),
            "source.shop.raw.customers": entry(
                "source.shop.raw.customers",
                "raw",
                "customers",
                "BASE TABLE",
                [("id", "integer"), ("name", "text")],
            ),
        },
        "errors": None,
    }


def _result(unique_id: str, status: str, completed: str, **extra: Any) -> dict[str, Any]:
    return {
        "status": status,
        "timing": [
            {"name": "compile", "started_at": "2026-03-10T10:59:00Z", "completed_at": "2026-03-10T10:59:01Z"},
            {"name": "execute", "started_at": "2026-03-10T10:59:01Z", "completed_at": completed},
        ],
        "thread_id": "Thread-1",
        "execution_time": 1.2,
        "adapter_response": extra.pop("adapter_response", {}),
        "message": extra.pop("message", None),
        "failures": extra.pop("failures", None),
        "unique_id": unique_id,
    }


def run_results() -> dict[str, Any]:
    return {
        "metadata": {
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v6.json",
            "generated_at": GENERATED,
            "invocation_id": INVOCATION,
        },
        "results": [
            _result(
                "model.shop.stg_orders",
                "success",
                "2026-03-10T10:59:30Z",
                adapter_response={"_message": "CREATE VIEW"},
            ),
            _result(
                "model.shop.customers",
                "success",
                "2026-03-10T10:59:45Z",
                adapter_response={"_message": "SELECT 42", "rows_affected": 42},
            ),
            _result(
                "test.shop.not_null_customers_customer_id.1a", "pass", "2026-03-10T10:59:50Z", failures=0
            ),
            _result(
                "test.shop.unique_customers_customer_id.2b",
                "fail",
                "2026-03-10T10:59:51Z",
                failures=2,
                message="Got 2 results, configured to fail if != 0",
            ),
            _result(
                "test.shop.accepted_values_stg_orders_status.3c", "warn", "2026-03-10T10:59:52Z", failures=5
            ),
            _result("test.shop.source_not_null_raw_orders_id.4d", "pass", "2026-03-10T10:59:53Z", failures=0),
        ],
        "elapsed_time": 3.5,
        "args": {"which": "build"},
    }


def sources() -> dict[str, Any]:
    return {
        "metadata": {
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/sources/v3.json",
            "generated_at": GENERATED,
            "invocation_id": INVOCATION,
        },
        "results": [
            {
                "unique_id": "source.shop.raw.orders",
                "max_loaded_at": "2026-03-09T20:00:00+00:00",
                "snapshotted_at": "2026-03-10T11:00:00+00:00",
                "max_loaded_at_time_ago_in_s": 54000.0,
                "status": "warn",
                "criteria": {
                    "warn_after": {"count": 12, "period": "hour"},
                    "error_after": {},
                    "filter": None,
                },
                "adapter_response": {},
                "timing": [],
                "thread_id": "Thread-1",
                "execution_time": 0.1,
            }
        ],
        "elapsed_time": 0.2,
    }


def write_project(target: Path, *, database: str) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for name, document in (
        ("manifest.json", manifest(database)),
        ("catalog.json", catalog(database)),
        ("run_results.json", run_results()),
        ("sources.json", sources()),
    ):
        (target / name).write_text(json.dumps(document, indent=2))
    return target
