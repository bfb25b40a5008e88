"""The FastAPI application: routers, error handling, body limits, and the chain keeper's lifecycle."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from townsquare import __version__, audit_api
from townsquare.access import (
    api_approvals,
    api_auth,
    api_freeze,
    api_protect,
    api_users,
    hardening,
    login_guard,
)
from townsquare.access.permissions import public
from townsquare.appeals import api as appeals_api
from townsquare.brandsafety import api as brandsafety_api
from townsquare.brandsafety import pages as brandsafety_pages
from townsquare.chain import ChainKeeper
from townsquare.config import Settings, get_settings
from townsquare.content import api as content_api
from townsquare.council import api as council_api
from townsquare.db import transaction
from townsquare.detection import api as detection_api
from townsquare.enforcement import api as enforcement_api
from townsquare.errors import NulInBody, error_body, install_error_handlers
from townsquare.notify import WebhookSender
from townsquare.policy import api as policy_api
from townsquare.policy.service import sync_versions
from townsquare.review import api as review_api
from townsquare.runtime import Runtime, build_runtime
from townsquare.web import pages_appeals, pages_audit, pages_auth, pages_public, pages_review
from townsquare.web.pages_workbench import router as workbench_pages
from townsquare.web.render import WEB, page

# A NUL in a body: the raw byte, JSON's \u0000 escape (an unescaped backslash), or %00 in a form.
_NUL_JSON = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
_FORM = b"application/x-www-form-urlencoded"


def _find_nul(value: Any, path: tuple[str, ...]) -> str | None:
    """The dotted path of the first string (or key) holding a NUL, as validation errors name fields."""
    if isinstance(value, str):
        return (".".join(path) or "body") if "\x00" in value else None
    items: Iterable[tuple[Any, Any]] = ()
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    for key, item in items:
        if isinstance(key, str) and "\x00" in key:
            return ".".join((*path, key.replace("\x00", ""))) or "body"
        found = _find_nul(item, (*path, str(key)))
        if found:
            return found
    return None


def nul_field(body: bytes, content_type: bytes) -> str | None:
    """The field of a JSON or form body that holds a NUL character, if any (cheap when none does).

    A raw NUL byte cannot appear in valid JSON, so the JSON parser's own error answers that case.
    """
    if content_type.startswith(_FORM):
        if b"%00" not in body and b"\x00" not in body:
            return None
        pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        return next((k.replace("\x00", "") or "body" for k, v in pairs if "\x00" in k + v), None)
    if not _NUL_JSON.search(body):
        return None
    try:
        return _find_nul(json.loads(body), ())
    except ValueError:
        return None  # not JSON: the route's parser refuses it with its own clear error


class BodyLimit:
    """Refuse bodies over the limit with 413 (by Content-Length or while streaming), and bodies holding
    a NUL character with 422: no Townsquare field may hold one, and PostgreSQL cannot store one in text
    (it would surface as a 500 in whichever route stored or looked up the value)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(send, 413, "payload_too_large", f"body is larger than {self.limit} bytes")
            return
        content_type = headers.get(b"content-type", b"").lower()
        seen: list[bytes] = []
        size = 0

        async def guarded() -> Message:
            nonlocal size
            message = await receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                raise _TooLarge()
            seen.append(chunk)
            if not message.get("more_body", False):
                field = nul_field(b"".join(seen), content_type)
                if field is not None:
                    raise NulInBody(field)
            return message

        try:
            await self.app(scope, guarded, send)
        except _TooLarge:
            await self._refuse(send, 413, "payload_too_large", f"body is larger than {self.limit} bytes")

    @staticmethod
    async def _refuse(send: Send, status: int, code: str, message: str) -> None:
        body = json.dumps(error_body(code, message)).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _TooLarge(StarletteHTTPException):
    """Raised while the body streams in; FastAPI re-raises HTTP exceptions, so it reaches BodyLimit."""

    def __init__(self) -> None:
        super().__init__(413, "body is larger than the configured limit")


def create_app(
    settings: Settings | None = None, runtime: Runtime | None = None, *, keep_chain: bool = True
) -> FastAPI:
    """Build the app; a runtime may be passed in (tests), else one is built from settings."""
    rt = runtime or build_runtime(settings or get_settings())
    with transaction(rt.sessions) as session:
        sync_versions(session, rt)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        keeper = ChainKeeper(rt) if keep_chain else None
        sender = WebhookSender(rt) if keep_chain and rt.settings.webhook_url else None
        for worker in (keeper, sender):
            if worker:
                worker.start()
        yield
        login_guard.flush(app)  # failed logins still counting in memory become their events
        for worker in (sender, keeper):
            if worker:
                worker.stop()

    app = FastAPI(
        title="Townsquare",
        version=__version__,
        description="Trust & safety platform: ingest, detect, decide, enforce; a tamper-evident event log.",
        lifespan=lifespan,
        # Swagger UI and ReDoc need inline script and a CDN, which the CSP forbids; /openapi.json stays.
        docs_url=None,
        redoc_url=None,
    )
    app.state.runtime = rt
    install_error_handlers(app)
    app.add_middleware(BodyLimit, limit=rt.settings.max_body_bytes)
    routers = (
        content_api.router,
        detection_api.router,
        review_api.router,
        appeals_api.router,
        council_api.router,
        enforcement_api.router,
        policy_api.router,
        audit_api.router,
        api_auth.router,
        api_users.router,
        api_approvals.router,
        api_protect.router,
        api_freeze.router,
        pages_auth.router,
        pages_audit.router,
        pages_review.router,
        workbench_pages,
        pages_public.router,
        pages_appeals.router,
        brandsafety_api.router,
        brandsafety_pages.router,
    )
    for router in routers:
        app.include_router(router)
    from townsquare.campaigns import api as campaigns_api  # issue 17
    from townsquare.campaigns import pages as campaigns_pages
    from townsquare.elections import api as elections_api
    from townsquare.elections import pages as elections_pages

    for router in (
        elections_api.router,
        elections_pages.router,
        campaigns_api.router,
        campaigns_pages.router,
    ):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=str(WEB / "static")), name="static")
    hardening.install(app)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def landing(request: Request, _: Annotated[None, Depends(public)]) -> HTMLResponse:
        return page(request, "landing.html", version=__version__)

    @app.get("/healthz", tags=["health"], summary="Liveness")
    def healthz(_: Annotated[None, Depends(public)]) -> dict[str, Any]:
        return {"status": "ok", "version": __version__}

    return app
