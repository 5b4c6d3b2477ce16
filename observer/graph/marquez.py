"""Walks in Marquez's shapes: ``{"graph": [{id, type, data, inEdges, outEdges}]}``.

``GET /api/v1/lineage`` has DATASET and JOB nodes whose ``data`` are Marquez's Dataset and Job
objects (attributes from the catalog, inputs/outputs from the graph, the latest run from the
run projection); ``GET /api/v1/column-lineage`` has DATASET_FIELD nodes. Nodes are sorted by id,
edges by (origin, destination). Observer adds ``truncated`` next to ``graph`` and, on each
input field, the full ``transformations`` Marquez drops.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from observer.catalog.identity import DatasetRef, JobRef
from observer.catalog.tables import jobs
from observer.graph import catalog_view
from observer.graph.base import GraphStore
from observer.graph.catalog_view import DatasetDetails, JobDetails
from observer.graph.results import Edge, Node, Walk
from observer.graph.tables import NodeKind, SourceCode, from_ms
from observer.ingest.tables import job_heads, runs

Json = dict[str, Any]


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def _edges_by_node(edges: Iterable[Edge], keys: dict[int, str]) -> dict[str, set[tuple[str, str]]]:
    by_node: dict[str, set[tuple[str, str]]] = {}
    for edge in edges:
        pair = (keys[edge.src], keys[edge.dst])
        by_node.setdefault(pair[0], set()).add(pair)
        by_node.setdefault(pair[1], set()).add(pair)
    return by_node


def _node(node_id: str, node_type: str, data: Json, pairs: set[tuple[str, str]]) -> Json:
    ordered = sorted(pairs)
    return {
        "id": node_id,
        "type": node_type,
        "data": data,
        "inEdges": [{"origin": origin, "destination": end} for origin, end in ordered if end == node_id],
        "outEdges": [{"origin": origin, "destination": end} for origin, end in ordered if origin == node_id],
    }


def _tags(stored: Iterable[Any]) -> list[str]:
    return [str(tag.get("name") or tag.get("key")) if isinstance(tag, dict) else str(tag) for tag in stored]


def dataset_data(node: Node, details: DatasetDetails | None) -> Json:
    first_seen = _iso(from_ms(node.first_seen))
    return {
        "id": {"namespace": node.namespace, "name": node.name},
        "type": "STREAM" if details and (details.kind or "").upper() in ("STREAM", "TOPIC") else "DB_TABLE",
        "name": node.name,
        "physicalName": node.name,
        "createdAt": _iso(details.created_at) if details else first_seen,
        "updatedAt": _iso(details.updated_at) if details else first_seen,
        "namespace": node.namespace,
        "sourceName": node.namespace,
        "fields": [
            {
                "name": field["name"],
                "type": field.get("type"),
                "tags": [],
                "description": field.get("description"),
            }
            for field in (details.fields if details else [])
        ],
        "tags": _tags(details.tags) if details else [],
        "lastModifiedAt": _iso(details.last_modified_at) if details else None,
        "lastLifecycleState": details.lifecycle_state if details else None,
        "description": details.description if details else None,
    }


def job_data(
    node: Node, details: JobDetails | None, inputs: list[Node], outputs: list[Node], latest_run: Json | None
) -> Json:
    first_seen = _iso(from_ms(node.first_seen))
    return {
        "id": {"namespace": node.namespace, "name": node.name},
        "type": {"STREAMING": "STREAM", "STREAM": "STREAM", "SERVICE": "SERVICE"}.get(
            ((details.job_type if details else None) or "").upper(), "BATCH"
        ),
        "name": node.name,
        "simpleName": node.name.rsplit(".", 1)[-1],
        "parentJobName": None,
        "parentJobUuid": None,
        "createdAt": _iso(details.created_at) if details else first_seen,
        "updatedAt": _iso(details.updated_at) if details else first_seen,
        "namespace": node.namespace,
        "inputs": [
            {"namespace": ref.namespace, "name": ref.name} for ref in sorted(item.dataset for item in inputs)
        ],
        "outputs": [
            {"namespace": ref.namespace, "name": ref.name} for ref in sorted(item.dataset for item in outputs)
        ],
        "location": None,
        "description": details.description if details else None,
        "latestRun": latest_run,
    }


def latest_runs(connection: Connection, refs: Iterable[JobRef]) -> dict[JobRef, Json]:
    """Each job's latest run as Marquez's Run (the fields the run projection keeps)."""
    wanted = set(refs)
    found: dict[JobRef, Json] = {}
    by_namespace: dict[str, list[str]] = {}
    for ref in wanted:
        by_namespace.setdefault(ref.namespace, []).append(ref.name)
    for namespace, names in by_namespace.items():
        for start in range(0, len(names), 400):
            query = (
                select(jobs.c.name, runs)
                .join(job_heads, job_heads.c.job_id == jobs.c.id)
                .join(runs, runs.c.run_uuid == job_heads.c.latest_run_uuid)
                .where(jobs.c.namespace == namespace, jobs.c.name.in_(sorted(names)[start : start + 400]))
            )
            for row in connection.execute(query).mappings():
                started, ended = row["started_at"], row["ended_at"]
                found[JobRef(namespace, row["name"])] = {
                    "id": row["run_uuid"],
                    "createdAt": _iso(row["created_at"]),
                    "updatedAt": _iso(row["updated_at"]),
                    "nominalStartTime": _iso(row["nominal_start_time"]),
                    "nominalEndTime": _iso(row["nominal_end_time"]),
                    "state": row["state"],
                    "startedAt": _iso(started),
                    "endedAt": _iso(ended),
                    "durationMs": int((ended - started).total_seconds() * 1000)
                    if started and ended
                    else None,
                }
    return found


def lineage_response(graph: GraphStore, walk: Walk) -> Json:
    nodes = walk.nodes
    keys = {node.id: node.key for node in nodes.values()}
    pairs = _edges_by_node(walk.edges, keys)
    datasets = [node for node in nodes.values() if node.kind == NodeKind.DATASET]
    job_nodes = [node for node in nodes.values() if node.kind == NodeKind.JOB]
    io = graph.job_io([node.id for node in job_nodes], walk.as_of) if job_nodes else {}
    with graph.store.engine.connect() as connection:
        dataset_info = catalog_view.dataset_details(connection, (node.dataset for node in datasets))
        job_info = catalog_view.job_details(connection, (node.job for node in job_nodes))
        runs_by_job = latest_runs(connection, (node.job for node in job_nodes))
    graph_nodes = [
        _node(
            node.key,
            "DATASET",
            dataset_data(node, dataset_info.get(node.dataset)),
            pairs.get(node.key, set()),
        )
        for node in datasets
    ]
    graph_nodes += [
        _node(
            node.key,
            "JOB",
            job_data(
                node,
                job_info.get(node.job),
                io[node.id].inputs,
                io[node.id].outputs,
                runs_by_job.get(node.job),
            ),
            pairs.get(node.key, set()),
        )
        for node in job_nodes
    ]
    return {"graph": sorted(graph_nodes, key=lambda item: item["id"]), "truncated": walk.truncated}


def column_lineage_response(graph: GraphStore, walk: Walk) -> Json:
    nodes = walk.nodes
    keys = {node.id: node.key for node in nodes.values()}
    pairs = _edges_by_node(walk.edges, keys)
    inputs: dict[int, dict[int, list[Edge]]] = {}
    for edge in sorted(walk.edges):
        inputs.setdefault(edge.dst, {}).setdefault(edge.src, []).append(edge)
    with graph.store.engine.connect() as connection:
        details = catalog_view.dataset_details(connection, {node.dataset for node in nodes.values()})
    types: dict[DatasetRef, dict[str, Any]] = {
        ref: {field["name"]: field.get("type") for field in info.fields} for ref, info in details.items()
    }

    def input_field(source: Node, edges: list[Edge]) -> Json:
        first = edges[0]
        return {
            "namespace": source.namespace,
            "dataset": source.name,
            "datasetVersion": None,
            "field": source.field,
            "transformationDescription": first.description,
            "transformationType": first.transformation_type,
            "transformations": [
                {
                    "type": edge.transformation_type,
                    "subtype": edge.subtype,
                    "description": edge.description,
                    "masking": edge.masking,
                    "source": SourceCode(edge.source).name,
                }
                for edge in edges
            ],
        }

    graph_nodes = []
    for node in nodes.values():
        upstream = inputs.get(node.id, {})
        fields = [input_field(nodes[source], edges) for source, edges in sorted(upstream.items())]
        graph_nodes.append(
            _node(
                node.key,
                "DATASET_FIELD",
                {
                    "namespace": node.namespace,
                    "dataset": node.name,
                    "datasetVersion": None,
                    "field": node.field,
                    "fieldType": types.get(node.dataset, {}).get(node.field or ""),
                    "transformationDescription": fields[0]["transformationDescription"] if fields else None,
                    "transformationType": fields[0]["transformationType"] if fields else None,
                    "inputFields": fields,
                },
                pairs.get(node.key, set()),
            )
        )
    return {"graph": sorted(graph_nodes, key=lambda item: item["id"]), "truncated": walk.truncated}
