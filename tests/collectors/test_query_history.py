"""Logged statements are grouped into jobs by shape, counted once, and turned into lineage edges."""

from __future__ import annotations

from datetime import UTC, datetime

from collectors.warehouse.base import LoggedQuery, QueryLog
from collectors.warehouse.query_history import fingerprint, new_runs, query_job
from observer.catalog import DatasetRef, JobRef
from observer.graph.from_sql import lineage_batch
from observer.lineage import analyze_sql

NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)


def test_statements_that_differ_only_in_literals_and_layout_are_one_job() -> None:
    first = "INSERT INTO marts.daily SELECT * FROM orders WHERE day = '2026-03-09' AND id > 10"
    second = "insert into marts.daily\n  select * from orders where day = '2026-03-10' and id > 99"
    other = "INSERT INTO marts.weekly SELECT * FROM orders WHERE day = '2026-03-09' AND id > 10"
    assert fingerprint(first, "postgres") == fingerprint(second, "postgres")
    assert fingerprint(first, "postgres") != fingerprint(other, "postgres")
    assert query_job("postgres://db:5432", first, "postgres") == JobRef(
        "postgres://db:5432", f"query.{fingerprint(first, 'postgres')}"
    )


def test_unparseable_statements_still_get_a_stable_fingerprint() -> None:
    assert fingerprint("COPY weird ((( stuff", "postgres") == fingerprint("copy  weird ((( STUFF", "postgres")


def test_cumulative_counters_count_only_new_runs() -> None:
    log = QueryLog(
        queries=[
            LoggedQuery(sql="a", key="1", runs=5, cumulative=True),
            LoggedQuery(sql="b", key="2", runs=3, cumulative=True),
            LoggedQuery(sql="c", key="3", runs=2, cumulative=True),
            LoggedQuery(sql="d", key="4", runs=1, cumulative=True),
        ]
    )
    runs, counters = new_runs(log, {"1": 5, "2": 1, "3": 9}, NOW)
    assert [(run.query.key, run.runs, run.written_at) for run in runs] == [
        ("2", 2, NOW),
        ("3", 2, NOW),
        ("4", 1, None),
    ]
    assert counters == {"1": 5, "2": 3, "3": 2, "4": 1}


def test_timed_log_entries_are_each_one_run_at_their_finish_time() -> None:
    finished = datetime(2026, 3, 10, 11, 58, tzinfo=UTC)
    runs, counters = new_runs(
        QueryLog(queries=[LoggedQuery(sql="a", key="q1", finished_at=finished)]), {}, NOW
    )
    assert [(run.runs, run.written_at) for run in runs] == [(1, finished)]
    assert counters == {}


def test_lineage_json_becomes_dataset_and_column_edges_of_the_job() -> None:
    result = analyze_sql(
        "INSERT INTO marts.totals (customer_id, total) SELECT customer_id, sum(amount) FROM orders GROUP BY 1",
        "postgres",
        default_db="shop",
        default_schema="public",
    ).to_dict()
    job = JobRef("postgres://db:5432", "query.x")
    batch = lineage_batch(
        result["statements"],
        resolve=lambda name: DatasetRef("postgres://db:5432", name),
        job=job,
        source="warehouse",
        observed_at=NOW,
    )
    assert {(edge.dataset.name, edge.direction) for edge in batch.dataset_edges} == {
        ("shop.marts.totals", "output"),
        ("shop.public.orders", "input"),
    }
    total = {
        (edge.source.field, edge.transformation.type, edge.transformation.subtype)
        for edge in batch.column_edges
        if edge.target.field == "total"
    }
    assert ("amount", "DIRECT", "AGGREGATION") in total and ("customer_id", "INDIRECT", "GROUP_BY") in total
    assert all(edge.job == job for edge in batch.column_edges)


def test_a_plain_select_only_counts_when_its_output_dataset_is_known() -> None:
    result = analyze_sql("SELECT id AS order_id FROM raw.orders", "postgres", default_db="shop").to_dict()
    resolve = lambda name: DatasetRef("ns", name)  # noqa: E731
    job = JobRef("dbt", "model.shop.stg")
    assert not lineage_batch(result["statements"], resolve=resolve, job=job, source="dbt", observed_at=NOW)
    batch = lineage_batch(
        result["statements"],
        resolve=resolve,
        job=job,
        source="dbt",
        observed_at=NOW,
        select_output=DatasetRef("ns", "shop.staging.stg"),
    )
    assert [(e.source.field, e.target.dataset.name, e.target.field) for e in batch.column_edges] == [
        ("id", "shop.staging.stg", "order_id")
    ]
