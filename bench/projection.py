"""Projection cost: CPU microseconds per event of the OpenLineage projection, in process.

    .venv/bin/python bench/projection.py [--events 4000] [--batch 200,20] [--store-url URL] [--profile]

N realistic run events (START and COMPLETE or FAIL of runs of 40 jobs in 4 namespaces over 120
datasets: schema facets, column lineage, output statistics, some data-quality metrics, parent
runs, SQL facets on the jobs without column lineage) are appended to a fresh store through the
event log, then projected by :class:`ProjectionWorker` in steps of ``--batch`` events: once without
a lineage graph (the relational projection alone) and once with the embedded graph (as the server
runs it). Each figure comes from its own fresh store. CPU is this process's CPU time (robust to
other load on the machine); on PostgreSQL the server's CPU is not in it, so wall time is shown too.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from observer.clock import SystemClock
from observer.config.settings import GraphSettings
from observer.graph.factory import open_graph
from observer.ingest.log import EventLog
from observer.ingest.parse import parse_body
from observer.ingest.projection import ProjectionWorker
from observer.runtime import settle_for_serving
from observer.store import Store

PRODUCER = "https://github.com/apache/airflow/tree/providers-openlineage/1.14.0"
SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
WAREHOUSE = "postgres://warehouse:5432"
LAKE = "s3://lake"


def _dataset_names() -> list[tuple[str, str]]:
    names = [(WAREHOUSE, f"analytics.public.table_{index:03d}") for index in range(90)]
    return names + [(LAKE, f"raw/events/source_{index:02d}") for index in range(30)]


def _schema(name: str) -> dict[str, Any]:
    """A dataset's schema (the same in every event that mentions it)."""
    kinds = ("INTEGER", "VARCHAR", "TIMESTAMP", "NUMERIC")
    seed = sum(name.encode())
    return {"fields": [{"name": f"col_{index}", "type": kinds[(seed + index) % 4]} for index in range(12)]}


