"""Sidecar cost: 1,000 PostgreSQL tables checked per cycle.

Creates a private database with 1,000 tables, runs the sidecar's cycle in-process (10 cycles, 100
tables written between cycles, a max_age SLA on every table), and reports warehouse queries per
cycle (every statement sent, counted on the engine), cycle time and the process's RSS.

Run: ``.venv/bin/python bench/sidecar.py`` (uses $OBSERVER_TEST_POSTGRES_URL, default
postgresql+psycopg://postgres@127.0.0.1:5432/test, to create and drop its database).
"""

from __future__ import annotations

import os
import resource
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psutil
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from observer.config.loader import load_config
from observer.sidecar.app import assemble
from observer.sidecar.signals import PostgresSignals

TABLES = 1_000
CYCLES = 10
WRITTEN_PER_CYCLE = 100


def main() -> None:
    admin_url = os.environ.get(
        "OBSERVER_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    name = f"observer_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        run(url)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run(url: str) -> None:
    writer = create_engine(url, poolclass=NullPool)
    with writer.begin() as connection:
        for index in range(TABLES):
            connection.execute(text(f"CREATE TABLE public.t{index:04d} (id int)"))
    home = tempfile.mkdtemp()
    env = {
        "OBSERVER_HOME": home,
        "OBSERVER_WAREHOUSES__0__NAME": "bench",
        "OBSERVER_WAREHOUSES__0__URL": url,
        "OBSERVER_CHECKS__RULES": '[{dataset: "*", freshness: {max_age: 1h}}]',
    }
    settings = load_config(None, environ=env, use_default_path=False).settings
    assembly = assemble(settings)
    source = assembly.sources[0]
    assert isinstance(source, PostgresSignals)
    statements = [0]
    event.listen(
        source.engine, "before_cursor_execute", lambda *args: statements.__setitem__(0, statements[0] + 1)
    )
    assembly.store.upgrade()
    assembly.sidecar.restore(assembly.sidecar.clock.now())
    process = psutil.Process()
    times, queries, updates = [], [], 0
    for cycle in range(CYCLES):
        with writer.begin() as connection:
            for index in range(cycle * WRITTEN_PER_CYCLE, (cycle + 1) * WRITTEN_PER_CYCLE):
                connection.execute(text(f"INSERT INTO public.t{index % TABLES:04d} VALUES (1)"))
        writer.dispose()  # the writing backend ends and reports its table statistics
        time.sleep(0.5)
        before = statements[0]
        started = time.perf_counter()
        report = assembly.sidecar.run_cycle()
        times.append(time.perf_counter() - started)
        queries.append(statements[0] - before)
        assert report.ok and len(report.results) == TABLES, report.failed
        updates = sum(len(history) for history in assembly.sidecar.tracker.histories.values())
    rss = process.memory_info().rss / 2**20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assembly.close()
    writer.dispose()
    print(
        "| tables | cycles | warehouse queries per cycle | cycle time median | cycle time max | updates seen | RSS | peak RSS |"
    )
    print("|---|---|---|---|---|---|---|---|")
    print(
        f"| {TABLES:,} | {CYCLES} | {statistics.median(queries):.0f} (max {max(queries)}) "
        f"| {statistics.median(times) * 1000:.0f} ms | {max(times) * 1000:.0f} ms | {updates} "
        f"| {rss:.0f} MiB | {peak:.0f} MiB |"
    )


if __name__ == "__main__":
    main()
