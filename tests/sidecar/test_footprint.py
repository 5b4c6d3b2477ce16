"""A sidecar's memory: pandas (~40 MiB resident) is loaded only by the volume check, whose series
detector needs it; freshness and schema checks run on numpy alone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb

from tests.sidecar.conftest import sidecar_env

HEAVY = ("pandas", "scipy")
REPORT = (
    "import atexit, sys\n"
    f"atexit.register(lambda: print('loaded:', sorted(set({HEAVY!r}) & set(sys.modules)), file=sys.stderr))\n"
    "sys.argv = ['observer', 'sidecar', '--once']\n"
    "from observer.cli.main import main\n"
    "main()\n"
)


def loaded_by_once(tmp_path: Path, rules: list[dict[str, object]]) -> list[str]:
    """The heavy modules an ``observer sidecar --once`` process had loaded when it exited."""
    path = tmp_path / "warehouse.duckdb"
    connection = duckdb.connect(str(path))
    connection.execute("CREATE TABLE orders (id INTEGER, loaded_at TIMESTAMP)")
    connection.execute("INSERT INTO orders VALUES (1, now())")
    connection.close()
    env = sidecar_env(tmp_path, f"duckdb:///{path}", rules)
    done = subprocess.run(
        [sys.executable, "-c", REPORT], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
    )
    assert done.returncode in (0, 1), done.stderr
    line = next(row for row in done.stderr.splitlines() if row.startswith("loaded:"))
    return [name for name in HEAVY if repr(name) in line]


def test_freshness_and_schema_checks_do_not_load_pandas(tmp_path: Path) -> None:
    rules: list[dict[str, object]] = [
        {"dataset": "*", "freshness": {"max_age": "1h", "timestamp_column": "loaded_at"}},
        {"dataset": "*", "schema": {"enabled": True}},
    ]
    assert loaded_by_once(tmp_path, rules) == []