def events(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """``count`` run events in time order: runs of 40 jobs, each a START then a COMPLETE (1 in 20
    a FAIL), interleaved as concurrent schedulers send them."""
    rng = random.Random(seed)
    datasets = _dataset_names()
    jobs = []
    for index in range(40):
        inputs = rng.sample(datasets, 2)
        output = datasets[index % 90]
        jobs.append(
            {
                "namespace": f"airflow-{index % 4}",
                "name": f"dag_{index // 4}.task_{index}",
                "inputs": inputs,
                "output": output,
                "sql": index % 5 == 0,
            }
        )
    started = datetime(2026, 5, 1, tzinfo=UTC)
    produced: list[dict[str, Any]] = []
    open_runs: list[tuple[dict[str, Any], str]] = []
    moment = started
    while len(produced) < count:
        moment += timedelta(seconds=rng.randint(1, 30))
        if open_runs and (len(open_runs) > 8 or rng.random() < 0.5):
            job, run_id = open_runs.pop(rng.randrange(len(open_runs)))
            kind = "FAIL" if rng.random() < 0.05 else "COMPLETE"
            produced.append(_event(kind, job, run_id, moment, rng))
        else:
            job = rng.choice(jobs)
            run_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            open_runs.append((job, run_id))
            produced.append(_event("START", job, run_id, moment, rng))
    return produced


def _event(
    kind: str, job: dict[str, Any], run_id: str, moment: datetime, rng: random.Random
) -> dict[str, Any]:
    out_namespace, out_name = job["output"]
    inputs = []
    for namespace, name in job["inputs"]:
        item: dict[str, Any] = {"namespace": namespace, "name": name, "facets": {"schema": _schema(name)}}
        if kind == "COMPLETE" and rng.random() < 0.2:
            item["inputFacets"] = {
                "dataQualityMetrics": {
                    "rowCount": rng.randint(1000, 5000),
                    "columnMetrics": {"col_0": {"nullCount": rng.randint(0, 10), "distinctCount": 900}},
                }
            }
        inputs.append(item)
    output_facets: dict[str, Any] = {"schema": _schema(out_name)}
    if not job["sql"]:
        output_facets["columnLineage"] = {
            "fields": {
                f"col_{index}": {
                    "inputFields": [
                        {
                            "namespace": job["inputs"][index % 2][0],
                            "name": job["inputs"][index % 2][1],
                            "field": f"col_{index}",
                            "transformations": [{"type": "DIRECT", "subtype": "IDENTITY"}],
                        }
                    ]
                }
                for index in range(6)
            }
        }
    output: dict[str, Any] = {"namespace": out_namespace, "name": out_name, "facets": output_facets}
    if kind == "COMPLETE":
        output["outputFacets"] = {"outputStatistics": {"rowCount": rng.randint(100, 10_000), "size": 65536}}
    job_facets: dict[str, Any] = {
        "jobType": {"processingType": "BATCH", "integration": "AIRFLOW", "jobType": "TASK"},
        "sourceCodeLocation": {"type": "git", "url": f"https://git.example.com/dags/{job['name']}.py"},
    }
    if job["sql"]:
        job_facets["sql"] = {
            "query": f"INSERT INTO {out_name} SELECT * FROM {job['inputs'][0][1]}",
            "dialect": "postgres",
        }
    run_facets: dict[str, Any] = {
        "parent": {
            "run": {"runId": str(uuid.uuid5(uuid.NAMESPACE_URL, job["name"]))},
            "job": {"namespace": job["namespace"], "name": job["name"].split(".")[0]},
        },
        "processing_engine": {"version": "2.10.0", "name": "Airflow"},
    }
    if kind == "FAIL":
        run_facets["errorMessage"] = {"message": "task failed", "programmingLanguage": "python"}
    return {
        "eventType": kind,
        "eventTime": moment.isoformat().replace("+00:00", "Z"),
        "run": {"runId": run_id, "facets": run_facets},
        "job": {"namespace": job["namespace"], "name": job["name"], "facets": job_facets},
        "inputs": inputs,
        "outputs": [output],
        "producer": PRODUCER,
        "schemaURL": SCHEMA_URL,
    }


def fresh_store(store_url: str | None) -> Store:
    if store_url is None:
        return Store(f"sqlite:///{tempfile.mkdtemp(prefix='observer-bench-projection-')}/observer.db")
    store = Store(store_url)
    with store.engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    return store


def measure(
    sample: list[dict[str, Any]], batch: int, with_graph: bool, store_url: str | None, profile: bool
) -> tuple[float, float, int]:
    """CPU and wall microseconds per event of projecting ``sample`` in steps of ``batch``, and steps."""
    store = fresh_store(store_url)
    store.upgrade()
    event_log = EventLog(store, SystemClock())
    event_log.start()
    parsed = parse_body(sample)
    for offset in range(0, len(parsed), 100):
        event_log.append(parsed[offset : offset + 100])
    event_log.stop()
    graph = open_graph(GraphSettings(), store) if with_graph else None
    worker = ProjectionWorker(store, SystemClock(), graph, batch_size=batch)
    profiler = cProfile.Profile(time.process_time) if profile else None
    steps = 0
    started, wall = time.process_time(), time.perf_counter()
    if profiler is not None:
        profiler.enable()
    while worker.run_once():
        steps += 1
    if profiler is not None:
        profiler.disable()
    cpu, elapsed = time.process_time() - started, time.perf_counter() - wall
    if profiler is not None:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
    store.dispose()
    return cpu * 1e6 / len(sample), elapsed * 1e6 / len(sample), steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=4000)
    parser.add_argument("--batch", default="200,20", help="events per projection step (comma-separated)")
    parser.add_argument("--store-url", default=None, help="default: SQLite in a temporary directory")
    parser.add_argument("--graph", choices=("both", "with", "without"), default="both")
    parser.add_argument("--profile", action="store_true", help="print cProfile tables (slows everything)")
    args = parser.parse_args()
    settle_for_serving()  # as the server does
    sample = events(args.events)
    graphs = {"both": (False, True), "with": (True,), "without": (False,)}[args.graph]
    store = "SQLite (WAL)" if args.store_url is None else args.store_url.split(":")[0]
    print(f"Store: {store}; {len(sample):,} events; {os.cpu_count()} cores.\n")
    print("| step (events) | lineage graph | CPU µs/event | wall µs/event | steps | load average |")
    print("|---:|---|---:|---:|---:|---:|")
    for batch in [int(value) for value in args.batch.split(",")]:
        for with_graph in graphs:
            cpu, wall, steps = measure(sample, batch, with_graph, args.store_url, args.profile)
            graph = "embedded" if with_graph else "none"
            load = os.getloadavg()[0]
            print(f"| {batch} | {graph} | {cpu:,.0f} | {wall:,.0f} | {steps} | {load:.2f} |", flush=True)


if __name__ == "__main__":
    main()
