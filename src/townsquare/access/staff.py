"""Staff administration shared by the API and the CLI: create, list, disable, grant, revoke, tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from townsquare.access import approvals, service
from townsquare.access.bootstrap import one_time_password
from townsquare.access.login import end_sessions, totp_enabled
from townsquare.access.models import ApiToken, RoleGrant, StaffUser
from townsquare.access.roles import ROLES, USERS_MANAGE
from townsquare.access.service import Principal
from townsquare.errors import Conflict, Forbidden, Invalid, NotFound
from townsquare.eventlog import events
from townsquare.runtime import Runtime


def create_person(
    session: Session, rt: Runtime, username: str, *, actor: str, display_name: str = ""
) -> tuple[StaffUser, str]:
    """A person with a one-time password (returned once) that must be changed at first login."""
    password = one_time_password()
    user = service.create_user(
        session,
        username=username,
        actor=actor,
        now=rt.now(),
        display_name=display_name,
        password=password,
        must_change_password=True,
    )
    return user, password


def user_row(session: Session, user: StaffUser, now: datetime) -> dict[str, Any]:
    """A user as the API and CLI show it (never a hash or a secret)."""
    return {
        "username": user.username,
        "display_name": user.display_name,
        "kind": user.kind,
        "status": user.status,
        "roles": sorted(service.active_roles(session, user.id, now)),
        "failed_logins": user.failed_logins or 0,  # in a row; logins slow down, accounts never lock
        "must_change_password": user.must_change_password,
        "totp_enabled": totp_enabled(user),
        "created_at": events.iso(user.created_at),
        "created_by": user.created_by,
        "last_login_at": events.iso(user.last_login_at) if user.last_login_at else None,
    }


def list_users(session: Session, rt: Runtime) -> list[dict[str, Any]]:
    """Every staff user, by username."""
    now = rt.now()
    return [
        user_row(session, u, now) for u in session.scalars(select(StaffUser).order_by(StaffUser.username))
    ]


def _active_admins(session: Session, now: datetime) -> set[int]:
    rows = session.scalars(
        select(RoleGrant.user_id)
        .join(StaffUser, StaffUser.id == RoleGrant.user_id)
        .where(RoleGrant.role == "admin", RoleGrant.revoked_at.is_(None), StaffUser.status == "active")
        .where((RoleGrant.expires_at.is_(None)) | (RoleGrant.expires_at > now))
    )
    return set(rows)


def disable_user(
    session: Session, rt: Runtime, username: str, *, actor: str, reason: str, by_user_id: int | None = None
) -> dict[str, int]:
    """Disable a user: their sessions and tokens are revoked at once. The last admin cannot be disabled."""
    now = rt.now()
    user = service.user_by_name(session, username)
    if by_user_id is not None and by_user_id == user.id:
        raise Forbidden("you cannot disable yourself", {"field": "username"})
    if user.status == "disabled":
        raise Conflict(f"{username} is already disabled", {"field": "username"})
    if _active_admins(session, now) == {user.id}:
        raise Conflict("this is the last active admin; make another admin first", {"field": "username"})
    user.status = "disabled"
    sessions = end_sessions(session, rt, user.id)
    result = session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    tokens = int(getattr(result, "rowcount", 0) or 0)
    events.record(
        session,
        "user.disabled",
        actor=actor,
        subject_type="user",
        subject_id=username,
        at=now,
        reason=reason,
        payload={"sessions_revoked": sessions, "tokens_revoked": tokens},
    )
    return {"sessions_revoked": sessions, "tokens_revoked": tokens}


def grant_needs_approval(role: str) -> bool:
    """Whether granting `role` goes through the two-person rule (granting admin does)."""
    return role == "admin"


def grant(
    session: Session, rt: Runtime, granter: Principal, username: str, role: str, *, reason: str
) -> dict[str, Any]:
    """Grant a role through the API: never more than the granter holds; admin needs a second approver."""
    user = service.user_by_name(session, username)
    if role not in ROLES:
        raise Invalid(f"unknown role {role}", {"field": "role"})
    missing = ROLES[role] - granter.permissions
    if missing:
        raise Forbidden(f"you cannot grant {role}: you lack {', '.join(sorted(missing))}", {"field": "role"})
    if granter.user_id == user.id:
        raise Forbidden("no one may grant roles to themselves", {"field": "username"})
    if grant_needs_approval(role):
        approval = approvals.request_admin_grant(session, rt, granter, username, reason)
        return {"status": "pending_approval", "approval": approvals.approval_view(approval)}
    row = service.grant_role(session, granter, user, role, actor=granter.actor, now=rt.now(), reason=reason)
    return {"status": "granted", "username": username, "role": role, "grant_id": row.id}


def revoke(
    session: Session,
    rt: Runtime,
    revoker: Principal | None,
    username: str,
    role: str,
    *,
    actor: str,
    reason: str,
) -> int:
    """Revoke a role; a revoker must hold what the role carries, and the last admin stays."""
    user = service.user_by_name(session, username)
    if revoker is not None:
        missing = ROLES.get(role, frozenset()) - revoker.permissions
        if missing:
            raise Forbidden(
                f"you cannot revoke {role}: you lack {', '.join(sorted(missing))}", {"field": "role"}
            )
    if role == "admin" and _active_admins(session, rt.now()) == {user.id}:
        raise Conflict("this is the last active admin; make another admin first", {"field": "role"})
    return service.revoke_role(session, user, role, actor=actor, now=rt.now(), reason=reason)


def token_row(token: ApiToken, now: datetime) -> dict[str, Any]:
    """A token as lists show it: never the secret or its hash."""
    active = token.revoked_at is None and token.expires_at > now
    return {
        "id": token.id,
        "name": token.name,
        "prefix": token.prefix,
        "scopes": list(token.scopes),
        "created_at": events.iso(token.created_at),
        "expires_at": events.iso(token.expires_at),
        "revoked_at": events.iso(token.revoked_at) if token.revoked_at else None,
        "last_used_at": events.iso(token.last_used_at) if token.last_used_at else None,
        "active": active,
    }


def own_tokens(session: Session, rt: Runtime, user_id: int | None) -> list[dict[str, Any]]:
    """The caller's tokens, newest first."""
    rows = session.scalars(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id.desc()))
    return [token_row(t, rt.now()) for t in rows]


