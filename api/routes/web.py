"""The web UI: the single-page app in ``dashboards/web``, its shell at ``/`` and its files under ``/ui/``.

The shell is also answered at every client-side route (``/lineage``, ``/datasets/…`` …) so deep
links and reloads work. These are explicit paths, not a catch-all, so the UI can never shadow
``/api``, ``/healthz``, ``/metrics``, ``/docs`` or ``/openapi.json``; anything else stays a JSON 404.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from fastapi import APIRouter, Request, Response

import dashboards.web
from api.errors import ApiError

WEB_DIR = Path(dashboards.web.__file__).resolve().parent
ASSET_PREFIX = "/ui"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
# Client-side routes (dashboards/web/router.js) that answer with the shell.
SHELL_PATHS = (
    "/",
    "/search",
    "/lineage",
    "/incidents",
    "/incidents/{incident_id}",
    "/datasets/{identity:path}",
    "/jobs/{identity:path}",
)
# Everything comes from this server: no CDN, no external fonts, nothing inline.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)

router = APIRouter(include_in_schema=False)


def _file_response(request: Request, path: Path, headers: dict[str, str] | None = None) -> Response:
    body = path.read_bytes()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    common = {
        "ETag": etag,
        "Cache-Control": "no-cache",
        "X-Content-Type-Options": "nosniff",
        **(headers or {}),
    }
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=common)
    return Response(body, media_type=CONTENT_TYPES[path.suffix], headers=common)


def shell(request: Request) -> Response:
    """The page every client-side route starts from."""
    return _file_response(
        request,
        WEB_DIR / "index.html",
        {"Content-Security-Policy": CONTENT_SECURITY_POLICY, "Referrer-Policy": "no-referrer"},
    )


for _path in SHELL_PATHS:
    router.add_api_route(_path, shell, methods=["GET", "HEAD"], response_class=Response)


@router.api_route(ASSET_PREFIX + "/{asset}", methods=["GET", "HEAD"], response_class=Response)
def asset(asset: str, request: Request) -> Response:
    """One file of the UI (the directory is flat: modules, styles, icons)."""
    path = WEB_DIR / asset
    if path.suffix not in CONTENT_TYPES or path.parent != WEB_DIR or not path.is_file():
        raise ApiError(404, f"no UI file {asset!r}")
    return _file_response(request, path)
