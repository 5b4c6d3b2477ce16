"""Sidecar cost: 1,000 tables checked per cycle.

Creates a private warehouse with ``--tables`` tables (a PostgreSQL database, or a DuckDB file), runs
the sidecar's cycle in-process (``--cycles`` cycles, ``--written`` tables written between cycles, a
max_age SLA on every table; with ``--checks schema`` also schema checks, with ``--checks all`` also
volume and schema checks on every table), and reports warehouse queries per cycle (every statement
sent, counted on the engine) and cycle time.
Then it runs ``observer sidecar`` itself as a process against the same warehouse (1 s interval) and
reports that process's RSS (now and peak) after a few cycles: what a deployment pays.

Run: ``.venv/bin/python bench/sidecar.py [--warehouse postgres|duckdb] [--checks freshness|schema|all]``
(PostgreSQL: uses $OBSERVER_TEST_POSTGRES_URL, default postgresql+psycopg://postgres@127.0.0.1:5432/test,
to create and drop its database).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psutil
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from observer.config.loader import load_config
from observer.sidecar.app import assemble, start

Execute = Callable[[list[str]], None]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--warehouse", choices=("postgres", "duckdb"), default="postgres")
    parser.add_argument("--tables", type=int, default=1_000)
    parser.add_argument("--cycles", type=int, default=10)
    parser.add_argument("--written", type=int, default=100, help="tables written between two cycles")
    parser.add_argument(
        "--checks",
        choices=("freshness", "schema", "all"),
        default="freshness",
        help="schema: schema checks on every table too; all: volume and schema checks",
    )
    args = parser.parse_args()
    warehouse = postgres if args.warehouse == "postgres" else duckdb_file
    with warehouse() as (url, execute):
        run(url, execute, args)


@contextmanager
def postgres() -> Iterator[tuple[str, Execute]]:
    admin_url = os.environ.get(
        "OBSERVER_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    name = f"observer_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    writer = create_engine(url, poolclass=NullPool)

    def execute(statements: list[str]) -> None:
        # A connection per batch: a backend reports its table statistics when it ends.
        with writer.begin() as connection:
            for statement in statements:
                connection.execute(text(statement))
        time.sleep(0.5)  # the statistics collector publishes within its interval

    try:
        yield url, execute
    finally:
        writer.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def duckdb_file() -> Iterator[tuple[str, Execute]]:
    import duckdb

    path = Path(tempfile.mkdtemp()) / "bench.duckdb"

    def execute(statements: list[str]) -> None:
        connection = duckdb.connect(str(path))
        try:
            for statement in statements:
                connection.execute(statement)
        finally:
            connection.close()

    yield f"duckdb:///{path}", execute


def run(url: str, execute: Execute, args: argparse.Namespace) -> None:
    execute([f"CREATE TABLE t{index:05d} (id int, note varchar(20))" for index in range(args.tables)])
    rule: dict[str, Any] = {"dataset": "*", "freshness": {"max_age": "1h"}}
    if args.checks in ("schema", "all"):
        rule.update(schema={"enabled": True})
    if args.checks == "all":
        rule.update(volume={"enabled": True})
    env = {
        "OBSERVER_HOME": tempfile.mkdtemp(),
        "OBSERVER_WAREHOUSES__0__NAME": "bench",
        "OBSERVER_WAREHOUSES__0__URL": url,
        "OBSERVER_CHECKS__RULES": json.dumps([rule]),
    }
    settings = load_config(None, environ=env, use_default_path=False).settings
    assembly = assemble(settings)
    statements = [0]
    event.listen(
        assembly.sources[0].engine,
        "before_cursor_execute",
        lambda *_: statements.__setitem__(0, statements[0] + 1),
    )
    start(assembly)
    times, queries = [], []
    for cycle in range(args.cycles):
        written = range(cycle * args.written, (cycle + 1) * args.written)
        execute([f"INSERT INTO t{index % args.tables:05d} VALUES (1, 'x')" for index in written])
        before = statements[0]
        started = time.perf_counter()
        report = assembly.sidecar.run_cycle()
        times.append(time.perf_counter() - started)
        queries.append(statements[0] - before)
        assert report.ok, report.failed
        assert len({result.dataset for result in report.results}) == args.tables
    updates = sum(len(history) for history in assembly.sidecar.tracker.histories.values())
    assembly.close()
    rss, peak = process_rss(env)
    print(
        "| warehouse | checks | tables | cycles | warehouse queries per cycle | cycle time median "
        "| cycle time max | updates seen | process RSS | process peak RSS |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    print(
        f"| {args.warehouse} | {args.checks} | {args.tables:,} | {args.cycles} "
        f"| {statistics.median(queries):.0f} (max {max(queries)}) "
        f"| {statistics.median(times) * 1000:.0f} ms | {max(times) * 1000:.0f} ms | {updates} "
        f"| {rss:.0f} MiB | {peak:.0f} MiB |"
    )


def process_rss(env: dict[str, str], cycles: int = 5) -> tuple[float, float]:
    """RSS and peak RSS (MiB) of a real ``observer sidecar`` after ``cycles`` cycles."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    environment = {key: value for key, value in os.environ.items() if not key.startswith("OBSERVER_")}
    environment.update(
        env,
        OBSERVER_SIDECAR__INTERVAL="1s",
        OBSERVER_SIDECAR__JITTER="0s",
        OBSERVER_SIDECAR__HOST="127.0.0.1",
        OBSERVER_SIDECAR__PORT=str(port),
        OBSERVER_LOG_LEVEL="warning",
    )
    child = subprocess.Popen([sys.executable, "-m", "observer", "sidecar"], env=environment)
    try:
        deadline = time.monotonic() + 300
        while cycles_done(port) < cycles:
            if child.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"observer sidecar did not run {cycles} cycles (exit code {child.poll()})")
            time.sleep(0.5)
        status = Path(f"/proc/{child.pid}/status").read_text()
        peak = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
        return psutil.Process(child.pid).memory_info().rss / 2**20, peak / 1024
    finally:
        child.send_signal(signal.SIGTERM)
        child.wait(timeout=60)


def cycles_done(port: int) -> float:
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    except httpx.HTTPError:
        return 0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "observer_sidecar_cycles_total" and sample.labels.get("outcome") == "ok":
                return sample.value
    return 0


if __name__ == "__main__":
    main()
