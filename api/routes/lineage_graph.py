"""Lineage graph reads: Marquez-compatible ``/lineage`` and ``/column-lineage``, Observer's ``/impact``
and ``/path``.

Marquez's defaults hold (``depth`` 20; ``/lineage`` walks its undirected neighbourhood;
``/column-lineage`` walks upstream unless ``withDownstream``). Observer adds ``direction``,
``maxNodes`` (a cut walk says ``"truncated": true`` and sets ``X-Observer-Truncated``) and
``asOf`` (the lineage live then: first seen by then and not retired).
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, Literal, TypeVar

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response

from api.auth import require
from api.errors import ApiError
from observer.clock import ensure_utc
from observer.graph.base import GraphStore, InvalidGraphQuery, UnknownNode
from observer.graph.factory import open_graph
from observer.graph.marquez import column_lineage_response, lineage_response
from observer.graph.model import GraphUnavailable
from observer.graph.neo4j_backend import Neo4jGraph
from observer.graph.nodeids import InvalidNodeId
from observer.graph.results import Direction
from observer.graph.sync import GraphSync

Json = dict[str, Any]
T = TypeVar("T")
_opening = threading.Lock()


@asynccontextmanager
async def _graph_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """With the Neo4j backend, push queued lineage whenever Neo4j answers again; close at the end."""
    runtime = app.state.runtime
    sync = None
    if runtime.settings.graph.backend == "neo4j":
        graph = getattr(runtime, "graph", None) or _app_graph(app)
        if isinstance(graph, Neo4jGraph):
            sync = GraphSync(graph)
            sync.start()
    yield
    if sync is not None:
        sync.stop()
    opened = getattr(app.state, "lineage_graph", None)
    if opened is not None:
        opened.close()


router = APIRouter(
    prefix="/api/v1",
    tags=["lineage graph"],
    dependencies=[Depends(require("read"))],
    lifespan=_graph_lifespan,
)

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "malformed node id or unsupported node form"},
    404: {"description": "unknown node (the message names it)"},
    503: {"description": "the graph backend is unreachable; ingestion keeps recording meanwhile"},
}
NodeIdQuery = Query(
    ..., description="dataset:<ns>:<name>, datasetField:<ns>:<name>:<field> or job:<ns>:<name>"
)
DirectionQuery = Query(None, description="upstream, downstream or both (Observer); default: Marquez's walk")
MaxNodesQuery = Query(
    None, ge=1, description="cap on returned nodes (default graph.max_nodes); cuts are reported"
)
AsOfQuery = Query(
    None,
    description="ISO 8601 time: the lineage as it was then, first seen by then and not yet retired "
    "(naive means UTC); without it, the current lineage",
)


def graph_of(request: Request) -> GraphStore:
    """The runtime's graph if it provides one, else this app's own, opened on first use."""
    graph: GraphStore | None = getattr(request.app.state.runtime, "graph", None)
    return graph or _app_graph(request.app)


def _app_graph(app: FastAPI) -> GraphStore:
    with _opening:
        graph: GraphStore | None = getattr(app.state, "lineage_graph", None)
        if graph is None:
            runtime = app.state.runtime
            graph = app.state.lineage_graph = open_graph(runtime.settings.graph, runtime.store)
    return graph


def answer(work: Callable[[], T]) -> T:
    """Run a graph query, turning its failures into the API's error shape."""
    try:
        return work()
    except UnknownNode as error:
        raise ApiError(404, str(error)) from error
    except (InvalidNodeId, InvalidGraphQuery) as error:
        raise ApiError(400, str(error)) from error
    except GraphUnavailable as error:
        raise ApiError(503, f"the lineage graph is unavailable: {error}") from error


def _marquez_node_id(node_id: str) -> str:
    if node_id.startswith("run:"):
        raise ApiError(400, f"{node_id!r}: run nodes are not supported; ask for the run's job instead")
    if "#" in node_id:
        raise ApiError(400, f"{node_id!r}: versioned node ids are not supported; use asOf=<time> instead")
    return node_id


def _as_of(value: datetime | None) -> datetime | None:
    return ensure_utc(value) if value is not None else None


def _flag_truncation(response: Response, truncated: bool) -> None:
    if truncated:
        response.headers["X-Observer-Truncated"] = "true"


@router.get(
    "/lineage",
    summary="Marquez-compatible lineage graph of a dataset or job (jobs and datasets)",
    responses=_ERRORS,
)
def lineage(
    request: Request,
    response: Response,
    nodeId: str = NodeIdQuery,
    depth: int = Query(20, ge=0, le=100, description="job hops"),
    direction: Literal["upstream", "downstream", "both"] | None = DirectionQuery,
    maxNodes: int | None = MaxNodesQuery,
    asOf: datetime | None = AsOfQuery,
) -> Json:
    """Without ``direction``: Marquez's undirected walk, every job that reads or writes a dataset
    reached so far (siblings included). With it: only what feeds the node, what it feeds, or both."""
    graph = graph_of(request)
    walk_direction: Direction = direction or "undirected"
    node_id = _marquez_node_id(nodeId)
    walk = answer(
        lambda: graph.lineage(
            node_id,
            direction=walk_direction,
            depth=depth,
            max_nodes=maxNodes or graph.settings.max_nodes,
            as_of=_as_of(asOf),
            level="dataset",
        )
    )
    _flag_truncation(response, walk.truncated)
    return answer(lambda: lineage_response(graph, walk))


