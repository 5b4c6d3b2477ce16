"""Every metric the Grafana dashboards query is one the code exports, and the dashboards load."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from prometheus_client.metrics import MetricWrapperBase

from observer import metrics

GRAFANA = Path(__file__).resolve().parents[2] / "dashboards" / "grafana"
SUFFIXES = {
    "counter": ("_total",),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count"),
    "summary": ("_sum", "_count"),
}


def exported_names() -> set[str]:
    names = set()
    for value in vars(metrics).values():
        if isinstance(value, MetricWrapperBase):
            kind = value._type
            names.update(value._name + suffix for suffix in SUFFIXES[kind])
    return names


def queries(board: dict[str, object]) -> list[str]:
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("expr", "query", "definition") and isinstance(value, str):
                    found.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(board)
    return found


def test_every_queried_metric_is_exported() -> None:
    exported = exported_names()
    boards = sorted((GRAFANA / "dashboards").glob("*.json"))
    assert {board.stem for board in boards} >= {"overview", "freshness", "ingest-projection"}
    for path in boards:
        board = json.loads(path.read_text())
        used = {name for query in queries(board) for name in re.findall(r"\bobserver_[a-z0-9_]+", query)}
        assert used, f"{path.name} queries no Observer metric"
        assert used <= exported, (
            f"{path.name} queries metrics the code does not export: {sorted(used - exported)}"
        )


def test_dashboards_are_provisionable() -> None:
    provider = yaml.safe_load((GRAFANA / "provisioning.yaml").read_text())
    assert provider["apiVersion"] == 1 and provider["providers"][0]["type"] == "file"
    uids = set()
    for path in (GRAFANA / "dashboards").glob("*.json"):
        board = json.loads(path.read_text())
        assert board["uid"] not in uids and board["title"].startswith("Observer")
        uids.add(board["uid"])
        ids = [panel["id"] for panel in board["panels"]]
        assert len(ids) == len(set(ids)) and all(panel["targets"] for panel in board["panels"])
