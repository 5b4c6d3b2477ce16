"""A sidecar's memory (the issue's target: RSS under 150 MB). What a sidecar does not need stays out
of its process: pandas and scipy (~45 MiB resident: the volume check's series detector runs on numpy),
Alembic (the long-running sidecar migrates its store in a child process), sqlglot (needed only to
build the ``timestamp_column`` query), and the HTTP and Slack clients of notifiers nobody configured."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import httpx

from tests.sidecar.conftest import sample, sidecar_env

HEAVY = ("pandas", "scipy", "alembic", "sqlglot", "httpx", "slack_sdk")
REPORT = (
    "import atexit, sys\n"
    f"atexit.register(lambda: print('loaded:', sorted(set({HEAVY!r}) & set(sys.modules)), file=sys.stderr))\n"
    "sys.argv = ['observer', 'sidecar', *sys.argv[1:]]\n"
    "from observer.cli.main import main\n"
    "main()\n"
)
EVERY_CHECK: list[dict[str, object]] = [
    {"dataset": "*", "freshness": {"max_age": "1h"}, "volume": {"enabled": True}, "schema": {"enabled": True}}
]


def warehouse(tmp_path: Path) -> str:
    path = tmp_path / "warehouse.duckdb"
    connection = duckdb.connect(str(path))
    connection.execute("CREATE TABLE orders (id INTEGER, loaded_at TIMESTAMP)")
    connection.execute("INSERT INTO orders VALUES (1, now())")
    connection.close()
    return f"duckdb:///{path}"


def loaded(stderr: str) -> list[str]:
    line = next(row for row in stderr.splitlines() if row.startswith("loaded:"))
    return [name for name in HEAVY if repr(name) in line]


def loaded_by_once(tmp_path: Path, rules: list[dict[str, object]]) -> list[str]:
    """The heavy modules an ``observer sidecar --once`` process had loaded when it exited."""
    env = sidecar_env(tmp_path, warehouse(tmp_path), rules)
    done = subprocess.run(
        [sys.executable, "-c", REPORT, "--once"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode in (0, 1), done.stderr
    return loaded(done.stderr)


def test_freshness_and_schema_checks_load_only_what_the_timestamp_column_needs(tmp_path: Path) -> None:
    rules: list[dict[str, object]] = [
        {"dataset": "*", "freshness": {"max_age": "1h", "timestamp_column": "loaded_at"}},
        {"dataset": "*", "schema": {"enabled": True}},
    ]
    # --once migrates its store in-process (Alembic); the max(loaded_at) query is built with sqlglot
    assert loaded_by_once(tmp_path, rules) == ["alembic", "sqlglot"]


def test_volume_checks_do_not_load_pandas(tmp_path: Path) -> None:
    assert "pandas" not in loaded_by_once(tmp_path, EVERY_CHECK)


def cycles_done(port: int) -> float:
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=1).text
    except httpx.HTTPError:
        return 0.0
    return sample(text, "observer_sidecar_cycles_total", outcome="ok") or 0.0


def test_a_long_running_sidecar_with_every_check_keeps_the_heavy_modules_out(tmp_path: Path) -> None:
    env = sidecar_env(tmp_path, warehouse(tmp_path), EVERY_CHECK)
    port = int(env["OBSERVER_SIDECAR__PORT"])
    with (tmp_path / "sidecar.log").open("w+") as log:
        process = subprocess.Popen([sys.executable, "-c", REPORT], stderr=log, env=env, cwd=tmp_path)
        try:
            deadline = time.monotonic() + 60
            while cycles_done(port) < 2:  # two cycles: every check judged, the volume series read back
                assert time.monotonic() < deadline, "the sidecar did not finish two cycles in 60 s"
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=0.2)
                assert process.returncode is None, "the sidecar exited"
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=60) == 0
        finally:
            if process.poll() is None:
                process.kill()
        log.seek(0)
        assert loaded(log.read()) == []
