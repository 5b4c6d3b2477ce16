"""The application factory: a FastAPI app over one :class:`observer.runtime.Runtime`."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
    app.add_middleware(RequestContext)
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


class RequestContext:
    """Per request: a request id (the client's ``X-Request-ID`` or a new one) in the logs and the
    response, and the HTTP metrics by route template. Plain ASGI, so it adds no task or body
    streaming of its own to a request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = Headers(scope=scope).get("x-request-id") or uuid.uuid4().hex[:16]
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message).append("X-Request-ID", rid)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id.reset(token)
            route = str(getattr(scope.get("route"), "path", "unmatched"))
            HTTP_REQUESTS.labels(scope["method"], route, str(status)).inc()
            HTTP_LATENCY.labels(scope["method"], route).observe(time.perf_counter() - started)
