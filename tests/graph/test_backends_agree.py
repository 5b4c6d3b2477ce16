"""The same recorded graph gives the same answers on every backend: random warehouses (with
cycles, hubs, job-less SQL edges, several sources and times) asked every kind of question."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from observer.catalog.identity import DatasetRef, JobRef
from observer.graph.base import BaseGraph
from observer.graph.model import (
    ColumnEdge,
    ColumnRef,
    DatasetEdge,
    LineageBatch,
    Transformation,
    TransformationType,
)
from observer.graph.results import Direction, Walk
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
