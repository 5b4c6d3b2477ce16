"""Edge scoring against the shared lineage corpora, each with its own conventions (see the reference).

An edge is (output column, upstream table's last name part, upstream column), lower-cased.

- DataHub goldens count values that flow into an output: DIRECT inputs plus CASE/IF conditions
  (CONDITIONAL), for every statement including plain SELECTs; they have no virtual ``*`` columns.
- sqllineage tests count end-to-end source → target pairs of write statements, collapsed through
  tables the script writes and reads again; every column inside the output expression counts,
  including window keys (DIRECT, CONDITIONAL and WINDOW).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from observer.lineage import LineageResult, Subtype, analyze_sql, end_to_end
from observer.lineage.model import DIRECT_SUBTYPES

Edge = tuple[str, str, str]

DATAHUB_SUBTYPES = frozenset(DIRECT_SUBTYPES | {Subtype.CONDITIONAL})
SQLLINEAGE_SUBTYPES = frozenset(DIRECT_SUBTYPES | {Subtype.CONDITIONAL, Subtype.WINDOW})


def edge(column: str, table: str | None, upstream: str) -> Edge:
    return (column.lower(), (table or "").split(".")[-1].lower(), upstream.lower())


def expected_edges(record: dict[str, Any]) -> set[Edge]:
    edges = set()
    for item in record["expected"].get("column_lineage") or []:
        for upstream in item["upstreams"]:
            edges.add(edge(item["downstream"]["column"], upstream["table"], upstream["column"]))
    return edges


def datahub_edges(result: LineageResult) -> set[Edge]:
    edges = set()
    for statement in result.statements:
        for column in statement.columns:
            for upstream in column.inputs:
                if "*" in (upstream.column, column.output.column):
                    continue
                if any(t.subtype in DATAHUB_SUBTYPES for t in upstream.transformations):
                    edges.add(edge(column.output.column, upstream.table, upstream.column))
    return edges


def sqllineage_edges(result: LineageResult) -> set[Edge]:
    return {
        edge(column.output.column, upstream.table, upstream.column)
        for column in end_to_end(result, SQLLINEAGE_SUBTYPES)
        for upstream in column.inputs
    }


@dataclass
class Score:
    corpus: str
    cases: int = 0
    exact: int = 0
    true_positives: int = 0
    predicted: int = 0
    expected: int = 0
    misses: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.true_positives / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.expected if self.expected else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def add(self, case_id: str, predicted: set[Edge], expected: set[Edge]) -> None:
        self.cases += 1
        self.exact += predicted == expected
        self.true_positives += len(predicted & expected)
        self.predicted += len(predicted)
        self.expected += len(expected)
        if predicted != expected:
            self.misses.append(
                f"{case_id}: missing {sorted(expected - predicted)} extra {sorted(predicted - expected)}"
            )

    def summary(self) -> str:
        return (
            f"{self.corpus}: {self.cases} cases, exact {self.exact}/{self.cases}, "
            f"edge P {self.precision:.3f} R {self.recall:.3f} F1 {self.f1:.3f} "
            f"({self.true_positives} of {self.expected} expected, {self.predicted} predicted)"
        )


def records(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def analyze_record(record: dict[str, Any]) -> LineageResult:
    return analyze_sql(
        record["sql"],
        record.get("dialect"),
        schema=record.get("schema") or None,
        default_db=record.get("default_db"),
        default_schema=record.get("default_schema"),
    )


def score(corpus: str, cases: Iterable[dict[str, Any]], sqllineage_conventions: bool) -> Score:
    result = Score(corpus)
    for record in cases:
        analysed = analyze_record(record)
        predicted = sqllineage_edges(analysed) if sqllineage_conventions else datahub_edges(analysed)
        result.add(record["id"], predicted, expected_edges(record))
    return result
