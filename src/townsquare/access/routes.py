"""Enumerate the app's API routes with the permission each declares (for tests, audits and docs)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from fastapi import FastAPI, routing
from fastapi.routing import APIRoute


@dataclass(frozen=True)
class RouteInfo:
    """One API route: its full path, methods and declared permission (None when it declares none)."""

    path: str
    methods: frozenset[str]
    permission: str | None


def _permission(route: APIRoute) -> str | None:
    for dep in route.dependant.dependencies:
        perm = getattr(dep.call, "permission", None)
        if perm:
            return str(perm)
    return None


def _contexts(app: FastAPI) -> Iterator[tuple[str, APIRoute]]:
    iterate = getattr(routing, "iter_route_contexts", None)
    if iterate is None:  # FastAPI before included routers were kept unflattened
        for route in app.routes:
            if isinstance(route, APIRoute):
                yield route.path, route
        return
    for ctx in iterate(app.routes):
        original = ctx.original_route
        if isinstance(original, APIRoute):
            yield str(ctx.path), original


def api_routes(app: FastAPI) -> list[RouteInfo]:
    """Every API route of the app (FastAPI's own docs routes excluded)."""
    return [
        RouteInfo(path, frozenset(route.methods or ()), _permission(route)) for path, route in _contexts(app)
    ]
