"""Run every benchmark in this folder, one after another (``make bench``).

Each benchmark is its own script printing a markdown table; the figures are copied into
docs/benchmarks.md with the command that produced them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
BENCHMARKS = [
    "ingest.py",
    "lineage.py",
    "graph.py",
    "collect.py",
    "detectors/run.py",
    "alerts.py",
    "sidecar.py",
]


def main() -> int:
    failed = []
    for name in BENCHMARKS:
        script = HERE / name
        if not script.exists():
            print(f"## {name}: missing", flush=True)
            failed.append(name)
            continue
        print(f"## {name}", flush=True)
        if subprocess.run([sys.executable, str(script)], check=False).returncode != 0:
            failed.append(name)
    if failed:
        print(f"failed or missing: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
