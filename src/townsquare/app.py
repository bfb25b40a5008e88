"""The FastAPI application: routers, error handling, body limits, and the chain keeper's lifecycle."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from townsquare import __version__
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
from townsquare.bodycheck import bad_field
from townsquare.brandsafety import api as brandsafety_api
from townsquare.brandsafety import pages as brandsafety_pages
from townsquare.config import Settings, get_settings
from townsquare.content import api as content_api
from townsquare.council import api as council_api
from townsquare.db import transaction
from townsquare.detection import api as detection_api
from townsquare.enforcement import api as enforcement_api
from townsquare.errors import NulInBody, error_body, install_error_handlers
from townsquare.eventlog import api as audit_api
from townsquare.eventlog.chain import ChainKeeper
from townsquare.notify import WebhookSender
from townsquare.policy import api as policy_api
from townsquare.policy.service import sync_versions
from townsquare.review import api as review_api
from townsquare.runtime import Runtime, build_runtime
from townsquare.web import (
    errors_html,
    pages_access,
    pages_admin,
    pages_appeals,
    pages_audit,
    pages_auth,
    pages_home,
    pages_public,
    pages_review,
    pages_workbench,
)
from townsquare.web.render import WEB


class BodyLimit:
    """Refuse bodies over the limit with 413 (by Content-Length or while streaming), and bodies holding
    a NUL character, a lone surrogate or too deep a nesting with 422 naming the field (see bodycheck):
    each would otherwise surface as a 500 in whichever route stored or looked up the value."""

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
                found = bad_field(b"".join(seen), content_type, scope.get("path", ""))
                if found is not None:
                    raise NulInBody(*found)
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
        pages_workbench.router,
        pages_public.router,
        pages_appeals.router,
        brandsafety_api.router,
        brandsafety_pages.router,
        pages_admin.router,
        pages_access.router,
    )
    for router in routers:
        app.include_router(router)
    from townsquare.campaigns import api as campaigns_api  # issue 17
    from townsquare.campaigns import pages as campaigns_pages
    from townsquare.elections import api as elections_api
    from townsquare.elections import pages as elections_pages
    from townsquare.stream import api as stream_api  # issue 15
    from townsquare.stream import ops as stream_ops
    from townsquare.stream import pages as stream_pages

    for router in (
        stream_api.router,
        stream_ops.router,
        stream_pages.router,
        elections_api.router,
        elections_pages.router,
        campaigns_api.router,
        campaigns_pages.router,
    ):
        app.include_router(router)
    from townsquare.transparency import api as transparency_api  # issue 14
    from townsquare.transparency import api_health as transparency_health
    from townsquare.transparency import api_records as transparency_records
    from townsquare.transparency import pages as transparency_pages

    for router in (
        transparency_api.router,
        transparency_records.router,
        transparency_pages.router,
        transparency_health.router,
    ):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=str(WEB / "static")), name="static")
    hardening.install(app)
    errors_html.install(app)  # HTML error pages for browsers, JSON for API clients

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def landing(request: Request, _: Annotated[None, Depends(public)]) -> HTMLResponse:
        return pages_home.home(request, rt)  # the signed-in person's home, or the public landing page

    @app.get("/healthz", tags=["health"], summary="Liveness")
    def healthz(_: Annotated[None, Depends(public)]) -> dict[str, Any]:
        return {"status": "ok", "version": __version__}

    return app
