"""The projection derives runs, datasets, versions, metrics, assertions, freshness and lineage from the
log: tolerant of order and gaps, exactly once per event, resumable, and the same on both stores."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from observer.catalog import DatasetRef, JobRef
from observer.catalog import service as catalog
from observer.catalog.tables import assertions, dataset_aliases, datasets
from observer.graph.model import Transformation
from observer.ingest.log import GRAPH_CURSOR, PROJECTION_CURSOR, read_cursor
from observer.ingest.sql_queue import SqlLineageQueue
from tests.ingest.conftest import Ingest, dataset, run_event

RUN = "0190f3b6-8f39-7c5e-9d3a-2f1f6b0c5a01"
ORDERS = DatasetRef("postgres://db:5432", "shop.public.orders")
DAILY = DatasetRef("postgres://db:5432", "shop.public.daily")


def run_json(ingest: Ingest, run_id: str = RUN) -> dict:
    response = ingest.client.get(f"/api/v1/jobs/runs/{run_id}")
    assert response.status_code == 200, response.text
    return response.json()


def test_out_of_order_events_fold_into_the_right_run_state(ingest_on_store: Ingest) -> None:
    ingest = ingest_on_store
    complete = run_event("COMPLETE", run_id=RUN, time="2026-05-01T05:10:00Z", outputs=[dataset(ORDERS.name)])
    start = run_event(
        "START",
        run_id=RUN,
        time="2026-05-01T05:00:00Z",
        inputs=[dataset("shop.public.raw")],
        run_facets={"nominalTime": {"nominalStartTime": "2026-05-01T05:00:00Z"}},
    )
    late_running = run_event("RUNNING", run_id=RUN, time="2026-05-01T05:05:00Z")
    for event in (complete, start, late_running):
        assert ingest.post(event).status_code == 201
    ingest.project()
    run = run_json(ingest)
    assert run["state"] == "COMPLETED"
    assert run["startedAt"] == "2026-05-01T05:00:00.000000Z"
    assert run["endedAt"] == "2026-05-01T05:10:00.000000Z"
    assert run["durationMs"] == 600_000
    assert run["nominalStartTime"] == "2026-05-01T05:00:00.000000Z"
    assert [item["datasetVersionId"]["name"] for item in run["inputDatasetVersions"]] == ["shop.public.raw"]
    assert [item["datasetVersionId"]["name"] for item in run["outputDatasetVersions"]] == [ORDERS.name]
    assert run["jobVersion"] is not None


def test_a_failed_run_keeps_its_error_and_a_run_without_terminal_event_is_running(ingest: Ingest) -> None:
    error = {"message": "division by zero", "programmingLanguage": "python"}
    ingest.post(run_event("START", run_id=RUN))
    ingest.post(
        run_event("FAIL", run_id=RUN, time="2026-05-01T05:01:00Z", run_facets={"errorMessage": error})
    )
    other = "0190f3b6-8f39-7c5e-9d3a-2f1f6b0c5a02"
    ingest.post(run_event(None, run_id=other))
    ingest.project()
    assert run_json(ingest)["state"] == "FAILED"
    assert run_json(ingest)["errorMessage"] == "division by zero"
    assert run_json(ingest, other)["state"] == "RUNNING"


def test_facets_accumulate_and_the_later_event_wins_whatever_the_arrival_order(ingest: Ingest) -> None:
    newer = run_event(
        "RUNNING", run_id=RUN, time="2026-05-01T05:09:00Z", run_facets={"progress": {"done": 9}}
    )
    older = run_event(
        "START",
        run_id=RUN,
        time="2026-05-01T05:00:00Z",
        run_facets={"progress": {"done": 1}, "spark": {"x": 1}},
    )
    ingest.post(newer)
    ingest.post(older)
    ingest.project()
    facets = ingest.client.get(f"/api/v1/jobs/runs/{RUN}/facets", params={"type": "run"}).json()["facets"]
    assert facets == {"progress": {"done": 9}, "spark": {"x": 1}}


def test_parent_and_root_runs_are_linked(ingest: Ingest) -> None:
    parent = {
        "run": {"runId": "0190f3b6-0000-7000-8000-000000000001"},
        "job": {"namespace": "airflow", "name": "shop_dag"},
        "root": {
            "run": {"runId": "0190f3b6-0000-7000-8000-000000000000"},
            "job": {"namespace": "airflow", "name": "platform"},
        },
    }
    ingest.post(run_event("START", run_id=RUN, job="shop_dag.load", run_facets={"parent": parent}))
    ingest.project()
    run = run_json(ingest)
    assert run["parentRunId"] == "0190f3b6-0000-7000-8000-000000000001"
    assert run["rootRunId"] == "0190f3b6-0000-7000-8000-000000000000"
    job = ingest.client.get("/api/v1/namespaces/airflow/jobs/shop_dag.load").json()
    assert job["parentJobName"] == "shop_dag"


def test_a_completed_run_is_an_update_of_what_it_wrote(ingest_on_store: Ingest) -> None:
    ingest = ingest_on_store
    ingest.post(run_event("START", run_id=RUN, time="2026-05-01T05:00:00Z", outputs=[dataset(ORDERS.name)]))
    ingest.post(run_event("COMPLETE", run_id=RUN, time="2026-05-01T05:07:00Z"))
    ingest.project()
    with ingest.store.engine.connect() as connection:
        dataset_id = catalog.find_dataset_ids(connection, [ORDERS])[ORDERS]
        history = catalog.update_history(connection, dataset_id)
    assert [moment.isoformat() for moment in history] == ["2026-05-01T05:07:00+00:00"]
    body = ingest.client.get(f"/api/v1/namespaces/{_quote(ORDERS.namespace)}/datasets/{ORDERS.name}").json()
    assert body["lastModifiedAt"] == "2026-05-01T05:07:00.000000Z"


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


def test_statistics_quality_metrics_and_assertions_become_catalog_records(ingest_on_store: Ingest) -> None:
    ingest = ingest_on_store
    metrics = {
        "rowCount": 1000,
        "columnMetrics": {"amount": {"nullCount": 50, "max": 99.5, "quantiles": {"0.5": 7}}},
    }
    checks = {
        "assertions": [{"assertion": "not_null", "success": False, "column": "amount", "severity": "error"}]
    }
    tests = {"tests": [{"name": "unique_order_id", "status": "pass"}, {"name": "skipped", "status": "skip"}]}
    source = dataset(
        ORDERS.name, inputFacets={"dataQualityMetrics": metrics, "dataQualityAssertions": checks}
    )
    target = dataset(DAILY.name, outputFacets={"outputStatistics": {"rowCount": 42, "size": 2048}})
    ingest.post(run_event(run_id=RUN, inputs=[source], outputs=[target], run_facets={"test": tests}))
    ingest.project()
    with ingest.store.engine.connect() as connection:
        ids = catalog.find_dataset_ids(connection, [ORDERS, DAILY])
        assert [value for _, value in catalog.metric_series(connection, ids[DAILY], "rows_written")] == [42.0]
        assert [value for _, value in catalog.metric_series(connection, ids[DAILY], "bytes_written")] == [
            2048.0
        ]
        assert [value for _, value in catalog.metric_series(connection, ids[ORDERS], "row_count")] == [1000.0]
        null_rate = catalog.metric_series(connection, ids[ORDERS], "null_rate", column="amount")
        assert [value for _, value in null_rate] == [0.05]
        median = catalog.metric_series(connection, ids[ORDERS], "quantile_0.5", column="amount")
        assert [value for _, value in median] == [7.0]
        recorded = connection.execute(
            select(
                assertions.c.name, assertions.c.success, assertions.c.column_name, assertions.c.run_id
            ).order_by(assertions.c.name)
        ).all()
    assert [tuple(row) for row in recorded] == [
        ("not_null", False, "amount", RUN),
        ("unique_order_id", True, "", RUN),
    ]


def test_schema_versions_ownership_and_documentation_reach_the_dataset(ingest: Ingest) -> None:
    schema = {
        "fields": [
            {"name": "id", "type": "INTEGER"},
            {"name": "address", "type": "STRUCT", "fields": [{"name": "city"}]},
        ]
    }
    ownership = {"owners": [{"name": "team:orders", "type": "TEAM"}]}
    documentation = {"description": "Every order."}
    ingest.post(
        run_event(
            outputs=[dataset(ORDERS.name, schema=schema, ownership=ownership, documentation=documentation)]
        )
    )
    ingest.project()
    body = ingest.client.get(f"/api/v1/namespaces/{_quote(ORDERS.namespace)}/datasets/{ORDERS.name}").json()
    assert [field["name"] for field in body["fields"]] == ["id", "address", "address.city"]
    assert body["description"] == "Every order."
    with ingest.store.engine.connect() as connection:
        assert catalog.owners_of(connection, [ORDERS])[ORDERS] == ["team:orders"]


def test_symlinked_identities_are_one_dataset(ingest_on_store: Ingest, shared_dir: Path) -> None:
    ingest = ingest_on_store
    folder = shared_dir / "data" / "openlineage" / "events" / "concrete" / "compat-spark-dataproc-simple"
    for path in sorted(folder.glob("*.json"), key=lambda item: int(item.stem)):
        assert ingest.client.post("/api/v1/lineage", content=path.read_bytes()).status_code == 201
    ingest.project()
    with ingest.store.engine.connect() as connection:
        primaries = connection.execute(select(datasets.c.id, datasets.c.name).order_by(datasets.c.name)).all()
        aliases = connection.execute(select(dataset_aliases.c.name, dataset_aliases.c.dataset_id)).all()
    assert [name for _, name in primaries] == ["/user/hive/warehouse/t1", "/user/hive/warehouse/t2"]
    by_id = dict(primaries)
    assert sorted((name, by_id[dataset_id]) for name, dataset_id in aliases) == [
        ("default.t1", "/user/hive/warehouse/t1"),
        ("default.t1", "/user/hive/warehouse/t1"),
        ("default.t2", "/user/hive/warehouse/t2"),
        ("default.t2", "/user/hive/warehouse/t2"),
    ]


def test_a_dataset_first_seen_under_its_table_name_merges_into_its_location(ingest_on_store: Ingest) -> None:
    ingest = ingest_on_store
    table = {"namespace": "hive://metastore:9083", "name": "default.orders"}
    ingest.post(run_event(run_id=RUN, outputs=[dataset(table["name"], table["namespace"])]))
    ingest.project()
    location = dataset(
        "/warehouse/orders", "hdfs://nn", symlinks={"identifiers": [{**table, "type": "TABLE"}]}
    )
    ingest.post(run_event(run_id="0190f3b6-8f39-7c5e-9d3a-2f1f6b0c5a09", outputs=[location]))
    ingest.project()
    assert [item["datasetVersionId"]["name"] for item in run_json(ingest)["outputDatasetVersions"]] == [
        "/warehouse/orders"
    ]
    with ingest.store.engine.connect() as connection:
        assert catalog.dataset_count(connection) == 1
    versions = ingest.client.get(
        f"/api/v1/namespaces/{_quote('hdfs://nn')}/datasets/{_quote('/warehouse/orders')}/versions"
    )
    assert versions.json()["totalCount"] == 2


def test_column_lineage_keeps_transformations_and_dataset_level_inputs(ingest: Ingest) -> None:
    column_lineage = {
        "fields": {
            "total": {
                "inputFields": [
                    {
                        "namespace": ORDERS.namespace,
                        "name": ORDERS.name,
                        "field": "amount",
                        "transformations": [{"type": "DIRECT", "subtype": "AGGREGATION", "masking": False}],
                    }
                ]
            },
            "day": {
                "inputFields": [{"namespace": ORDERS.namespace, "name": ORDERS.name, "field": "placed_at"}]
            },
        },
        "dataset": [
            {
                "namespace": ORDERS.namespace,
                "name": ORDERS.name,
                "field": "status",
                "transformations": [{"type": "INDIRECT", "subtype": "FILTER"}],
            }
        ],
    }
    ingest.post(
        run_event(inputs=[dataset(ORDERS.name)], outputs=[dataset(DAILY.name, columnLineage=column_lineage)])
    )
    ingest.project()
    [batch] = ingest.writer.batches
    edges = {(edge.source.field, edge.target.field, edge.transformation) for edge in batch.column_edges}
    assert edges == {
        ("amount", "total", Transformation("DIRECT", "AGGREGATION")),
        ("placed_at", "day", Transformation("DIRECT")),
        ("status", "total", Transformation("INDIRECT", "FILTER")),
        ("status", "day", Transformation("INDIRECT", "FILTER")),
    }
    assert {(edge.dataset, edge.direction) for edge in batch.dataset_edges} == {
        (ORDERS, "input"),
        (DAILY, "output"),
    }
    assert all(edge.job == JobRef("airflow", "etl_orders") for edge in batch.column_edges)
    body = ingest.client.get(f"/api/v1/namespaces/{_quote(DAILY.namespace)}/datasets/{DAILY.name}").json()
    total = next(item for item in body["columnLineage"] if item["name"] == "total")
    assert total["inputFields"][0]["transformations"][0]["subtype"] == "AGGREGATION"


def test_the_lineage_facet_wins_over_column_lineage(ingest: Ingest) -> None:
    column_lineage = {
        "fields": {"total": {"inputFields": [{"namespace": "db", "name": "old", "field": "x"}]}}
    }
    lineage = {
        "fields": {
            "total": {
                "inputs": [
                    {
                        "type": "DATASET",
                        "namespace": ORDERS.namespace,
                        "name": ORDERS.name,
                        "field": "amount",
                        "transformations": [{"type": "DIRECT", "subtype": "AGGREGATION"}],
                    }
                ]
            }
        }
    }
    target = dataset(DAILY.name, columnLineage=column_lineage, lineage=lineage)
    ingest.post(run_event(outputs=[target]))
    ingest.project()
    [batch] = ingest.writer.batches
    assert [(edge.source.dataset, edge.source.field) for edge in batch.column_edges] == [(ORDERS, "amount")]


def test_sql_without_column_lineage_is_queued_once_per_job_and_query(ingest: Ingest) -> None:
    sql = {
        "query": "INSERT INTO daily SELECT day, sum(amount) FROM orders GROUP BY day",
        "dialect": "postgres",
    }
    for run in range(3):
        ingest.post(run_event(run_id=f"run-{run}", job_facets={"sql": sql}, inputs=[dataset(ORDERS.name)]))
    lineage = {"fields": {"x": {"inputFields": [{"namespace": "db", "name": "t", "field": "x"}]}}}
    ingest.post(
        run_event(
            job="covered", job_facets={"sql": sql}, outputs=[dataset(DAILY.name, columnLineage=lineage)]
        )
    )
    ingest.project()
    queue = SqlLineageQueue(ingest.store, ingest.runtime.clock)
    [pending] = queue.pending()
    assert (pending.job, pending.sql, pending.dialect) == (
        JobRef("airflow", "etl_orders"),
        sql["query"],
        "postgres",
    )
    assert pending.inputs == [ORDERS] and pending.default_namespace == ORDERS.namespace
    assert pending.id is not None
    queue.mark_done(pending.id)
    assert queue.pending() == []


def test_projection_resumes_and_the_graph_catches_up_after_an_outage(ingest: Ingest) -> None:
    ingest.writer.down = True
    ingest.post([run_event(run_id=f"run-{index}", outputs=[dataset(ORDERS.name)]) for index in range(5)])
    ingest.project()
    with ingest.store.engine.connect() as connection:
        assert read_cursor(connection, PROJECTION_CURSOR) > 0
        assert read_cursor(connection, GRAPH_CURSOR) == 0
    ingest.writer.down = False
    ingest.worker._graph_blocked_until = 0.0
    ingest.project()
    assert len(ingest.writer.batches) == 5
    ingest.post(run_event(run_id="run-9"))
    assert ingest.project() == 1
    with ingest.store.engine.connect() as connection:
        runs = connection.execute(select(func.count()).select_from(catalog.jobs)).scalar_one()
    assert runs == 1


def test_the_food_delivery_seed_yields_its_jobs_runs_and_column_lineage(
    ingest: Ingest, shared_dir: Path
) -> None:
    seed = (
        shared_dir
        / "data"
        / "openlineage"
        / "events"
        / "concrete"
        / "marquez-seed"
        / "metadata.materialized.json"
    )
    assert ingest.client.post("/api/v1/lineage", content=seed.read_bytes()).status_code == 201
    ingest.project()
    jobs = ingest.client.get("/api/v1/namespaces/food_delivery/jobs").json()
    assert jobs["totalCount"] == 13
    assert all(job["latestRun"]["state"] == "COMPLETED" for job in jobs["jobs"])
    runs = ingest.client.get("/api/v1/namespaces/food_delivery/jobs/etl_orders_7_days/runs").json()
    assert runs["totalCount"] == 1
    etl = ingest.client.get("/api/v1/namespaces/food_delivery/jobs/etl_orders_7_days").json()
    assert {item["name"] for item in etl["inputs"]} == {
        "public.categories",
        "public.menu_items",
        "public.menus",
        "public.orders",
    }
    weekly = ingest.client.get("/api/v1/namespaces/food_delivery/datasets/public.orders_7_days").json()
    lineage = {item["name"]: item["inputFields"] for item in weekly["columnLineage"]}
    assert lineage["order_id"][0] == {
        "namespace": "food_delivery",
        "dataset": "public.orders",
        "field": "id",
        "transformationDescription": None,
        "transformationType": None,
        "transformations": [],
    }
    column_edges = [edge for batch in ingest.writer.batches for edge in batch.column_edges]
    assert len({edge.target.dataset for edge in column_edges}) == 5
    search = ingest.client.get("/api/v1/search", params={"q": "orders", "filter": "dataset"}).json()
    assert search["totalCount"] == 3
    assert all(result["nodeId"].startswith("dataset:food_delivery:") for result in search["results"])
    events = ingest.client.get("/api/v1/events/lineage", params={"limit": 5, "sortDirection": "asc"}).json()
    assert events["totalCount"] == 26 and len(events["events"]) == 5
    assert ingest.client.get("/api/v1/events/lineage", params={"sortDirection": "up"}).status_code == 400
    with ingest.store.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(assertions)).scalar_one() >= 1


def test_queued_sql_becomes_column_lineage_when_a_graph_is_there(ingest: Ingest) -> None:
    from observer.ingest.sql_lineage import SqlLineageWorker

    sql = {
        "query": "INSERT INTO public.daily (day, total) SELECT placed_on, sum(amount) FROM public.orders GROUP BY placed_on"
    }
    orders, daily = dataset("shop.public.orders"), dataset("shop.public.daily")
    ingest.post(run_event(run_id=RUN, job_facets={"sql": sql}, inputs=[orders], outputs=[daily]))
    ingest.project()
    queue = SqlLineageQueue(ingest.store, ingest.runtime.clock)
    worker = SqlLineageWorker(queue, ingest.writer, time_budget_s=2.0, default_dialect="postgres")
    assert worker.run_once() == 1
    assert queue.pending() == []
    [batch] = [batch for batch in ingest.writer.batches if batch.source == "sql"]
    edges = {
        (edge.source.dataset, edge.source.field, edge.target.dataset, edge.target.field)
        for edge in batch.column_edges
    }
    assert (ORDERS, "amount", DAILY, "total") in edges
    total = next(
        edge for edge in batch.column_edges if edge.target.field == "total" and edge.source.field == "amount"
    )
    assert total.transformation == Transformation("DIRECT", "AGGREGATION")
    assert batch.run_id == RUN


def test_the_seed_reaches_the_embedded_lineage_graph_in_one_transaction_per_step(
    ingest: Ingest, shared_dir: Path
) -> None:
    from observer.ingest.projection import ProjectionWorker

    graph = ingest.runtime.graph
    assert graph is not None
    seed = (
        shared_dir
        / "data"
        / "openlineage"
        / "events"
        / "concrete"
        / "marquez-seed"
        / "metadata.materialized.json"
    )
    assert ingest.client.post("/api/v1/lineage", content=seed.read_bytes()).status_code == 201
    ProjectionWorker(ingest.store, ingest.runtime.clock, graph).drain()
    upstream = graph.lineage(
        "datasetField:food_delivery:public.orders_7_days:order_id",
        direction="upstream",
        depth=5,
        max_nodes=None,
    )
    reached = {(node.name, node.field) for node in upstream.nodes.values()}
    assert ("public.orders", "id") in reached
    jobs = graph.lineage(
        "dataset:food_delivery:public.orders_7_days", direction="upstream", depth=1, max_nodes=None
    )
    assert "etl_orders_7_days" in {node.name for node in jobs.nodes.values()}
    with ingest.store.engine.connect() as connection:
        assert read_cursor(connection, GRAPH_CURSOR) == read_cursor(connection, PROJECTION_CURSOR) > 0
