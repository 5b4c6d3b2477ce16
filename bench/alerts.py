"""Findings to incidents and rendered messages on a 100k-node lineage graph.

    .venv/bin/python bench/alerts.py [--findings 1000] [--roots 60] [--seed 7]

A layered DAG of datasets, jobs and columns (100,000 nodes) is generated. ``--roots`` true root
causes each break a dataset and a random part of what lies below it (stale or shrunken tables,
repeats of the same check); the rest of the findings are isolated problems, each its own root
cause. The findings arrive in check cycles of 50, oldest first, and go through the incident service
with the alert planner (Block Kit, plain text and JSON rendered, outbox rows written) on a SQLite
store. Timed: the processing of all findings. Reported: messages posted to the channel (root
messages) beside the number of true root causes, and the thread replies and edits.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections import defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from observer.alerts.tables import alert_outbox  # noqa: E402
from observer.catalog import service as catalog  # noqa: E402
from observer.catalog.identity import DatasetRef, JobRef  # noqa: E402
from observer.clock import SimulatedClock  # noqa: E402
from observer.config.settings import Settings  # noqa: E402
from observer.incidents.findings import FindingRecord  # noqa: E402
from observer.incidents.lineage import ImpactedNode, LineageView  # noqa: E402
from observer.incidents.tables import incidents  # noqa: E402
from observer.runtime import Runtime  # noqa: E402
from observer.store import Store  # noqa: E402

NS = "snowflake://acme.eu-west-1"
T0 = datetime(2026, 5, 4, 6, 0, tzinfo=UTC)
COLUMNS_PER_DATASET = 3
CYCLE = 50
DEPTH = 5  # alerts.impact_depth


class AdjacencyLineage:
    """Lineage over in-process adjacency lists (stands in for the embedded graph backend)."""

    def __init__(self) -> None:
        self.readers: dict[DatasetRef, list[JobRef]] = defaultdict(list)
        self.writers: dict[DatasetRef, list[JobRef]] = defaultdict(list)
        self.outputs: dict[JobRef, list[DatasetRef]] = defaultdict(list)
        self.inputs: dict[JobRef, list[DatasetRef]] = defaultdict(list)
        self.column_targets: dict[tuple[DatasetRef, str], list[tuple[DatasetRef, str, bool]]] = defaultdict(
            list
        )
        self.nodes = 0

    def add_job(self, job: JobRef, inputs: Sequence[DatasetRef], output: DatasetRef) -> None:
        for source in inputs:
            self.readers[source].append(job)
            self.inputs[job].append(source)
        self.outputs[job].append(output)
        self.writers[output].append(job)

    def downstream(self, ref: DatasetRef, depth: int, columns: Sequence[str] = ()) -> list[ImpactedNode]:
        hops = {ref: 0}
        jobs: dict[JobRef, int] = {}
        queue = deque([ref])
        while queue:
            current = queue.popleft()
            if hops[current] >= depth:
                continue
            for job in self.readers.get(current, ()):
                jobs.setdefault(job, hops[current] + 1)
                for output in self.outputs[job]:
                    if output not in hops:
                        hops[output] = hops[current] + 1
                        queue.append(output)
        reached: dict[tuple[DatasetRef, str], bool] = {}
        start = [(ref, column) for column in (columns or [f"c{i}" for i in range(COLUMNS_PER_DATASET)])]
        pending = deque((dataset, column, True) for dataset, column in start)
        while pending:
            dataset, column, direct = pending.popleft()
            for target, target_column, edge_direct in self.column_targets.get((dataset, column), ()):
                if target not in hops:
                    continue
                key, reach = (target, target_column), direct and edge_direct
                if key not in reached or (reach and not reached[key]):
                    reached[key] = reach
                    pending.append((target, target_column, reach))
        direct_datasets = {dataset for (dataset, _), direct in reached.items() if direct}
        nodes = [
            ImpactedNode(dataset.node_id, "dataset", distance, dataset in direct_datasets, dataset=dataset)
            for dataset, distance in hops.items()
            if dataset != ref
        ]
        nodes += [
            ImpactedNode(job.node_id, "job", distance, False, job=job) for job, distance in jobs.items()
        ]
        nodes += [
            ImpactedNode(
                dataset.field_node_id(column), "column", hops[dataset], direct, dataset=dataset, column=column
            )
            for (dataset, column), direct in reached.items()
        ]
        return nodes

    def upstream_datasets(self, ref: DatasetRef, depth: int) -> dict[DatasetRef, int]:
        hops = {ref: 0}
        queue = deque([ref])
        while queue:
            current = queue.popleft()
            if hops[current] >= depth:
                continue
            for job in self.writers.get(current, ()):
                for source in self.inputs[job]:
                    if source not in hops:
                        hops[source] = hops[current] + 1
                        queue.append(source)
        del hops[ref]
        return hops


def build_graph(nodes: int, rng: random.Random) -> tuple[AdjacencyLineage, list[list[DatasetRef]]]:
    """Layers of datasets, each (past the first) written by one job reading 1-3 datasets above it."""
    lineage = AdjacencyLineage()
    per_dataset = 1 + 1 + COLUMNS_PER_DATASET  # dataset, its writing job, its columns
    count = nodes // per_dataset
    layer_sizes = [count // 10, count // 10, count // 5, count // 5, count // 5]
    layer_sizes.append(count - sum(layer_sizes))
    layers: list[list[DatasetRef]] = []
    made = 0
    for depth, size in enumerate(layer_sizes):
        layer = [DatasetRef(NS, f"db.layer{depth}.t{made + i}") for i in range(size)]
        made += size
        for dataset in layer:
            if depth == 0:
                job = JobRef("airflow", f"load_{dataset.name}")
                lineage.add_job(job, [], dataset)
                continue
            above = layers[depth - 1] if depth == 1 or rng.random() < 0.8 else rng.choice(layers[: depth - 1])
            inputs = rng.sample(above, k=min(len(above), rng.choice((1, 1, 2, 3))))
            job = JobRef("airflow", f"build_{dataset.name}")
            lineage.add_job(job, inputs, dataset)
            for index in range(COLUMNS_PER_DATASET):
                source = rng.choice(inputs)
                direct = rng.random() < 0.7
                lineage.column_targets[(source, f"c{rng.randrange(COLUMNS_PER_DATASET)}")].append(
                    (dataset, f"c{index}", direct)
                )
        layers.append(layer)
    lineage.nodes = made * per_dataset
    return lineage, layers


def record_into(graph: Any, lineage: AdjacencyLineage, batch_jobs: int = 2000) -> None:
    """Write the generated lineage into a graph backend, as a source would (datasets, columns, jobs)."""
    from observer.graph.model import ColumnEdge, ColumnRef, DatasetEdge, LineageBatch, Transformation

    direct, indirect = Transformation("DIRECT", "TRANSFORMATION"), Transformation("INDIRECT", "JOIN")
    columns_of: dict[DatasetRef, list[tuple[DatasetRef, str, str, bool]]] = defaultdict(list)
    for (source, column), targets in lineage.column_targets.items():
        for target, target_column, is_direct in targets:
            columns_of[target].append((source, column, target_column, is_direct))
    jobs = sorted(lineage.outputs)
    for start in range(0, len(jobs), batch_jobs):
        batch = LineageBatch(observed_at=T0 - timedelta(days=1), source="manual")
        for job in jobs[start : start + batch_jobs]:
            batch.dataset_edges += [DatasetEdge(job, source, "input") for source in lineage.inputs[job]]
            for output in lineage.outputs[job]:
                batch.dataset_edges.append(DatasetEdge(job, output, "output"))
                batch.column_edges += [
                    ColumnEdge(
                        ColumnRef(source, column),
                        ColumnRef(output, target_column),
                        direct if is_direct else indirect,
                        job,
                    )
                    for source, column, target_column, is_direct in columns_of[output]
                ]
        graph.record(batch)


@dataclass
class Workload:
    findings: list[FindingRecord]
    true_roots: int


def make_findings(
    lineage: AdjacencyLineage, layers: list[list[DatasetRef]], total: int, roots: int, rng: random.Random
) -> Workload:
    findings: list[FindingRecord] = []
    used: set[DatasetRef] = set()
    per_root = (total * 3 // 4) // roots
    made_roots = 0
    while made_roots < roots:
        root = rng.choice(rng.choice(layers[:3]))
        reach = {node.dataset: node.hops for node in lineage.downstream(root, DEPTH) if node.dataset}
        below = sorted(dataset for dataset, hops in reach.items() if hops < DEPTH)
        if len(below) < per_root or root in used or used & reach.keys():
            continue
        used.update([root, *reach])
        made_roots += 1
        start = T0 + timedelta(minutes=rng.randrange(0, 600))
        findings.append(finding(root, "volume", start))
        for index, dataset in enumerate(rng.sample(below, per_root - 1)):
            check = "freshness" if index % 2 else "volume"
            findings.append(finding(dataset, check, start + timedelta(minutes=5 + rng.randrange(0, 90))))
    isolated = 0
    while len(findings) < total:
        dataset = rng.choice(layers[-1])
        if dataset in used:
            continue
        used.add(dataset)
        isolated += 1
        at = T0 + timedelta(minutes=rng.randrange(0, 700))
        findings.append(finding(dataset, "volume", at))
        if len(findings) < total and rng.random() < 0.3:
            findings.append(finding(dataset, "volume", at + timedelta(minutes=15)))  # the same check again
    findings.sort(key=lambda item: item.detected_at)
    return Workload(findings, roots + isolated)


def finding(dataset: DatasetRef, check: str, at: datetime) -> FindingRecord:
    if check == "freshness":
        return FindingRecord(dataset, check, "error", at, f"{dataset.name} is 3h late", direction="late")
    return FindingRecord(
        dataset,
        check,
        "error",
        at,
        f"{dataset.name} got 1,310 rows, expected 9,600-10,500",
        observed=1310,
        lower=9600,
        upper=10500,
        direction="drop",
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--findings", type=int, default=1000)
    parser.add_argument("--roots", type=int, default=60)
    parser.add_argument("--nodes", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--graph",
        choices=("embedded", "memory"),
        default="embedded",
        help="the embedded graph backend (SQL tables), or in-process adjacency lists",
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)

    from observer.alerts.service import build_incident_service

    started = time.perf_counter()
    lineage, layers = build_graph(args.nodes, rng)
    workload = make_findings(lineage, layers, args.findings, args.roots, rng)
    with tempfile.TemporaryDirectory() as home:
        store = Store(f"sqlite:///{home}/bench.db")
        store.upgrade()
        settings = Settings.model_validate(
            {
                "alerts": {
                    "slack": {
                        "bot_token": "xoxb-bench",
                        "signing_secret": "bench",
                        "default_channel": "C0ALERTS",
                    },
                    "group_window": "6h",
                },
                "owners": {"rules": [{"dataset": "db.layer5.*", "owners": ["team:reporting"]}]},
                "api": {"public_url": "https://observer.example.com"},
            }
        )
        clock = SimulatedClock(T0)
        datasets = [dataset for layer in layers for dataset in layer]
        with store.engine.begin() as connection:
            ids = catalog.ensure_datasets(connection, datasets, T0)
            for dataset in datasets[::7]:
                catalog.update_dataset(
                    connection, ids[dataset], T0, owners=[{"name": f"team:{dataset.name[3:9]}"}]
                )
        view: LineageView = lineage
        if args.graph == "embedded":
            from observer.graph.embedded import EmbeddedGraph
            from observer.incidents.graph_lineage import GraphLineage

            graph = EmbeddedGraph(store, settings.graph)
            record_into(graph, lineage)
            view = GraphLineage(graph)
        setup_seconds = time.perf_counter() - started

        service = build_incident_service(Runtime(settings=settings, clock=clock, store=store), lineage=view)
        begin, cpu = time.perf_counter(), time.process_time()
        for start in range(0, len(workload.findings), CYCLE):
            batch = workload.findings[start : start + CYCLE]
            clock.set(max(item.detected_at for item in batch))
            service.process(batch)
        elapsed, cpu = time.perf_counter() - begin, time.process_time() - cpu

        with store.engine.connect() as connection:
            opened = connection.execute(select(func.count()).select_from(incidents)).scalar_one()
            merged = connection.execute(
                select(func.count()).select_from(incidents).where(incidents.c.resolution == "merged")
            ).scalar_one()
            kinds = dict(
                connection.execute(
                    select(alert_outbox.c.kind, func.count()).group_by(alert_outbox.c.kind)
                ).all()
            )
        store.dispose()

    print(
        f"Graph: {lineage.nodes:,} nodes (datasets, jobs, columns), {args.graph} backend; "
        f"setup {setup_seconds:.1f} s (not timed)."
    )
    print()
    print(
        "| findings | true root causes | incidents | root messages | thread replies | edits "
        "| time | CPU time | findings/s |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {len(workload.findings):,} | {workload.true_roots} | {opened - merged} (+{merged} merged) "
        f"| {kinds.get('post', 0)} | {kinds.get('reply', 0)} | {kinds.get('update', 0)} "
        f"| {elapsed:.2f} s | {cpu:.2f} s | {len(workload.findings) / elapsed:,.0f} |"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
