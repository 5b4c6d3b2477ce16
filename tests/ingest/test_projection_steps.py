"""A projection step is all or nothing: one that fails half-way (here the database refuses a write
late in the step) leaves no trace, and the retry projects exactly what an uninterrupted projection
does, on both stores."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import func, select, text

from observer.catalog import DatasetRef
from observer.catalog import service as catalog
from observer.catalog.tables import metric_points
from observer.ingest.log import PROJECTION_CURSOR, read_cursor
from observer.ingest.tables import dataset_versions, job_versions, run_datasets, runs
from tests.ingest.conftest import Ingest, dataset, run_event

DAILY = DatasetRef("postgres://db:5432", "shop.public.daily")
RUN_IDS = [f"0190f3b6-8f39-7c5e-9d3a-2f1f6b0c5a{index:02d}" for index in range(3)]

_FAIL_SQLITE = (
    "CREATE TRIGGER refuse_updates BEFORE INSERT ON dataset_updates BEGIN SELECT RAISE(ABORT, 'refused'); END",
)
_FAIL_POSTGRES = (
    "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$ LANGUAGE plpgsql",
    "CREATE TRIGGER refuse_updates BEFORE INSERT ON dataset_updates FOR EACH ROW EXECUTE FUNCTION refuse()",
)


def _events() -> list[dict[str, Any]]:
    schema = {"fields": [{"name": "day", "type": "DATE"}, {"name": "total", "type": "NUMERIC"}]}
    lineage = {
        "fields": {
            "total": {
                "inputFields": [
                    {"namespace": "postgres://db:5432", "name": "shop.public.orders", "field": "amount"}
                ]
            }
        }
    }
    events = []
    for number, run_id in enumerate(RUN_IDS):
        orders = dataset("shop.public.orders", schema=schema)
        daily = dataset(
            DAILY.name,
            schema=schema,
            columnLineage=lineage,
            outputFacets={"outputStatistics": {"rowCount": 100 + number}},
        )
        start, end = f"2026-05-0{number + 1}T05:00:00Z", f"2026-05-0{number + 1}T05:07:00Z"
        events.append(run_event("START", run_id=run_id, time=start, inputs=[orders]))
        events.append(run_event("COMPLETE", run_id=run_id, time=end, inputs=[orders], outputs=[daily]))
    return events


def _view(ingest: Ingest) -> dict[str, Any]:
    """What a user sees of the projection: runs, the job, the dataset and its metric history."""
    client = ingest.client
    namespace = quote(DAILY.namespace, safe="")
    with ingest.store.engine.connect() as connection:
        dataset_id = catalog.find_dataset_ids(connection, [DAILY])[DAILY]
        rows_written = catalog.metric_series(connection, dataset_id, "rows_written")
        updates = catalog.update_history(connection, dataset_id)
    return {
        "runs": [client.get(f"/api/v1/jobs/runs/{run_id}").json() for run_id in RUN_IDS],
        "job": client.get("/api/v1/namespaces/airflow/jobs/etl_orders").json(),
        "dataset": client.get(f"/api/v1/namespaces/{namespace}/datasets/{DAILY.name}").json(),
        "versions": client.get(f"/api/v1/namespaces/{namespace}/datasets/{DAILY.name}/versions").json(),
        "rows_written": rows_written,
        "updates": updates,
    }


def _without_ids(value: Any) -> Any:
    """The view without the store's surrogate ids (PostgreSQL does not give back ids a rolled-back
    step drew from its sequences)."""
    if isinstance(value, dict):
        return {key: _without_ids(item) for key, item in value.items() if key != "id"}
    if isinstance(value, list):
        return [_without_ids(item) for item in value]
    return value


def test_a_step_that_fails_half_way_leaves_nothing_and_the_retry_projects_the_same(
    make_ingest: Callable[..., Ingest], store_url: str
) -> None:
    interrupted, uninterrupted = make_ingest(store_url=store_url), make_ingest()
    for ingest in (interrupted, uninterrupted):
        assert ingest.post(_events()).status_code == 201
    refusal = _FAIL_POSTGRES if interrupted.store.dialect == "postgresql" else _FAIL_SQLITE
    with interrupted.store.engine.begin() as connection:
        for statement in refusal:
            connection.execute(text(statement))

    with pytest.raises(Exception, match="refused"):
        interrupted.worker.run_once()
    with interrupted.store.engine.connect() as connection:
        assert read_cursor(connection, PROJECTION_CURSOR) == 0
        for table in (runs, run_datasets, dataset_versions, job_versions, metric_points):
            assert connection.execute(select(func.count()).select_from(table)).scalar_one() == 0

    with interrupted.store.engine.begin() as connection:
        connection.execute(
            text("DROP TRIGGER refuse_updates" + (" ON dataset_updates" if refusal is _FAIL_POSTGRES else ""))
        )
    assert interrupted.project() == len(RUN_IDS) * 2
    assert uninterrupted.project() == len(RUN_IDS) * 2
    view = _view(interrupted)
    assert [run["state"] for run in view["runs"]] == ["COMPLETED"] * 3
    assert [value for _, value in view["rows_written"]] == [100.0, 101.0, 102.0]
    assert _without_ids(view) == _without_ids(_view(uninterrupted))
