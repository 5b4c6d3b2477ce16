"""``observer sidecar --once`` and ``observer check … --once``: tables, exit codes 0 / 1 / 2."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from observer.catalog.identity import DatasetRef
from observer.catalog.records import DatasetUpdate
from observer.catalog.service import record_updates
from observer.store import Store


def observer(*args: str, home: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OBSERVER_")}
    environment.update({"OBSERVER_HOME": str(home), **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "observer", *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=home,
        timeout=120,
    )


def test_sidecar_once_without_a_warehouse_is_a_config_error(tmp_path: Path) -> None:
    result = observer("sidecar", "--once", home=tmp_path)
    assert result.returncode == 2
    assert "no warehouse to watch" in result.stderr and "OBSERVER_WAREHOUSES__0__URL" in result.stderr


def test_sidecar_once_with_a_bad_setting_names_it(tmp_path: Path) -> None:
    result = observer("sidecar", "--once", home=tmp_path, env={"OBSERVER_SIDECAR__INTERVAL": "soon"})
    assert result.returncode == 2 and "OBSERVER_SIDECAR__INTERVAL" in result.stderr


def test_sidecar_once_with_an_unreachable_warehouse_exits_2(tmp_path: Path) -> None:
    env = {
        "OBSERVER_WAREHOUSES__0__NAME": "gone",
        "OBSERVER_WAREHOUSES__0__URL": "postgresql://nobody@127.0.0.1:1/none",
    }
    result = observer("sidecar", "--once", home=tmp_path, env=env)
    assert result.returncode == 2, result.stderr
    assert "gone could not be read" in result.stderr


def test_check_freshness_once_reads_the_store(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'observer.db'}")
    store.upgrade()
    now = datetime.now(UTC)
    fresh, stale = (
        DatasetRef("postgres://db:5432", "shop.public.fresh"),
        DatasetRef("postgres://db:5432", "shop.public.stale"),
    )
    with store.engine.begin() as connection:
        record_updates(
            connection,
            [
                DatasetUpdate(fresh, now - timedelta(minutes=5), "test"),
                DatasetUpdate(stale, now - timedelta(hours=3), "test"),
            ],
            now,
        )
    store.dispose()
    rules = {"OBSERVER_CHECKS__RULES": '[{dataset: "*", freshness: {max_age: 1h}}]'}
    result = observer("check", "freshness", "--once", home=tmp_path, env=rules)
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["CHECK", "DATASET", "STATUS"]
    assert "shop.public.stale" in lines[1] and "PROBLEM" in lines[1]
    assert "2 checked, 1 with a problem" in lines[-1]
    only_fresh = {"OBSERVER_CHECKS__RULES": '[{dataset: "*.fresh", freshness: {max_age: 1h}}]'}
    assert observer("check", "freshness", "--once", home=tmp_path, env=only_fresh).returncode == 0
    assert observer("check", "schema", "--once", home=tmp_path).returncode == 0  # no schema recorded


def test_sidecar_once_with_a_warehouse_the_collectors_do_not_support_exits_2(tmp_path: Path) -> None:
    env = {"OBSERVER_WAREHOUSES__0__NAME": "legacy", "OBSERVER_WAREHOUSES__0__URL": "mysql://u@db/shop"}
    result = observer("sidecar", "--once", home=tmp_path, env=env)
    assert result.returncode == 2
    assert "legacy" in result.stderr and "no collector for 'mysql'" in result.stderr


def test_sidecar_whose_store_cannot_be_migrated_exits_2_naming_it(tmp_path: Path) -> None:
    """The long-running sidecar migrates its store in a child process; a failure there still ends the
    sidecar with exit code 2 and the store's problem, not a hang or a traceback."""
    env = {
        "OBSERVER_WAREHOUSES__0__NAME": "main",
        "OBSERVER_WAREHOUSES__0__URL": f"duckdb:///{tmp_path / 'warehouse.duckdb'}",
        "OBSERVER_STORE__URL": "postgresql+psycopg://nobody@127.0.0.1:1/none",
        "OBSERVER_SIDECAR__PORT": "0",
    }
    result = observer("sidecar", home=tmp_path, env=env)
    assert result.returncode == 2, result.stderr
    assert "cannot upgrade postgresql+psycopg://nobody@127.0.0.1:1/none" in result.stderr
