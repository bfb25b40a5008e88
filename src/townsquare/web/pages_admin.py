"""Admin screens for people and their access: staff users (create, disable, grant and revoke roles) and
one's own API tokens. Each page is behind the permission of its API route and calls the same services
(`access.staff`), so the rules (never grant more than you hold, admin needs a second approver, the last
admin stays) are the API's own. A failed form comes back with every field as entered and the error.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from townsquare.access import ratelimit, staff
from townsquare.access.api_auth import TokenCreate
from townsquare.access.api_users import Disable, RoleGrantIn, UserCreate
from townsquare.access.freeze import freeze_view
from townsquare.access.permissions import Principal, require, require_form, signed_in, signed_in_form
from townsquare.access.roles import ROLES, ROLES_GRANT, STAFF_ROLES, USERS_MANAGE, USERS_READ
from townsquare.access.service import active_freezes, active_grants, user_by_name
from townsquare.content.api import RT
from townsquare.db import transaction
from townsquare.errors import TownsquareError
from townsquare.eventlog import events
from townsquare.runtime import Runtime
from townsquare.web.render import csrf_token, error_field, page

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form(max_length=2_000)]
Short = Annotated[str, Form(max_length=128)]


def _message(exc: Exception, default: str) -> str:
    """The error as a sentence for the form: the service's message, or the invalid field's."""
    if isinstance(exc, TownsquareError):
        return exc.message
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        return f"{str(err.get('loc', [default])[0]).replace('_', ' ')}: {err.get('msg', 'not valid')}"
    return str(exc)


def done_message(request: Request) -> str:
    """The confirmation after a redirect, built from a known code (never text taken from the URL)."""
    q = request.query_params
    role = q.get("role", "") if q.get("role", "") in ROLES else "the role"
    n = q.get("n", "") if q.get("n", "").isdigit() else "?"
    messages = {
        "disabled": f"Disabled: {n} sessions and tokens ended.",
        "granted": f"Granted {role}.",
        "requested": f"Granting {role} needs a second person: approval #{n} is waiting.",
        "revoked": f"Revoked {role}." if "role" in q else f"Token {n} revoked.",
    }
    return messages.get(q.get("done", ""), "")


def _status(exc: Exception) -> int:
    return exc.status if isinstance(exc, TownsquareError) else 422


def _users_page(
    request: Request, rt: Runtime, who: Principal, *, status: int = 200, **ctx: Any
) -> HTMLResponse:
    with transaction(rt.sessions) as session:
        users = staff.list_users(session, rt)
        base = {"principal": who, "csrf_token": csrf_token(session, who)}
    return page(
        request, "admin_users.html", status, users=users, can_manage=who.has(USERS_MANAGE),
        form=ctx.pop("form", {}), **base, **ctx,
    )  # fmt: skip


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(
    request: Request, rt: RT, who: Annotated[Principal, Depends(require(USERS_READ))]
) -> HTMLResponse:
    """Every staff user with roles and status; a form to add a person (with users:manage)."""
    return _users_page(request, rt, who)


@router.post("/admin/users", response_class=HTMLResponse)
def create_user(
    request: Request,
    rt: RT,
    who: Annotated[Principal, Depends(require_form(USERS_MANAGE))],
    username: Annotated[str, Form(max_length=64)] = "",
    display_name: Short = "",
) -> Response:
    """Add a person; their one-time password is shown once, on the page that answers."""
    form = {"username": username, "display_name": display_name}
    try:
        data = UserCreate(username=username.strip(), display_name=display_name.strip())
        with transaction(rt.sessions) as session:
            user, password = staff.create_person(
                session, rt, data.username, actor=who.actor, display_name=data.display_name
            )
            created = {"username": user.username, "password": password}
    except (ValidationError, TownsquareError) as exc:
        return _users_page(
            request, rt, who, status=_status(exc), form=form,
            error=_message(exc, "username"), field=error_field(exc, "username"),
        )  # fmt: skip
    return _users_page(request, rt, who, status=201, created=created)


def _user_page(
    request: Request, rt: Runtime, who: Principal, username: str, *, status: int = 200, **ctx: Any
) -> HTMLResponse:
    with transaction(rt.sessions) as session:
        user = user_by_name(session, username)
        now = rt.now()
        grants = [
            {
                "role": g.role,
                "granted_by": g.granted_by,
                "granted_at": events.iso(g.granted_at),
                "expires_at": events.iso(g.expires_at) if g.expires_at else None,
                "break_glass": g.break_glass,
                "reason": g.reason,
            }
            for g in active_grants(session, user.id, now)
        ]
        ctx.update(
            principal=who,
            csrf_token=csrf_token(session, who),
            user=staff.user_row(session, user, now),
            grants=grants,
            # Freezes in force on this person by name (role and global freezes are on the freezes page).
            freezes=[
                freeze_view(rt, f)
                for f in active_freezes(session, now)
                if f.scope == "user" and f.target == user.username
            ],
        )
    held = {g["role"] for g in grants}
    ctx.setdefault("form", {})
    ctx.setdefault("done", done_message(request))
    return page(
        request, "admin_user.html", status,
        can_manage=who.has(USERS_MANAGE), can_grant=who.has(ROLES_GRANT), is_self=username == who.username,
        # Only roles the granter could grant are offered; the service checks again either way.
        grantable=[r for r in STAFF_ROLES if r not in held and ROLES[r] <= who.permissions],
        **ctx,
    )  # fmt: skip


@router.get("/admin/users/{username}", response_class=HTMLResponse)
def user_page(
    request: Request, username: str, rt: RT, who: Annotated[Principal, Depends(require(USERS_READ))]
) -> HTMLResponse:
    """One person: status, roles with who granted them and until when, and the forms to change them."""
    return _user_page(request, rt, who, username)


@router.post("/admin/users/{username}/disable", response_class=HTMLResponse)
def disable_user(
    request: Request,
    username: str,
    rt: RT,
    who: Annotated[Principal, Depends(require_form(USERS_MANAGE))],
    reason: Text = "",
) -> Response:
    """Disable a person: their sessions and tokens end at once."""
    try:
        data = Disable(reason=reason.strip())
        with transaction(rt.sessions) as session:
            out = staff.disable_user(
                session, rt, username, actor=who.actor, reason=data.reason, by_user_id=who.user_id
            )
    except (ValidationError, TownsquareError) as exc:
        return _user_page(
            request, rt, who, username, status=_status(exc), form={"disable_reason": reason},
            error=_message(exc, "reason"), field="disable_" + error_field(exc, "reason"),
        )  # fmt: skip
    ended = out["sessions_revoked"] + out["tokens_revoked"]
    return RedirectResponse(f"/admin/users/{username}?done=disabled&n={ended}", status_code=303)


@router.post("/admin/users/{username}/roles", response_class=HTMLResponse)
def grant_role(
    request: Request,
    username: str,
    rt: RT,
    who: Annotated[Principal, Depends(require_form(ROLES_GRANT))],
    role: Annotated[str, Form(max_length=32)] = "",
    reason: Text = "",
) -> Response:
    """Grant a role; granting admin waits for a second approver."""
    try:
        data = RoleGrantIn(role=role, reason=reason.strip())
        with transaction(rt.sessions) as session:
            result = staff.grant(session, rt, who, username, data.role, reason=data.reason)
    except (ValidationError, TownsquareError) as exc:
        return _user_page(
            request, rt, who, username, status=_status(exc), form={"role": role, "grant_reason": reason},
            error=_message(exc, "role"), field="grant_" + error_field(exc, "role"),
        )  # fmt: skip
    if result["status"] == "pending_approval":
        done = f"requested&role={role}&n={result['approval']['id']}"
    else:
        done = f"granted&role={role}"
    return RedirectResponse(f"/admin/users/{username}?done={done}", status_code=303)


@router.post("/admin/users/{username}/roles/{role}/revoke", response_class=HTMLResponse)
def revoke_role(
    request: Request,
    username: str,
    role: str,
    rt: RT,
    who: Annotated[Principal, Depends(require_form(ROLES_GRANT))],
    reason: Text = "",
) -> Response:
    """Revoke a role."""
    try:
        with transaction(rt.sessions) as session:
            staff.revoke(session, rt, who, username, role, actor=who.actor, reason=reason.strip())
    except TownsquareError as exc:
        return _user_page(
            request, rt, who, username, status=exc.status, form={"revoke_reason": reason},
            error=exc.message, field="revoke",
        )  # fmt: skip
    return RedirectResponse(f"/admin/users/{username}?done=revoked&role={role}", status_code=303)


def _tokens_page(
    request: Request, rt: Runtime, who: Principal, *, status: int = 200, **ctx: Any
) -> HTMLResponse:
    with transaction(rt.sessions) as session:
        tokens = staff.own_tokens(session, rt, who.user_id)
        base = {"principal": who, "csrf_token": csrf_token(session, who)}
    ctx.setdefault("form", {})
    ctx.setdefault("done", done_message(request))
    return page(
        request, "tokens.html", status, tokens=tokens, permissions=sorted(who.permissions),
        max_days=366, default_days=rt.settings.token_days, **base, **ctx,
    )  # fmt: skip


@router.get("/tokens", response_class=HTMLResponse)
def tokens_page(request: Request, rt: RT, who: Annotated[Principal, Depends(signed_in())]) -> HTMLResponse:
    """One's own API tokens (never their secrets) and a form for a new one."""
    return _tokens_page(request, rt, who)


