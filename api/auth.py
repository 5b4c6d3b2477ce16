"""Bearer tokens with scopes ``ingest``, ``read`` and ``admin`` (admin implies the others)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request

from api.errors import ApiError
from observer.config.settings import ApiSettings, ApiToken, Scope


def auth_enabled(settings: ApiSettings) -> bool:
    return settings.auth != "none" and bool(settings.tokens)


def authenticate(settings: ApiSettings, header: str | None) -> ApiToken:
    scheme, _, presented = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        raise ApiError(401, "missing bearer token", {"WWW-Authenticate": "Bearer"})
    presented = presented.strip()
    # Compare against every token so the time taken does not reveal which one matched.
    matched = [token for token in settings.tokens if token.matches(presented)]
    if not matched:
        raise ApiError(401, "unknown bearer token", {"WWW-Authenticate": "Bearer"})
    return matched[0]


def require(scope: Scope) -> Callable[[Request], None]:
    """A route dependency: the request's token must carry ``scope`` (or ``admin``)."""

    def dependency(request: Request) -> None:
        settings: ApiSettings = request.app.state.runtime.settings.api
        if not auth_enabled(settings):
            return
        token = authenticate(settings, request.headers.get("authorization"))
        if scope not in token.scopes and "admin" not in token.scopes:
            raise ApiError(403, f"token {token.name!r} lacks the {scope!r} scope")
        request.state.token_name = token.name

    return dependency
