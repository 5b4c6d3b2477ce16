"""``observer lineage upstream|downstream`` and ``observer graph rebuild``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from observer.cli.main import app
from observer.config.settings import GraphSettings
from observer.graph.embedded import EmbeddedGraph
from observer.graph.neo4j_backend import Bolt
from observer.store import Store
from tests.graph.conftest import BoltServer, free_bolt_port, wipe
from tests.graph.shop import CAMPAIGNS, RAW_ORDERS, REVENUE, STG_ORDERS, record_shop


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A store holding the shop graph, and a config naming it."""
    monkeypatch.setenv("OBSERVER_HOME", str(tmp_path))
    url = f"sqlite:///{tmp_path / 'observer.db'}"
    store = Store(url)
    store.upgrade()
    record_shop(EmbeddedGraph(store, GraphSettings()))
    store.dispose()
    (tmp_path / "observer.yaml").write_text(f"store:\n  url: {url}\n")
    return tmp_path


def run(home: Path, *args: str, config: str = "observer.yaml") -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [*args, "--config", str(home / config)])
    return result.exit_code, result.stdout, result.stderr


def test_downstream_prints_a_tree_with_hops(home: Path) -> None:
    code, out, _ = run(home, "lineage", "downstream", RAW_ORDERS.node_id, "--depth", "2")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == RAW_ORDERS.node_id
    assert "└── job:airflow:shop.stg_orders  (1)" in lines[1]
    assert any(line.endswith(f"{STG_ORDERS.node_id}  (1)") for line in lines)
    assert any(line.endswith(f"{REVENUE.node_id}  (2)") for line in lines)
    assert not any(CAMPAIGNS.node_id in line for line in lines)


def test_upstream_as_json(home: Path) -> None:
    code, out, _ = run(home, "lineage", "upstream", REVENUE.field_node_id("revenue"), "--json")
    assert code == 0
    walk = json.loads(out)
    assert walk["level"] == "column" and walk["direction"] == "upstream"
    assert {node["nodeId"]: node["hops"] for node in walk["nodes"]}[RAW_ORDERS.field_node_id("amount")] == 2


def test_truncation_is_announced(home: Path) -> None:
    code, out, _ = run(home, "lineage", "downstream", RAW_ORDERS.node_id, "--max-nodes", "2")
    assert code == 0
    assert "truncated at 2 nodes" in out


def test_unknown_and_malformed_nodes_exit_2(home: Path) -> None:
    code, _, err = run(home, "lineage", "upstream", "dataset:nowhere:nothing")
    assert code == 2 and "dataset:nowhere:nothing" in err
    code, _, err = run(home, "lineage", "upstream", "orders")
    assert code == 2 and "must look like" in err


def test_rebuild_embedded(home: Path) -> None:
    code, out, _ = run(home, "graph", "rebuild")
    assert code == 0
    assert "rebuilt the embedded graph" in out


def test_switching_to_neo4j_takes_a_rebuild(home: Path, bolt_server: BoltServer, shared_bolt: Bolt) -> None:
    wipe(shared_bolt)
    url = f"sqlite:///{home / 'observer.db'}"
    (home / "neo4j.yaml").write_text(
        f"store:\n  url: {url}\ngraph:\n  backend: neo4j\n  uri: {bolt_server.uri}\n  user: falkordb\n"
        "  max_message_bytes: 3500\n  connect_timeout: 2s\n"
    )
    code, _, err = run(home, "lineage", "upstream", REVENUE.node_id, config="neo4j.yaml")
    assert code == 1 and "observer graph rebuild" in err
    code, out, _ = run(home, "graph", "rebuild", config="neo4j.yaml")
    assert code == 0 and "rebuilt the neo4j graph" in out
    code, out, _ = run(home, "lineage", "upstream", REVENUE.node_id, config="neo4j.yaml")
    assert code == 0 and RAW_ORDERS.node_id in out


def test_an_unreachable_neo4j_exits_1(home: Path) -> None:
    (home / "down.yaml").write_text(
        f"store:\n  url: sqlite:///{home / 'observer.db'}\n"
        f"graph:\n  backend: neo4j\n  uri: bolt://127.0.0.1:{free_bolt_port()}\n  connect_timeout: 1s\n"
    )
    code, _, err = run(home, "lineage", "downstream", RAW_ORDERS.node_id, config="down.yaml")
    assert code == 1 and "unavailable" in err
