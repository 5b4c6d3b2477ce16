"""The same recorded graph gives the same answers on every backend: random warehouses (with
cycles, hubs, job-less SQL edges, several sources and times) asked every kind of question."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from observer.catalog.identity import DatasetRef, JobRef
from observer.graph.base import BaseGraph, UnknownNode
from observer.graph.model import (
    ColumnEdge,
    ColumnRef,
    DatasetEdge,
    LineageBatch,
    Transformation,
    TransformationType,
)
from observer.graph.results import Direction, Walk
from observer.graph.tables import graph_edges
from tests.graph.shop import JANUARY

SUBTYPES = {"DIRECT": ["IDENTITY", "TRANSFORMATION", "AGGREGATION"], "INDIRECT": ["JOIN", "FILTER", "SORT"]}


def random_warehouse(seed: int, datasets: int = 14) -> list[LineageBatch]:
    rnd = random.Random(seed)
    refs = [DatasetRef("postgres://wh:5432", f"db.s.t{index}") for index in range(datasets)]
    batches = []
    for index in range(datasets * 2):
        target = rnd.choice(refs)
        inputs = rnd.sample([ref for ref in refs if ref != target], rnd.randint(1, 3))
        job = JobRef("airflow", f"dag.task{rnd.randint(0, datasets)}") if rnd.random() < 0.8 else None
        columns = []
        for source in inputs:
            for _ in range(rnd.randint(1, 3)):
                kind: TransformationType = rnd.choice(["DIRECT", "DIRECT", "INDIRECT"])
                columns.append(
                    ColumnEdge(
                        ColumnRef(source, f"c{rnd.randint(0, 3)}"),
                        ColumnRef(target, f"c{rnd.randint(0, 3)}"),
                        Transformation(kind, rnd.choice(SUBTYPES[kind])),
                        job,
                    )
                )
        dataset_edges = (
            [DatasetEdge(job, ref, "input") for ref in inputs] + [DatasetEdge(job, target, "output")]
            if job
            else []
        )
        batches.append(
            LineageBatch(
                observed_at=JANUARY + timedelta(days=index),
                source=rnd.choice(["openlineage", "sql", "dbt"]),
                dataset_edges=dataset_edges,
                column_edges=columns,
            )
        )
    return batches


def shape(walk: Walk) -> dict[str, Any]:
    answer = walk.as_json()
    parents = {walk.nodes[child].key: walk.nodes[parent].key for child, parent in walk.parents.items()}
    return {**answer, "parents": parents}


def questions(graph: BaseGraph, seed: int) -> list[Any]:
    rnd = random.Random(seed)
    keys = sorted(
        {
            node.key
            for node in graph.lineage(
                "dataset:postgres://wh:5432:db.s.t0", direction="undirected", depth=50, max_nodes=None
            ).nodes.values()
        }
    )
    columns = sorted(
        {
            node.key
            for node in graph.lineage(
                "dataset:postgres://wh:5432:db.s.t0",
                direction="both",
                depth=50,
                max_nodes=None,
                level="column",
            ).nodes.values()
        }
    )
    answers: list[Any] = []
    middle = JANUARY + timedelta(days=10)
    directions: list[Direction] = ["upstream", "downstream", "both", "undirected"]
    for key in keys:
        for direction in directions:
            for depth, cap in ((2, None), (5, 6)):
                answers.append(shape(graph.lineage(key, direction=direction, depth=depth, max_nodes=cap)))
        answers.append(
            shape(graph.lineage(key, direction="downstream", depth=4, max_nodes=None, as_of=middle))
        )
        answers.append(graph.impact(key, depth=3).as_json())
        answers.append(graph.impact(key, depth=6, max_nodes=5, as_of=middle).as_json())
    for key in columns:
        answers.append(shape(graph.lineage(key, direction="upstream", depth=3, max_nodes=None)))
        answers.append(graph.impact(key, depth=4).as_json())
    for _ in range(20):
        pair = rnd.sample(keys, 2)
        found = graph.path(pair[0], pair[1], depth=8)
        answers.append(found.as_json() if found else None)
    for _ in range(10):
        pair = rnd.sample(columns, 2)
        found = graph.path(pair[0], pair[1], depth=6)
        answers.append(found.as_json() if found else None)
    return answers


@pytest.mark.parametrize("other", ["embedded-postgres", "neo4j"])
@pytest.mark.parametrize("seed", [1, 2])
def test_backends_answer_alike(make_graph: Callable[[str], BaseGraph], other: str, seed: int) -> None:
    reference, candidate = make_graph("embedded-sqlite"), make_graph(other)
    for batch in random_warehouse(seed):
        reference.record(batch)
        candidate.record(batch)
    expected = questions(reference, seed)
    assert any(answer and answer.get("truncated") for answer in expected)
    assert questions(candidate, seed) == expected


def retiring_warehouse(seed: int) -> tuple[list[LineageBatch], list[tuple[DatasetRef, datetime]]]:
    """The random warehouse with complete declarations, later re-declarations that leave edges out
    (some of which come back later), and a dataset deleted and then seen again."""
    rnd = random.Random(seed + 100)
    batches = random_warehouse(seed)
    for batch in batches:
        batch.complete = rnd.choice([None, None, "outputs", "jobs"])
    later = []
    for day, batch in enumerate(rnd.sample(batches, 10), start=len(batches)):
        kept = rnd.sample(batch.column_edges, len(batch.column_edges) // 2)
        inputs = {edge.source.dataset for edge in kept}
        later.append(
            LineageBatch(
                observed_at=JANUARY + timedelta(days=day),
                source=batch.source,
                dataset_edges=[
                    edge
                    for edge in batch.dataset_edges
                    if edge.direction == "output" or edge.dataset in inputs
                ],
                column_edges=kept,
                complete=rnd.choice(["outputs", "jobs"]),
            )
        )
    comeback = [
        LineageBatch(observed_at=JANUARY + timedelta(days=len(batches) + 15), source=batch.source,
                     dataset_edges=batch.dataset_edges, column_edges=batch.column_edges)
        for batch in rnd.sample(batches, 4)
    ]  # fmt: skip
    deleted = [(DatasetRef("postgres://wh:5432", "db.s.t3"), JANUARY + timedelta(days=len(batches) + 12))]
    return batches + later + comeback, deleted


@pytest.mark.parametrize("other", ["embedded-postgres", "neo4j"])
def test_backends_answer_alike_as_lineage_is_retired(
    make_graph: Callable[[str], BaseGraph], other: str
) -> None:
    reference, candidate = make_graph("embedded-sqlite"), make_graph(other)
    batches, deleted = retiring_warehouse(3)
    moments: list[datetime | None] = [None, *(JANUARY + timedelta(days=day) for day in (10, 30, 45, 55, 80))]
    for graph in (reference, candidate):
        for batch in batches[:-4]:
            graph.record(batch)
        for ref, when in deleted:
            assert graph.retire_datasets([ref], when) > 0
        graph.record_many(batches[-4:])

    def answers(graph: BaseGraph) -> list[Any]:
        found: list[Any] = []
        for index in range(14):
            dataset = DatasetRef("postgres://wh:5432", f"db.s.t{index}")
            for moment in moments:
                for direction in ("upstream", "downstream"):
                    walk = graph.lineage(
                        dataset.node_id, direction=direction, depth=4, max_nodes=None, as_of=moment
                    )
                    found.append(shape(walk))
                found.append(graph.impact(dataset.node_id, depth=4, as_of=moment).as_json())
                for field in ("c0", "c2"):
                    column = dataset.field_node_id(field)
                    try:
                        walk = graph.lineage(column, direction="both", depth=3, max_nodes=None, as_of=moment)
                    except UnknownNode:
                        found.append(None)
                        continue
                    found.append(shape(walk))
        return found

    with reference.store.engine.connect() as connection:
        retired, revived = (
            connection.execute(select(func.count()).where(column.is_not(None))).scalar_one()
            for column in (graph_edges.c.retired_at, graph_edges.c.gaps)
        )
    assert retired and revived  # the warehouse retires edges, and some come back
    assert answers(candidate) == answers(reference)
