"""OpenLineage ingest: ``POST /api/v1/lineage`` (one event or an array; 201 as Marquez) and
``POST /api/v1/lineage/batch`` (the spec's batch endpoint: 204, or 200 with a per-event report).

The request path only reads, validates, hashes and hands events to the group-commit log; it answers
once they are durable. Client mistakes are 4xx naming the problem (400 malformed JSON or gzip, 413
too large, 422 unusable events); an overloaded or unavailable store is 503 with ``Retry-After``,
which the Python client retries.
"""

from __future__ import annotations

import asyncio
import zlib
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from api.auth import require
from api.errors import ApiError
from observer.graph.model import GraphWriter
from observer.ingest.log import LogUnavailable
from observer.ingest.parse import (
    InvalidEvents,
    MalformedJson,
    ParsedEvent,
    decode_json,
    parse_body,
    parse_event,
)
from observer.ingest.service import Backpressure, IngestService, ingest_service
from observer.metrics import INGEST_BYTES, INGEST_EVENTS
from observer.runtime import Runtime

_APPEND_TIMEOUT = 30.0
_ACCEPTED = INGEST_EVENTS.labels("accepted")
_DUPLICATES = INGEST_EVENTS.labels("duplicate")
_authorise = require("ingest")


def router(runtime: Runtime, graph: GraphWriter | None = None) -> APIRouter:
    """The ingest routes over the runtime's ingest service (created and registered here)."""
    service = ingest_service(runtime, graph)
    routes = APIRouter(tags=["openlineage"])

    @routes.post(
        "/api/v1/lineage",
        status_code=201,
        summary="Send one OpenLineage event, or a JSON array of events",
        responses={400: {}, 401: {}, 403: {}, 413: {}, 422: {}, 503: {}},
    )
    async def post_lineage(request: Request) -> Response:
        _authorise(request)
        document = await _document(request, service)
        try:
            events = parse_body(document, ignore_invalid_facets=_ignore(service))
        except InvalidEvents as error:
            INGEST_EVENTS.labels("rejected").inc(len(document) if isinstance(document, list) else 1)
            return _invalid(error)
        await _append(service, events)
        return Response(status_code=201)

    @routes.post(
        "/api/v1/lineage/batch",
        summary="Send a JSON array of OpenLineage events; invalid ones are reported, the rest stored",
        responses={200: {}, 204: {}, 400: {}, 401: {}, 403: {}, 413: {}, 503: {}},
    )
    async def post_batch(request: Request) -> Response:
        _authorise(request)
        document = await _document(request, service)
        if not isinstance(document, list):
            raise ApiError(400, "the batch endpoint takes a JSON array of events")
        events: list[ParsedEvent] = []
        failed: list[dict[str, Any]] = []
        for index, item in enumerate(document):
            try:
                events.append(parse_event(item, path=f"$[{index}]", ignore_invalid_facets=_ignore(service)))
            except InvalidEvents as error:
                reason = "; ".join(str(problem) for problem in error.problems)
                failed.append({"index": index, "reason": reason, "retriable": False})
        INGEST_EVENTS.labels("rejected").inc(len(failed))
        if events:
            await _append(service, events)
        if not failed:
            return Response(status_code=204)
        return JSONResponse(
            {
                "status": "partial_success",
                "summary": {
                    "received": len(document),
                    "successful": len(events),
                    "failed": len(failed),
                    "retriable": 0,
                    "non_retriable": len(failed),
                },
                "failed_events": failed,
            }
        )

    return routes


def _ignore(service: IngestService) -> bool:
    return service.settings.invalid_facets == "ignore"


async def _document(request: Request, service: IngestService) -> Any:
    limit = service.settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"request body of {declared} bytes is over the limit of {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise ApiError(413, f"request body is over the limit of {limit} bytes")
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding == "gzip":
        body = bytearray(_gunzip(bytes(body), limit))
    elif encoding not in ("identity", ""):
        raise ApiError(415, f"unsupported Content-Encoding {encoding!r}: send identity or gzip")
    if not body.strip():
        raise ApiError(400, "empty request body: send an OpenLineage event as JSON")
    try:
        return decode_json(bytes(body))
    except MalformedJson as error:
        raise ApiError(400, str(error)) from None


def _gunzip(body: bytes, limit: int) -> bytes:
    inflater = zlib.decompressobj(wbits=31)
    try:
        data = inflater.decompress(body, limit + 1)
    except zlib.error as error:
        raise ApiError(400, f"the body is not valid gzip: {error}") from None
    if len(data) > limit or inflater.unconsumed_tail:
        raise ApiError(413, f"decompressed request body is over the limit of {limit} bytes")
    if not inflater.eof:
        raise ApiError(400, "the gzip body is truncated")
    return data


def _invalid(error: InvalidEvents) -> JSONResponse:
    problems = [str(problem) for problem in error.problems]
    count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
    return JSONResponse(
        {
            "code": 422,
            "message": f"unusable OpenLineage event ({count}): {'; '.join(problems)}",
            "errors": problems,
        },
        status_code=422,
    )


async def _append(service: IngestService, events: list[ParsedEvent]) -> None:
    retry = {"Retry-After": str(service.settings.retry_after)}
    try:
        future = service.submit_async(events)
        async with asyncio.timeout(_APPEND_TIMEOUT):
            result = await future
    except Backpressure as error:
        raise ApiError(503, str(error), retry) from None
    except LogUnavailable as error:
        raise ApiError(503, f"{error}; retry later", retry) from None
    except TimeoutError:
        raise ApiError(503, "the event log did not confirm the write in time; retry later", retry) from None
    _ACCEPTED.inc(result.stored)
    if result.duplicates:
        _DUPLICATES.inc(result.duplicates)
    INGEST_BYTES.inc(sum(len(event.canonical) for event in events))
