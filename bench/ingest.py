"""Ingest throughput: events/s and p50/p99 latency of POST /api/v1/lineage, single events and arrays,
at concurrency 1, 16 and 64, beside a no-op endpoint on the same server (the HTTP ceiling), and
whether the projection keeps up (its lag when the load stops and how long it takes to drain).

    .venv/bin/python bench/ingest.py [--seconds 8] [--batch 100] [--store-url URL]

The server is a real ``observer serve`` process (SQLite in a temporary directory unless
``--store-url``) with one extra route, ``POST /bench/noop``, that reads the body and answers 201.
The load generator is a minimal keep-alive HTTP/1.1 client on asyncio, so that it costs the shared
2 cores as little as possible.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import psutil
from fastapi import Request, Response
from sqlalchemy import create_engine, text

REPO = Path(__file__).resolve().parents[1]
RUN_ID = "00000000-0000-4000-8000-000000000000"


def event_template() -> bytes:
    """A realistic ~2 KB COMPLETE event (schema, statistics, column lineage)."""
    schema = {"fields": [{"name": f"col_{index}", "type": "VARCHAR"} for index in range(12)]}
    column_lineage = {
        "fields": {
            f"col_{index}": {
                "inputFields": [
                    {
                        "namespace": "postgres://db:5432",
                        "name": "shop.public.orders",
                        "field": f"col_{index}",
                        "transformations": [{"type": "DIRECT", "subtype": "IDENTITY"}],
                    }
                ]
            }
            for index in range(4)
        }
    }
    event = {
        "eventType": "COMPLETE",
        "eventTime": "2026-05-01T05:00:00.000Z",
        "run": {"runId": RUN_ID, "facets": {}},
        "job": {"namespace": "bench", "name": "load_daily_orders", "facets": {}},
        "inputs": [
            {"namespace": "postgres://db:5432", "name": "shop.public.orders", "facets": {"schema": schema}}
        ],
        "outputs": [
            {
                "namespace": "postgres://db:5432",
                "name": "shop.public.daily_orders",
                "facets": {"schema": schema, "columnLineage": column_lineage},
                "outputFacets": {"outputStatistics": {"rowCount": 1200, "size": 65536}},
            }
        ],
        "producer": "https://github.com/OpenLineage/OpenLineage/tree/1.54.0/client/python",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    }
    return json.dumps(event).encode()


TEMPLATE = event_template()


def body(events: int) -> bytes:
    """``events`` distinct events (fresh run ids): one object, or an array when ``events`` > 1."""
    items = [TEMPLATE.replace(RUN_ID.encode(), str(uuid.uuid4()).encode()) for _ in range(events)]
    return items[0] if events == 1 else b"[" + b",".join(items) + b"]"


def request(path: str, payload: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    )
    return head.encode() + payload


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    if length:
        await reader.readexactly(length)
    return status


async def _load(
    port: int, path: str, events_per_request: int, concurrency: int, seconds: float
) -> dict[str, float]:
    payloads = [request(path, body(events_per_request)) for _ in range(64)]
    latencies: list[float] = []
    failures = 0
    deadline = time.perf_counter() + seconds

    async def connection(number: int) -> None:
        nonlocal failures
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        sent = number
        while time.perf_counter() < deadline:
            payload = payloads[sent % len(payloads)]
            if path != "/bench/noop":
                payload = request(path, body(events_per_request))
            sent += 1
            started = time.perf_counter()
            writer.write(payload)
            status = await _read_response(reader)
            latencies.append(time.perf_counter() - started)
            if status >= 300:
                failures += 1
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection(number) for number in range(concurrency)))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "requests": len(latencies),
        "events_per_s": len(latencies) * events_per_request / elapsed,
        "p50_ms": statistics.median(ordered) * 1000,
        "p99_ms": ordered[int(len(ordered) * 0.99) - 1] * 1000 if ordered else 0.0,
        "failures": failures,
    }


def serve(port: int, home: str, store_url: str | None) -> None:
    """The server process: ``observer serve`` plus the no-op route."""
    import uvicorn

    from api.app import create_app
    from observer.config import load_config
    from observer.logging import configure_logging
    from observer.runtime import Runtime, settle_for_serving

    os.environ["OBSERVER_HOME"] = home
    config = Path(home) / "observer.yaml"
    config.write_text(
        f"store:\n  url: {store_url}\nlog_level: warning\n" if store_url else "log_level: warning\n"
    )
    loaded = load_config(config)
    configure_logging("warning")
    runtime = Runtime.build(loaded.settings)
    runtime.store.upgrade()
    app = create_app(runtime)

    @app.post("/bench/noop", status_code=201)
    async def noop(request: Request) -> Response:
        await request.body()
        return Response(status_code=201)

    settle_for_serving()
    uvicorn.run(app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _lag(store_url: str) -> int:
    engine = create_engine(store_url)
    with engine.connect() as connection:
        newest = connection.execute(text("SELECT coalesce(max(id), 0) FROM lineage_events")).scalar_one()
        cursor = connection.execute(
            text("SELECT value FROM observer_state WHERE key = 'ingest.projection.cursor'")
        ).scalar()
    engine.dispose()
    return int(newest) - int(cursor or 0)


def _cpu(pid: int) -> float:
    """CPU seconds the server process used so far (all threads)."""
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def _drain_seconds(store_url: str, limit: float = 600) -> float | None:
    started = time.perf_counter()
    while time.perf_counter() - started < limit:
        if _lag(store_url) == 0:
            return time.perf_counter() - started
        time.sleep(0.25)
    return None


def cpu_costs(events: int = 4000) -> list[tuple[str, float]]:
    """CPU microseconds per event of each stage, in this process (robust to other load on the
    machine, unlike wall-clock rates): decode, validate + hash, append (group commits of 100),
    projection."""
    from observer.clock import SystemClock
    from observer.config.settings import GraphSettings
    from observer.graph.factory import open_graph
    from observer.ingest.log import EventLog
    from observer.ingest.parse import decode_json, parse_body
    from observer.ingest.projection import ProjectionWorker
    from observer.runtime import settle_for_serving
    from observer.store import Store

    settle_for_serving()  # as the server does
    store = Store(f"sqlite:///{tempfile.mkdtemp(prefix='observer-bench-cpu-')}/observer.db")
    store.upgrade()
    raw = body(events)
    started = time.process_time()
    document = decode_json(raw)
    decoded = time.process_time()
    parsed = parse_body(document)
    validated = time.process_time()
    event_log = EventLog(store, SystemClock())
    event_log.start()
    for offset in range(0, events, 100):
        event_log.append(parsed[offset : offset + 100])
    appended = time.process_time()
    event_log.stop()
    projection_started = time.process_time()
    ProjectionWorker(store, SystemClock(), open_graph(GraphSettings(), store), batch_size=200).drain()
    projected = time.process_time()
    store.dispose()
    per_event = 1e6 / events
    return [
        ("decode JSON", (decoded - started) * per_event),
        ("validate + hash", (validated - decoded) * per_event),
        ("append to the log (group commits of 100, fsync)", (appended - validated) * per_event),
        (
            "project (catalog, runs, versions, embedded lineage graph)",
            (projected - projection_started) * per_event,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="duration of each measurement")
    parser.add_argument("--batch", type=int, default=100, help="events per array in the batched posts")
    parser.add_argument("--store-url", default=None, help="default: SQLite in a temporary directory")
    parser.add_argument("--concurrency", default="1,16,64")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--home", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.port, args.home, args.store_url)
        return
    home = tempfile.mkdtemp(prefix="observer-bench-")
    store_url = args.store_url or f"sqlite:///{home}/observer.db"
    port = _free_port()
    command = [sys.executable, __file__, "--serve", "--port", str(port), "--home", home]
    if args.store_url:
        command += ["--store-url", args.store_url]
    server = subprocess.Popen(command, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        for _ in range(300):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        rows = []
        for concurrency in [int(value) for value in args.concurrency.split(",")]:
            for label, events in (("single event", 1), (f"array of {args.batch}", args.batch)):
                ceiling = asyncio.run(_load(port, "/bench/noop", events, concurrency, args.seconds))
                before = _cpu(server.pid)
                measured = asyncio.run(_load(port, "/api/v1/lineage", events, concurrency, args.seconds))
                lag = _lag(store_url)
                drain = _drain_seconds(store_url)
                total_events = measured["requests"] * events
                measured["cpu_us"] = (_cpu(server.pid) - before) / total_events * 1e6 if total_events else 0.0
                rows.append((label, concurrency, measured, ceiling, lag, drain))
                print(f"# {label} c={concurrency}: {measured['events_per_s']:.0f} ev/s", file=sys.stderr)
    finally:
        server.terminate()
        server.wait(30)
    costs = cpu_costs()
    store = "SQLite (WAL, fsync per group commit)" if not args.store_url else args.store_url.split(":")[0]
    load = os.getloadavg()[0]
    print(
        f"Store: {store}; {os.cpu_count()} cores (load average {load:.1f} at the end); "
        f"{args.seconds:.0f} s per measurement; event ≈ {len(TEMPLATE)} bytes.\n"
    )
    print(
        "| posts | concurrency | events/s | p50 ms | p99 ms | no-op ceiling events/s | ratio | lag at end "
        "| drained in | server CPU µs/event (ingest + projection) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, concurrency, measured, ceiling, lag, drain in rows:
        ratio = measured["events_per_s"] / ceiling["events_per_s"] if ceiling["events_per_s"] else 0
        drained = f"{drain:.1f} s" if drain is not None else "did not drain"
        failures = f" ({measured['failures']} failed)" if measured["failures"] else ""
        print(
            f"| {label} | {concurrency} | {measured['events_per_s']:,.0f}{failures} | {measured['p50_ms']:.1f} | "
            f"{measured['p99_ms']:.1f} | {ceiling['events_per_s']:,.0f} | {ratio:.2f} | {lag:,} | {drained} | "
            f"{measured['cpu_us']:,.0f} |"
        )
    print("\nCPU per event by stage (process CPU time, 4,000 events, in-process):\n")
    print("| stage | CPU µs/event | events per CPU-second |")
    print("|---|---:|---:|")
    for stage, micros in costs:
        print(f"| {stage} | {micros:,.0f} | {1e6 / micros:,.0f} |")
    ingest = sum(micros for stage, micros in costs[:3])
    print(f"| **ingest path (decode + validate + append)** | **{ingest:,.0f}** | **{1e6 / ingest:,.0f}** |")


if __name__ == "__main__":
    main()
