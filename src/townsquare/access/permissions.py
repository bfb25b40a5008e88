"""The one dependency every route uses to declare the permission it needs.

A request carries either a bearer API token (platforms, scripts) or a UI session cookie (people);
either way it becomes a Principal whose permissions come from the user's current roles (narrowed by
the token's scopes). Frozen users are refused, or limited to reading when the freeze allows it.
Unsafe requests made with a session cookie must echo the session's CSRF token (the X-CSRF-Token
header, or a `csrf_token` form field on the server-rendered pages). A user who must change their
password is refused everywhere except the login, logout and password-change routes.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Form, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from townsquare.access.models import StaffUser
from townsquare.access.principal_cache import cached_token_principal, token_principal
from townsquare.access.roles import ALL_PERMISSIONS
from townsquare.access.service import Principal, principal_for_session
from townsquare.db import transaction
from townsquare.errors import Forbidden, Unauthorized

if TYPE_CHECKING:
    from townsquare.runtime import Runtime

SESSION_COOKIE = "ts_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Routes any signed-in principal may call (who am I, own tokens, logout, password change) declare this.
AUTHENTICATED = "authenticated"

_bearer = HTTPBearer(
    auto_error=False, description="An API token (ts_...) issued by `townsquare users token`."
)


def _csrf_ok(request: Request, expected: str, form_value: str | None = None) -> bool:
    sent = request.headers.get(CSRF_HEADER, "") or form_value or ""
    return bool(sent) and hmac.compare_digest(sent.encode(), expected.encode())


def authenticate(
    request: Request, credentials: HTTPAuthorizationCredentials | None, csrf_form: str | None = None
) -> Principal:
    """Resolve the caller from a bearer token or a session cookie, or refuse with 401."""
    rt = request.app.state.runtime
    now = rt.now()
    if credentials is not None:
        # Cached per token while the `access` change stamp stands: revocations, role changes,
        # disabled users and freezes still apply to the very next request (principal_cache). A cached
        # token is checked on a plain connection; only a new or stale one needs a session.
        found_token = cached_token_principal(rt.engine, credentials.credentials, now)
        if found_token is None:
            with transaction(rt.sessions) as session:
                found_token = token_principal(session, rt.engine, credentials.credentials, now)
        if found_token is None:
            raise Unauthorized("the token is unknown, expired or revoked")
        principal, must_change = found_token
        request.state.must_change_password = must_change
    else:
        principal = _session_principal(request, rt, now, csrf_form)
    request.state.principal = principal
    return principal


def _session_principal(request: Request, rt: Runtime, now: datetime, csrf_form: str | None) -> Principal:
    """The person behind the UI session cookie (CSRF checked on unsafe methods), or 401/403."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise Unauthorized("a bearer token or a login session is required")
    with transaction(rt.sessions) as session:
        found = principal_for_session(session, cookie, now)
        if found is None:
            raise Unauthorized("the session has expired; log in again")
        principal, row = found
        if request.method not in SAFE_METHODS and not _csrf_ok(request, row.csrf_token, csrf_form):
            raise Forbidden("missing or wrong CSRF token", {"field": "csrf_token"})
        user = session.get(StaffUser, principal.user_id) if principal.user_id is not None else None
        request.state.must_change_password = bool(user is not None and user.must_change_password)
    return principal


def _admit(request: Request, principal: Principal, permission: str, *, password_change: bool) -> None:
    """Refuse a user who must change their password first, or whose access is frozen."""
    if password_change:  # logout and the password change itself stay open to them
        return
    if getattr(request.state, "must_change_password", False):
        raise Forbidden(
            "change your password first (POST /v1/auth/password)",
            {"field": "password", "must_change_password": True},
        )
    if principal.frozen and not (principal.read_only and request.method in SAFE_METHODS):
        raise Forbidden("your access to the tools is frozen", {"permission": permission, "frozen": True})


def require(permission: str) -> Callable[..., Principal]:
    """A dependency that admits only principals holding `permission` (and not frozen)."""
    if permission not in ALL_PERMISSIONS:
        raise ValueError(f"unknown permission {permission}")

    def dependency(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        principal = authenticate(request, credentials)
        _admit(request, principal, permission, password_change=False)
        principal.need(permission)
        return principal

    dependency.permission = permission  # type: ignore[attr-defined]
    return dependency


def require_form(permission: str) -> Callable[..., Principal]:
    """Like require, for HTML form posts: the session's CSRF token comes as the `csrf_token` field."""
    if permission not in ALL_PERMISSIONS:
        raise ValueError(f"unknown permission {permission}")

    def dependency(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        csrf_token: Annotated[str, Form()] = "",
    ) -> Principal:
        principal = authenticate(request, credentials, csrf_form=csrf_token)
        _admit(request, principal, permission, password_change=False)
        principal.need(permission)
        return principal

    dependency.permission = permission  # type: ignore[attr-defined]
    return dependency


def signed_in(*, password_change: bool = False) -> Callable[..., Principal]:
    """A dependency for self-service routes: any valid credential, no particular permission.

    `password_change=True` marks the routes a user who must change their password may still use.
    """

    def dependency(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        principal = authenticate(request, credentials)
        _admit(request, principal, AUTHENTICATED, password_change=password_change)
        return principal

    dependency.permission = AUTHENTICATED  # type: ignore[attr-defined]
    return dependency


def signed_in_form(*, password_change: bool = False) -> Callable[..., Principal]:
    """Like signed_in, for HTML form posts: the session's CSRF token comes as the `csrf_token` field."""

    def dependency(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        csrf_token: Annotated[str, Form()] = "",
    ) -> Principal:
        principal = authenticate(request, credentials, csrf_form=csrf_token)
        _admit(request, principal, AUTHENTICATED, password_change=password_change)
        return principal

    dependency.permission = AUTHENTICATED  # type: ignore[attr-defined]
    return dependency


def public() -> None:
    """Declares a route that anyone may call (landing page, health, login); it exposes no moderation data."""
    return None


public.permission = "public"  # type: ignore[attr-defined]