def issue_token(
    session: Session, rt: Runtime, who: Principal, *, name: str, scopes: list[str] | None, days: int | None
) -> tuple[str, ApiToken]:
    """A token for the caller; a token-authenticated caller cannot mint one wider than its own scopes."""
    if who.user_id is None:
        raise Forbidden("only a staff user can hold tokens", {"field": "user"})
    user = session.get(StaffUser, who.user_id)
    if user is None:
        raise NotFound("no such user", {"field": "user"})
    if who.via == "token":
        wanted = set(scopes or who.permissions)
        wider = wanted - who.permissions
        if wider or not wanted:
            raise Forbidden(
                f"this token cannot issue a token with {', '.join(sorted(wider)) or 'no permissions'}",
                {"field": "scopes"},
            )
        scopes = sorted(wanted)
    return service.create_token(
        session,
        user,
        name=name,
        scopes=scopes,
        days=days if days is not None else rt.settings.token_days,
        actor=who.actor,
        now=rt.now(),
        holder=who,
    )


def revoke_token_by_id(session: Session, rt: Runtime, who: Principal, token_id: int) -> dict[str, Any]:
    """Revoke a token: one's own, or anyone's with users:manage."""
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"no token {token_id}", {"field": "token_id"})
    if token.user_id != who.user_id and not who.has(USERS_MANAGE):
        raise Forbidden("you may revoke only your own tokens", {"field": "token_id"})
    service.revoke_token(session, token, actor=who.actor, now=rt.now())
    return token_row(token, rt.now())
