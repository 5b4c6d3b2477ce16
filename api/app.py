"""The application factory: a FastAPI app over one :class:`observer.runtime.Runtime`."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response

from api.errors import install_error_handlers
from api.routes import (
    health,
    incidents,
    lineage_graph,
    lineage_ingest,
    marquez,
    sidecar_findings,
    slack_actions,
    ui_data,
    web,
)
from observer import __version__
from observer.logging import request_id
from observer.metrics import HTTP_LATENCY, HTTP_REQUESTS
from observer.runtime import Runtime

log = logging.getLogger(__name__)


def create_app(runtime: Runtime, *, start_services: bool = True) -> FastAPI:
    """Build the API. With ``start_services`` the runtime's background services run with the app."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if start_services:
            runtime.start()
        try:
            yield
        finally:
            if start_services:
                runtime.stop()

    app = FastAPI(
        title="Observer",
        version=__version__,
        summary="Data observability and lineage: OpenLineage ingest, lineage graph, checks, incidents.",
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    install_error_handlers(app)
    app.middleware("http")(_request_context)
    app.include_router(health.router)
    # domain routers: one line per domain module
    app.include_router(incidents.router)
    app.include_router(slack_actions.router)
    app.include_router(lineage_ingest.router(runtime, runtime.graph))
    app.include_router(marquez.router)
    app.include_router(ui_data.router)
    app.include_router(web.router)
    app.include_router(sidecar_findings.router)
    app.include_router(lineage_graph.router)
    return app


def _route_template(request: Request) -> str:
    route = request.scope.get("route")
    return str(getattr(route, "path", "unmatched"))


async def _request_context(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    rid = request.headers.get("x-request-id") or uuid.uuid4().hex[:16]
    token = request_id.set(rid)
    started = time.perf_counter()
    try:
        response = await call_next(request)
    finally:
        request_id.reset(token)
    elapsed = time.perf_counter() - started
    route = _route_template(request)
    HTTP_REQUESTS.labels(request.method, route, str(response.status_code)).inc()
    HTTP_LATENCY.labels(request.method, route).observe(elapsed)
    response.headers["X-Request-ID"] = rid
    return response