@router.post("/tokens", response_class=HTMLResponse)
def create_token(
    request: Request,
    rt: RT,
    who: Annotated[Principal, Depends(signed_in_form())],
    name: Short = "",
    days: Annotated[str, Form(max_length=8)] = "",
    scopes: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """A new token for oneself, shown once."""
    form = {"name": name, "days": days, "scopes": scopes or []}
    try:
        ratelimit.check(request, f"tokens:{who.username}")
        data = TokenCreate(name=name.strip(), scopes=scopes or None, days=days.strip() or None)
        with transaction(rt.sessions) as session:
            plain, token = staff.issue_token(
                session, rt, who, name=data.name, scopes=data.scopes, days=data.days
            )
            created = {"token": plain, "name": token.name, "expires_at": events.iso(token.expires_at)}
    except (ValidationError, TownsquareError) as exc:
        return _tokens_page(
            request, rt, who, status=_status(exc), form=form,
            error=_message(exc, "name"), field=error_field(exc, "name"),
        )  # fmt: skip
    return _tokens_page(request, rt, who, status=201, created=created)


@router.post("/tokens/{token_id}/revoke", response_class=HTMLResponse)
def revoke_token(
    request: Request, token_id: int, rt: RT, who: Annotated[Principal, Depends(signed_in_form())]
) -> Response:
    """Revoke one's own token (or anyone's, with users:manage)."""
    try:
        ratelimit.check(request, f"tokens:{who.username}")
        with transaction(rt.sessions) as session:
            staff.revoke_token_by_id(session, rt, who, token_id)
    except TownsquareError as exc:
        return _tokens_page(request, rt, who, status=exc.status, error=exc.message, field="revoke")
    return RedirectResponse(f"/tokens?done=revoked&n={token_id}", status_code=303)