@router.get(
    "/column-lineage",
    summary="Marquez-compatible column lineage of a column, a dataset's columns or a job's outputs",
    responses=_ERRORS,
)
def column_lineage(
    request: Request,
    response: Response,
    nodeId: str = NodeIdQuery,
    depth: int = Query(20, ge=0, le=100, description="column edges"),
    withDownstream: bool = Query(False, description="Marquez: also walk downstream"),
    direction: Literal["upstream", "downstream", "both"] | None = DirectionQuery,
    maxNodes: int | None = MaxNodesQuery,
    asOf: datetime | None = AsOfQuery,
) -> Json:
    graph = graph_of(request)
    walk_direction: Direction = direction or ("both" if withDownstream else "upstream")
    node_id = _marquez_node_id(nodeId)
    walk = answer(
        lambda: graph.lineage(
            node_id,
            direction=walk_direction,
            depth=depth,
            max_nodes=maxNodes or graph.settings.max_nodes,
            as_of=_as_of(asOf),
            level="column",
        )
    )
    _flag_truncation(response, walk.truncated)
    return answer(lambda: column_lineage_response(graph, walk))


IMPACT_EXAMPLE: Json = {
    "nodeId": "dataset:postgres://db:5432:shop.public.orders",
    "depth": 10,
    "asOf": None,
    "truncated": False,
    "summary": {"datasets": 2, "directDatasets": 1, "columns": 2, "jobs": 2, "maxHops": 2},
    "owners": ["team:finance", "team:marketing"],
    "nodes": [
        {
            "nodeId": "dataset:postgres://db:5432:shop.public.daily_revenue",
            "type": "DATASET",
            "namespace": "postgres://db:5432",
            "name": "shop.public.daily_revenue",
            "field": None,
            "hops": 1,
            "direct": True,
            "owners": ["team:finance"],
        },
        {
            "nodeId": "datasetField:postgres://db:5432:shop.public.daily_revenue:revenue",
            "type": "DATASET_FIELD",
            "namespace": "postgres://db:5432",
            "name": "shop.public.daily_revenue",
            "field": "revenue",
            "hops": 1,
            "direct": True,
            "owners": ["team:finance"],
        },
        {
            "nodeId": "dataset:postgres://db:5432:shop.public.campaign_report",
            "type": "DATASET",
            "namespace": "postgres://db:5432",
            "name": "shop.public.campaign_report",
            "field": None,
            "hops": 2,
            "direct": False,
            "owners": ["team:marketing"],
        },
        {
            "nodeId": "datasetField:postgres://db:5432:shop.public.campaign_report:orders",
            "type": "DATASET_FIELD",
            "namespace": "postgres://db:5432",
            "name": "shop.public.campaign_report",
            "field": "orders",
            "hops": 2,
            "direct": False,
            "owners": ["team:marketing"],
        },
    ],
    "jobs": [
        {
            "nodeId": "job:airflow:shop.daily_revenue",
            "namespace": "airflow",
            "name": "shop.daily_revenue",
            "hops": 1,
            "owners": [],
        },
        {
            "nodeId": "job:airflow:shop.campaigns",
            "namespace": "airflow",
            "name": "shop.campaigns",
            "hops": 2,
            "owners": [],
        },
    ],
}


@router.get(
    "/impact",
    summary="What breaks if this dataset, column or job breaks (Observer)",
    responses={200: {"content": {"application/json": {"example": IMPACT_EXAMPLE}}}, **_ERRORS},
)
def impact(
    request: Request,
    response: Response,
    nodeId: str = NodeIdQuery,
    depth: int = Query(
        10, ge=0, le=100, description="hops downstream (jobs between datasets, edges between columns)"
    ),
    maxNodes: int | None = MaxNodesQuery,
    asOf: datetime | None = AsOfQuery,
) -> Json:
    """Downstream datasets, columns and jobs, nearest first, each with its hop distance and owners.

    ``direct`` is true when values flow from the origin through DIRECT column lineage all the way
    (the node takes values from it), false when only INDIRECT edges reach it (joins, filters,
    grouping), and null for a dataset only dataset-level lineage connects. ``owners`` lists every
    owner once, nearest first. A job's own outputs are 1 hop from the job.
    """
    graph = graph_of(request)
    result = answer(
        lambda: graph.impact(
            nodeId, depth=depth, max_nodes=maxNodes or graph.settings.max_nodes, as_of=_as_of(asOf)
        )
    )
    _flag_truncation(response, result.truncated)
    return result.as_json()


@router.get(
    "/path",
    summary="A shortest path along which data flows from one node to another (Observer)",
    responses={**_ERRORS, 404: {"description": "unknown node, or no path within depth"}},
)
def path(
    request: Request,
    fromNodeId: str = Query(..., description="where the data comes from"),
    toNodeId: str = Query(..., description="where it arrives; both columns, or both datasets/jobs"),
    depth: int = Query(20, ge=1, le=100),
    asOf: datetime | None = AsOfQuery,
) -> Json:
    graph = graph_of(request)
    found = answer(lambda: graph.path(fromNodeId, toNodeId, depth=depth, as_of=_as_of(asOf)))
    if found is None:
        raise ApiError(404, f"no lineage path from {fromNodeId!r} to {toNodeId!r} within {depth} hops")
    return found.as_json()
