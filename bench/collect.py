"""Warehouse collection of 10,000 PostgreSQL tables in 50 schemas.

    .venv/bin/python bench/collect.py [--postgres-url URL] [--store sqlite|postgres]
                                      [--schemas 50] [--tables-per-schema 200]

A scratch database is created on the server (default: $OBSERVER_TEST_POSTGRES_URL, else
postgresql+psycopg://postgres@127.0.0.1:5432/test), filled with tables of six columns (one in ten
holds a few rows), collected four times into a fresh store (a SQLite file, or a second scratch
database on the same server), then dropped:

- cold: every table is new (datasets, schema versions, metrics, collector state are all written);
- then every 15 minutes of simulated time for an hour: nothing changed, except that before the
  +30 min pass 100 tables got rows and 10 a new column. Unchanged row counts and sizes are stored
  again once an hour per table, spread over the passes (about a quarter of the tables each).

Timed: each whole pass (catalog read, store writes). Counted: queries sent to the warehouse.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from collectors.warehouse.collect import CollectionReport, collect_warehouse  # noqa: E402
from observer.clock import SimulatedClock  # noqa: E402
from observer.config.settings import WarehouseSettings  # noqa: E402
from observer.store import Store  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def create_tables(url: str, schemas: int, per_schema: int) -> float:
    engine = create_engine(url)
    started = time.perf_counter()
    for s in range(schemas):
        statements = [f"CREATE SCHEMA s{s:02d}"]
        for t in range(per_schema):
            name = f"s{s:02d}.t{t:04d}"
            statements.append(
                f"CREATE TABLE {name} (id bigint PRIMARY KEY, customer_id integer, amount numeric(12, 2), "
                f"status text, note varchar(200), created_at timestamptz NOT NULL DEFAULT now())"
            )
            if t % 10 == 0:
                statements.append(
                    f"INSERT INTO {name} (id, customer_id, amount, status) "
                    f"SELECT i, i % 50, i * 1.5, 'new' FROM generate_series(1, {10 + t}) AS i"
                )
        with engine.begin() as connection:
            connection.execute(text(";\n".join(statements)))
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_stat_force_next_flush()"))
    engine.dispose()
    return time.perf_counter() - started


def write_some(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        for n in range(100):
            table = f"s{n % 50:02d}.t{n * 2 + 1:04d}"
            connection.execute(
                text(f"INSERT INTO {table} (id, status) SELECT i, 'paid' FROM generate_series(1, 5) i")
            )
        for n in range(10):
            connection.execute(text(f"ALTER TABLE s{n:02d}.t0003 ADD COLUMN extra integer"))
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_stat_force_next_flush()"))
    engine.dispose()


def row(label: str, report: CollectionReport) -> str:
    if not report.ok:
        raise SystemExit(f"{label}: {report.error}")
    catalog = report.phases.get("catalog", 0.0)
    writing = report.phases.get("writing", 0.0)
    return (
        f"| {label} | {report.tables:,} | {report.metadata_queries} | {report.queries} | "
        f"{report.schema_versions:,} | {report.metric_points:,} | {report.updates} | "
        f"{catalog:.2f} | {writing:.2f} | **{report.duration_s:.2f}** |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--postgres-url", default=os.environ.get("OBSERVER_TEST_POSTGRES_URL", DEFAULT_URL))
    parser.add_argument("--store", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--schemas", type=int, default=50)
    parser.add_argument("--tables-per-schema", type=int, default=200)
    args = parser.parse_args()

    admin = create_engine(args.postgres_url, isolation_level="AUTOCOMMIT")
    name = f"observer_bench_collect_{uuid.uuid4().hex[:8]}"
    store_name = f"{name}_store"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
            if args.store == "postgres":
                connection.execute(text(f'CREATE DATABASE "{store_name}"'))
    except Exception as error:
        print(
            f"cannot create a scratch database on {make_url(args.postgres_url).host}: {error}",
            file=sys.stderr,
        )
        return 1
    url = make_url(args.postgres_url).set(database=name).render_as_string(hide_password=False)
    try:
        setup = create_tables(url, args.schemas, args.tables_per_schema)
        total = args.schemas * args.tables_per_schema
        with tempfile.TemporaryDirectory() as home:
            store_url = (
                make_url(args.postgres_url).set(database=store_name).render_as_string(hide_password=False)
                if args.store == "postgres"
                else f"sqlite:///{home}/observer.db"
            )
            store = Store(store_url)
            store.upgrade()
            clock = SimulatedClock(datetime(2026, 3, 10, 12, tzinfo=UTC))
            settings = WarehouseSettings.model_validate({"name": "bench", "url": url})
            reports = [("cold (all new)", collect_warehouse(settings, store=store, clock=clock))]
            for minutes in (15, 30, 45, 60):
                if minutes == 30:
                    write_some(url)
                clock.advance(timedelta(minutes=15))
                label = f"+{minutes} min" + (" (after writes to 100 tables)" if minutes == 30 else "")
                reports.append((label, collect_warehouse(settings, store=store, clock=clock)))
            store.dispose()
        print(
            f"{total:,} tables in {args.schemas} schemas created in {setup:.0f}s (not timed); store: {args.store}\n"
        )
        print(
            "| pass | tables | catalog queries | queries | schema versions | points | updates "
            "| catalog read s | store write s | total s |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for label, report in reports:
            print(row(label, report))
    finally:
        with admin.connect() as connection:
            for database in (name, store_name):
                connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
