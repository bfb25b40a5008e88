"""Permission names and the one dependency every route uses to declare what it needs.

Until users and roles exist (the access issue), the only principal is the holder of the
admin bearer token from settings; everything else is refused with 401.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from townsquare.errors import Forbidden, Unauthorized

ACCOUNTS_WRITE = "accounts:write"
ACCOUNTS_READ = "accounts:read"
ACCOUNTS_ERASE = "accounts:erase"
POSTS_WRITE = "posts:write"
POSTS_READ = "posts:read"
REPORTS_WRITE = "reports:write"
ACTIONS_READ = "actions:read"
ACTIONS_WRITE = "actions:write"
POLICIES_READ = "policies:read"
POLICIES_PUBLISH = "policies:publish"
AUDIT_READ = "audit:read"
AUDIT_CHECKPOINT = "audit:checkpoint"

ALL_PERMISSIONS: frozenset[str] = frozenset(
    {
        ACCOUNTS_WRITE,
        ACCOUNTS_READ,
        ACCOUNTS_ERASE,
        POSTS_WRITE,
        POSTS_READ,
        REPORTS_WRITE,
        ACTIONS_READ,
        ACTIONS_WRITE,
        POLICIES_READ,
        POLICIES_PUBLISH,
        AUDIT_READ,
        AUDIT_CHECKPOINT,
    }
)

_bearer = HTTPBearer(auto_error=False, description="Bearer token (TOWNSQUARE_ADMIN_TOKEN for now).")


@dataclass(frozen=True)
class Principal:
    """Who is calling and what they may do; `actor` is how events name them."""

    actor: str
    permissions: frozenset[str]


def authenticate(token: str | None, admin_token: str | None) -> Principal:
    """Map a bearer token to a principal, or refuse."""
    if not token or not admin_token or not hmac.compare_digest(token.encode(), admin_token.encode()):
        raise Unauthorized("a valid bearer token is required")
    return Principal(actor="token:admin", permissions=ALL_PERMISSIONS)


def require(permission: str) -> Callable[..., Principal]:
    """A dependency that admits only principals holding `permission`."""
    if permission not in ALL_PERMISSIONS:
        raise ValueError(f"unknown permission {permission}")

    def dependency(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        principal = authenticate(
            credentials.credentials if credentials else None, request.app.state.runtime.settings.admin_token
        )
        if permission not in principal.permissions:
            raise Forbidden(f"missing permission {permission}", {"permission": permission})
        return principal

    dependency.permission = permission  # type: ignore[attr-defined]
    return dependency


def public() -> None:
    """Declares a route that anyone may call (landing page, health); it exposes no moderation data."""
    return None


public.permission = "public"  # type: ignore[attr-defined]
