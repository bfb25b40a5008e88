"""Error pages for people: a browser asking for a page gets HTML on 401/403/404/422; API clients
(paths under /v1, or no `text/html` in Accept) keep the one JSON error shape from `errors.py`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from townsquare.db import transaction
from townsquare.errors import TownsquareError, error_body
from townsquare.web.render import csrf_token, page

Handler = Callable[[Request, Any], Awaitable[Response]]
_API_PREFIXES = ("/v1/", "/static/", "/openapi.json", "/healthz")
TITLES = {
    400: "This request could not be handled",
    401: "Please log in",
    403: "You do not have access to this",
    404: "Page not found",
    405: "This action is not available here",
    409: "This could not be done now",
    410: "This link has expired",
    413: "What you sent is too large",
    422: "Please check what you entered",
    429: "Too many attempts",
    500: "Something went wrong",
}


def wants_html(request: Request) -> bool:
    """A browser navigating to a page (Accept names text/html), not an API client."""
    path = request.url.path
    if path == "/v1" or path.startswith(_API_PREFIXES):
        return False
    return "text/html" in request.headers.get("accept", "")


def _body(exc: Any, status: int) -> dict[str, Any]:
    """The JSON body the API handler would send, to show its message and fields on the page."""
    if isinstance(exc, TownsquareError):
        return error_body(exc.error, exc.message, exc.detail)
    if isinstance(exc, RequestValidationError):
        fields = [
            {"field": ".".join(str(p) for p in e.get("loc", ())[1:]) or "body", "message": e.get("msg", "")}
            for e in exc.errors()
        ]
        return error_body("invalid", "some fields are missing or not valid", fields)
    if isinstance(exc, StarletteHTTPException):
        return error_body("http_error", str(exc.detail))
    return error_body("internal", "internal error; nothing was stored")


def _fields(detail: Any) -> list[dict[str, str]]:
    if isinstance(detail, dict) and "field" in detail:
        return []  # the message already names the problem; the field is for forms
    if isinstance(detail, list):
        return [
            {"field": str(d.get("field", "")), "message": str(d.get("message", ""))}
            for d in detail
            if isinstance(d, dict)
        ]
    return []


def _session_context(request: Request) -> dict[str, Any]:
    """The signed-in person (if authentication got that far), so the page keeps its navigation."""
    who = getattr(request.state, "principal", None)
    if who is None:
        return {}
    rt = request.app.state.runtime
    with transaction(rt.sessions) as session:
        return {"principal": who, "csrf_token": csrf_token(session, who)}


async def render_error(request: Request, status: int, exc: Any) -> Response:
    """The HTML error page for `status`."""
    if status == 401 and request.method in ("GET", "HEAD"):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    body = _body(exc, status)
    ctx = await run_in_threadpool(_session_context, request)
    resp = page(
        request,
        "error.html",
        status,
        status=status,
        heading=TITLES.get(status, "This request could not be handled"),
        message=body.get("message") or "",
        fields=_fields(body.get("detail")),
        **ctx,
    )
    for name, value in (getattr(exc, "headers", None) or {}).items():
        resp.headers[name] = value
    return resp


def install(app: FastAPI) -> None:
    """Wrap the JSON error handlers: HTML for a browser's page request, JSON for everyone else."""
    for cls in (TownsquareError, RequestValidationError, StarletteHTTPException):
        original: Any = app.exception_handlers[cls]

        def wrapped(original: Any) -> Handler:
            async def handler(request: Request, exc: Any) -> Response:
                if not wants_html(request):
                    return await original(request, exc)
                status = int(getattr(exc, "status", 0) or getattr(exc, "status_code", 0) or 422)
                return await render_error(request, status, exc)

            return handler

        app.add_exception_handler(cls, wrapped(original))
