"""SQL lineage throughput on the 121 TPC-H/TPC-DS queries, side by side with the peers, in one run.

    .venv/bin/python bench/lineage.py [--passes 3] [--skip-slow]

Every query is wrapped as ``INSERT INTO bench.<id> <query>`` (tools that need a write target then
produce lineage) and analysed with the TPC schema wherever a tool accepts one. One warm-up pass,
then ``--passes`` timed passes (one for the slow peers); per query the median time counts.
q/s = queries / sum of per-query medians. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
CORPUS = REPO / ".." / "shared" / "data" / "lineage-corpus" / "perf"

Run = Callable[[dict[str, Any]], int]  # returns output columns with at least one upstream


@dataclass
class Mode:
    name: str
    setup: Callable[[], Run]
    slow: bool = False


@dataclass
class Figures:
    name: str
    times: list[float]
    ok: int
    columns: int | None
    note: str = ""


def load() -> list[dict[str, Any]]:
    schemas = json.loads((CORPUS / "tpc_schemas.json").read_text())
    queries = []
    for line in (CORPUS / "tpc_queries.jsonl").read_text().splitlines():
        record = json.loads(line)
        record["schema"] = schemas[record["schema_ref"]]
        record["insert"] = f"INSERT INTO {record['target_table']} {record['sql']}"
        queries.append(record)
    return queries


def observer_mode() -> Run:
    from observer.lineage import analyze_sql

    def run(record: dict[str, Any]) -> int:
        result = analyze_sql(record["insert"], record["dialect"], schema=record["schema"])
        statement = result.statements[0]
        if statement.errors:
            raise RuntimeError("; ".join(statement.errors))
        return sum(1 for column in statement.columns if column.inputs)

    return run


def parse_only_mode() -> Run:
    import sqlglot

    def run(record: dict[str, Any]) -> int:
        sqlglot.parse_one(record["insert"], read=record["dialect"])
        return 0

    return run


def sqlglot_lineage_mode() -> Run:
    import sqlglot
    from sqlglot import exp
    from sqlglot.lineage import lineage

    def run(record: dict[str, Any]) -> int:
        query = sqlglot.parse_one(record["sql"], read=record["dialect"])
        with_upstream = 0
        for name in query.named_selects:
            node = lineage(name, record["sql"], schema=record["schema"], dialect=record["dialect"])
            with_upstream += any(isinstance(n.source, exp.Table) for n in node.walk())
        return with_upstream

    return run


def sqllineage_mode(dialect: str) -> Callable[[], Run]:
    def setup() -> Run:
        from sqllineage.core.metadata.dummy import DummyMetaDataProvider
        from sqllineage.runner import LineageRunner

        providers: dict[str, Any] = {}

        def run(record: dict[str, Any]) -> int:
            ref = record["schema_ref"]
            if ref not in providers:
                providers[ref] = DummyMetaDataProvider(
                    {f"<default>.{table}": list(columns) for table, columns in record["schema"].items()}
                )
            runner = LineageRunner(record["insert"], dialect=dialect, metadata_provider=providers[ref])
            return len({path[-1] for path in runner.get_column_lineage()})

        return run

    return setup


def openlineage_sql_mode() -> Run:
    import openlineage_sql

    def run(record: dict[str, Any]) -> int:
        meta = openlineage_sql.parse([record["insert"]], dialect="generic")
        return sum(1 for item in meta.column_lineage if item.lineage)

    return run


MODES = [
    Mode("sqlglot parse only", parse_only_mode),
    Mode("**Observer** `analyze_sql`, full column lineage", observer_mode),
    Mode("sqlglot `lineage()` per output column", sqlglot_lineage_mode, slow=True),
    Mode("sqllineage (sqlparse, `non-validating`)", sqllineage_mode("non-validating"), slow=True),
    Mode("sqllineage (sqlfluff, `ansi`)", sqllineage_mode("ansi"), slow=True),
    Mode("openlineage-sql (`generic`)", openlineage_sql_mode),
]


def measure(mode: Mode, queries: list[dict[str, Any]], passes: int) -> Figures:
    try:
        run = mode.setup()
    except Exception as problem:  # a peer that is not installed is reported, not fatal
        return Figures(mode.name, [], 0, None, f"cannot run: {type(problem).__name__}: {problem}")
    warm_up = queries[:3] if mode.slow else queries
    for record in warm_up:
        _attempt(run, record)
    per_query: list[list[float]] = [[] for _ in queries]
    ok = columns = 0
    for _ in range(1 if mode.slow else passes):
        ok = columns = 0
        for position, record in enumerate(queries):
            start = time.perf_counter()
            found = _attempt(run, record)
            per_query[position].append(time.perf_counter() - start)
            if found >= 0:
                ok += 1
                columns += found
    medians = [statistics.median(times) for times in per_query]
    return Figures(mode.name, medians, ok, None if mode.setup is parse_only_mode else columns)


def _attempt(run: Run, record: dict[str, Any]) -> int:
    try:
        return run(record)
    except Exception:
        return -1


def table(figures: list[Figures], total: int) -> str:
    lines = [
        f"| mode | q/s | p50 ms | p95 ms | max ms | ok / {total} | output columns with an upstream |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for item in figures:
        if not item.times:
            lines.append(f"| {item.name} | - | - | - | - | - | {item.note} |")
            continue
        ordered = sorted(item.times)
        rate = len(ordered) / sum(ordered)
        p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
        columns = "n/a" if item.columns is None else str(item.columns)
        lines.append(
            f"| {item.name} | {rate:.1f} | {statistics.median(ordered) * 1000:.1f} | {p95 * 1000:.1f} | "
            f"{ordered[-1] * 1000:.1f} | {item.ok} | {columns} |"
        )
    return "\n".join(lines)


def ratios(figures: list[Figures]) -> str:
    rate = {f.name: len(f.times) / sum(f.times) for f in figures if f.times}
    ours = rate.get(MODES[1].name)
    if ours is None:
        return ""
    lines = []
    for f in figures:
        if f.name != MODES[1].name and f.name in rate:
            lines.append(f"- Observer / {f.name}: {ours / rate[f.name]:.2f}x")
    observer = next(f for f in figures if f.name == MODES[1].name)
    lines.append(f"- Observer slowest query: {max(observer.times) * 1000:.0f} ms")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--passes", type=int, default=3, help="timed passes for the fast modes")
    parser.add_argument("--skip-slow", action="store_true", help="leave out sqlglot lineage() and sqllineage")
    args = parser.parse_args()
    if not CORPUS.is_dir():
        print(f"## SQL lineage\n\n{CORPUS} is not present; nothing to measure.")
        return 0
    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    logging.getLogger("sqllineage").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    queries = load()
    figures = []
    for mode in MODES:
        if args.skip_slow and mode.slow:
            continue
        print(f"measuring {mode.name} ...", file=sys.stderr, flush=True)
        figures.append(measure(mode, queries, args.passes))
    print(
        f"## SQL lineage: {len(queries)} TPC-H/TPC-DS queries, `INSERT INTO bench.<id> <query>`, with schemas\n"
    )
    print(table(figures, len(queries)))
    print()
    print(ratios(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
