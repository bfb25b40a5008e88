"""The one dependency every route uses to declare the permission it needs.

A request carries either a bearer API token (platforms, scripts) or a UI session cookie (people);
either way it becomes a Principal whose permissions come from the user's current roles (narrowed by
the token's scopes). Frozen users are refused, or limited to reading when the freeze allows it.
Unsafe requests made with a session cookie must echo the session's CSRF token.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from townsquare.access.roles import ALL_PERMISSIONS
from townsquare.access.service import Principal, principal_for_session, principal_for_token
from townsquare.db import transaction
from townsquare.errors import Forbidden, Unauthorized

SESSION_COOKIE = "ts_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_bearer = HTTPBearer(
    auto_error=False, description="An API token (ts_...) issued by `townsquare users token`."
)


def _csrf_ok(request: Request, expected: str) -> bool:
    sent = request.headers.get(CSRF_HEADER, "")
    return bool(sent) and hmac.compare_digest(sent.encode(), expected.encode())


def authenticate(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Principal:
    """Resolve the caller from a bearer token or a session cookie, or refuse with 401."""
    rt = request.app.state.runtime
    now = rt.now()
    cookie = request.cookies.get(SESSION_COOKIE)
    with transaction(rt.sessions) as session:
        if credentials is not None:
            principal = principal_for_token(session, credentials.credentials, now)
            if principal is None:
                raise Unauthorized("the token is unknown, expired or revoked")
        elif cookie:
            found = principal_for_session(session, cookie, now)
            if found is None:
                raise Unauthorized("the session has expired; log in again")
            principal, row = found
            if request.method not in SAFE_METHODS and not _csrf_ok(request, row.csrf_token):
                raise Forbidden("missing or wrong CSRF token", {"field": "csrf_token"})
        else:
            raise Unauthorized("a bearer token or a login session is required")
    request.state.principal = principal
    return principal


def require(permission: str) -> Callable[..., Principal]:
    """A dependency that admits only principals holding `permission` (and not frozen)."""
    if permission not in ALL_PERMISSIONS:
        raise ValueError(f"unknown permission {permission}")

    def dependency(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        principal = authenticate(request, credentials)
        if principal.frozen and not (principal.read_only and request.method in SAFE_METHODS):
            raise Forbidden("your access to the tools is frozen", {"permission": permission, "frozen": True})
        principal.need(permission)
        return principal

    dependency.permission = permission  # type: ignore[attr-defined]
    return dependency


def public() -> None:
    """Declares a route that anyone may call (landing page, health, login); it exposes no moderation data."""
    return None


public.permission = "public"  # type: ignore[attr-defined]
