"""The FastAPI application: routers, error handling, body limits, and the chain keeper's lifecycle."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from townsquare import __version__, audit_api
from townsquare.access import api_approvals, api_auth, api_freeze, api_protect, api_users, hardening
from townsquare.access.permissions import public
from townsquare.appeals import api as appeals_api
from townsquare.chain import ChainKeeper
from townsquare.config import Settings, get_settings
from townsquare.content import api as content_api
from townsquare.council import api as council_api
from townsquare.db import transaction
from townsquare.detection import api as detection_api
from townsquare.enforcement import api as enforcement_api
from townsquare.errors import error_body, install_error_handlers
from townsquare.notify import WebhookSender
from townsquare.policy import api as policy_api
from townsquare.policy.service import sync_versions
from townsquare.review import api as review_api
from townsquare.runtime import Runtime, build_runtime
from townsquare.web import pages_appeals, pages_audit, pages_auth, pages_public, pages_review
from townsquare.web.render import WEB, page


class BodyLimit:
    """Refuse bodies over the limit with 413, by Content-Length or while streaming."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._too_large(send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise _TooLarge()
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await self._too_large(send)

    async def _too_large(self, send: Send) -> None:
        import json

        body = json.dumps(error_body("payload_too_large", f"body is larger than {self.limit} bytes")).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
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
        pages_public.router,
        pages_appeals.router,
    )
    for router in routers:
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
