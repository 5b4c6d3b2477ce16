"""``observer collect`` and ``observer collect dbt`` as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.collectors.dbt_project import write_project


def observer(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "OBSERVER_HOME": str(home), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "observer", *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=home,
        timeout=120,
    )


@pytest.fixture
def home(tmp_path: Path) -> Path:
    with duckdb.connect(str(tmp_path / "lake.duckdb")) as connection:
        connection.execute("CREATE TABLE events AS SELECT range AS id FROM range(3)")
    (tmp_path / "observer.yaml").write_text(
        f"""warehouses:
  - name: lake
    url: duckdb:///{tmp_path / "lake.duckdb"}
  - name: gone
    url: duckdb:///{tmp_path / "gone.duckdb"}
dbt:
  - name: shop
    target_dir: {tmp_path / "target"}
    namespace: postgres://127.0.0.1:5432
"""
    )
    return tmp_path


def test_collect_one_warehouse_prints_a_summary(home: Path) -> None:
    result = observer("collect", "--warehouse", "lake", home=home)
    assert result.returncode == 0, result.stderr
    assert "lake" in result.stdout and "warehouse collection" in result.stdout
    assert "3 (3)" in result.stdout


def test_a_failing_warehouse_exits_1_with_its_reason_and_the_others_are_collected(home: Path) -> None:
    result = observer("collect", home=home)
    assert result.returncode == 1
    assert "error: warehouse gone: reading the catalog of gone:" in result.stderr
    assert "lake" in result.stdout and "failed" in result.stdout


def test_an_unknown_warehouse_is_a_usage_error(home: Path) -> None:
    result = observer("collect", "--warehouse", "nope", home=home)
    assert result.returncode == 2
    assert "no warehouse named 'nope'" in result.stderr


def test_collect_dbt_reads_the_configured_project_and_a_given_target_dir(home: Path) -> None:
    write_project(home / "target", database="analytics")
    configured = observer("collect", "dbt", home=home)
    assert configured.returncode == 0, configured.stderr
    assert "shop" in configured.stdout
    adhoc = observer(
        "collect", "dbt", "--target-dir", str(home / "target"), "--namespace", "postgres://db:5432", home=home
    )
    assert adhoc.returncode == 0, adhoc.stderr
    missing = observer(
        "collect", "dbt", "--target-dir", str(home / "nowhere"), "--warehouse", "lake", home=home
    )
    assert missing.returncode == 2 and "nowhere: not a directory" in missing.stderr


def test_a_target_dir_without_a_namespace_is_refused_when_it_is_ambiguous(home: Path) -> None:
    write_project(home / "target", database="analytics")
    result = observer("collect", "dbt", "--target-dir", str(home / "target"), home=home)
    assert result.returncode == 2 and "--warehouse NAME" in result.stderr
