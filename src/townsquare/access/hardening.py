"""Security hardening installed on the app: security headers, a control-character guard, log redaction.

The headers come from a pure ASGI wrapper (no BaseHTTPMiddleware: no task group or body buffering per
request, so the ingest hot path pays one list concatenation). It wraps the whole middleware stack,
outside Starlette's ServerErrorMiddleware, so even a 500 and the body-limit 413 carry the headers.
"""

from __future__ import annotations

import json
import re

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from townsquare.errors import error_body
from townsquare.logging_setup import install_redaction

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
HSTS = "max-age=31536000; includeSubDomains"

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"permissions-policy", PERMISSIONS_POLICY.encode()),
    (b"cross-origin-opener-policy", b"same-origin"),
)
_HSTS_HEADER = (b"strict-transport-security", HSTS.encode())
_NO_STORE = (b"cache-control", b"no-store")
_FORCED = frozenset(name for name, _ in SECURITY_HEADERS) | {_HSTS_HEADER[0]}


class SecurityHeaders:
    """Add the security headers to every HTTP response; `no-store` on the API and on HTML pages."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"
        api = scope.get("path", "").startswith("/v1")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = _secure(list(message.get("headers", ())), https, api)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _secure(headers: list[tuple[bytes, bytes]], https: bool, api: bool) -> list[tuple[bytes, bytes]]:
    """Our security headers replace any the app set; `no-store` replaces caching on API and HTML."""
    html = any(k.lower() == b"content-type" and v.startswith(b"text/html") for k, v in headers)
    no_store = api or html
    kept = [
        (k, v)
        for k, v in headers
        if k.lower() not in _FORCED and not (no_store and k.lower() == b"cache-control")
    ]
    kept.extend(SECURITY_HEADERS)
    if https:
        kept.append(_HSTS_HEADER)
    if no_store:
        kept.append(_NO_STORE)
    return kept


_CONTROL_IN_PATH = re.compile(r"[\x00-\x1f\x7f]")
_NUL_IN_QUERY = re.compile(rb"%00|\x00")


class RejectControlCharacters:
    """Refuse with 422 a path holding a control character, or a query holding NUL.

    No Townsquare name or id contains one, and PostgreSQL cannot compare text with a NUL byte in it
    (it would surface as a 500 in whichever route looked the value up).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (
            _CONTROL_IN_PATH.search(scope.get("path", ""))
            or _NUL_IN_QUERY.search(scope.get("query_string", b""))
        ):
            await _refuse(send)
            return
        await self.app(scope, receive, send)


async def _refuse(send: Send) -> None:
    detail = [{"field": "path", "message": "control characters are not allowed in the path or query"}]
    body = json.dumps(error_body("invalid", "invalid input: path", detail)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 422, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def install(app: FastAPI) -> None:
    """Wrap `app`'s middleware stack in the guards above and turn on log redaction (idempotent)."""
    install_redaction()
    build = app.build_middleware_stack
    if getattr(build, "_townsquare_hardened", False):
        return

    def build_hardened() -> ASGIApp:
        return SecurityHeaders(RejectControlCharacters(build()))

    build_hardened._townsquare_hardened = True  # type: ignore[attr-defined]
    # Starlette builds the stack lazily on the first request; user middleware would sit inside
    # ServerErrorMiddleware, whose 500 response would then miss the headers.
    setattr(app, "build_middleware_stack", build_hardened)  # noqa: B010
