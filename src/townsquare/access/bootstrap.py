"""First-admin bootstrap, platform service tokens, and the demo's one user per role."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare.access import service
from townsquare.access.models import RoleGrant, StaffUser
from townsquare.access.roles import STAFF_ROLES
from townsquare.errors import Conflict
from townsquare.runtime import Runtime

SYSTEM = "system:bootstrap"


def one_time_password() -> str:
    """A random password for a first login (the user must change it)."""
    return secrets.token_urlsafe(15)


def has_admin(session: Session) -> bool:
    """Whether any user holds the admin role (revoked grants excluded)."""
    row = session.scalar(
        select(RoleGrant.id).where(RoleGrant.role == "admin", RoleGrant.revoked_at.is_(None)).limit(1)
    )
    return row is not None


def bootstrap_admin(session: Session, rt: Runtime, username: str) -> str:
    """Create the first admin with a one-time password; refused once any admin exists."""
    if has_admin(session):
        raise Conflict("an admin already exists; ask them for an account", {"field": "username"})
    now = rt.now()
    password = one_time_password()
    user = service.create_user(
        session, username=username, actor=SYSTEM, now=now, password=password, must_change_password=True
    )
    service.grant_role(session, None, user, "admin", actor=SYSTEM, now=now, reason="first-admin bootstrap")
    return password


def service_token(session: Session, rt: Runtime, name: str, *, days: int = 365, actor: str = SYSTEM) -> str:
    """A platform service account (role `platform`) and a fresh token for it."""
    now = rt.now()
    user = session.scalar(select(StaffUser).where(StaffUser.username == name))
    if user is None:
        user = service.create_user(session, username=name, actor=actor, now=now, kind="service")
        service.grant_role(session, None, user, "platform", actor=actor, now=now, reason="platform service")
    plain, _ = service.create_token(
        session, user, name=f"{name} ingest", scopes=None, days=days, actor=actor, now=now
    )
    return plain


@dataclass
class DemoLogin:
    """A demo user's login, printed by `make demo`."""

    username: str
    role: str
    password: str


def demo_users(session: Session, rt: Runtime) -> list[DemoLogin]:
    """One demo user per staff role, with fresh passwords (reset on every demo start)."""
    now = rt.now()
    out = []
    for role in STAFF_ROLES:
        username = f"demo-{role.replace('_', '-')}"
        password = one_time_password()
        user = session.scalar(select(StaffUser).where(StaffUser.username == username))
        if user is None:
            user = service.create_user(session, username=username, actor=SYSTEM, now=now, password=password)
            service.grant_role(session, None, user, role, actor=SYSTEM, now=now, reason="demo user")
        else:
            user.password_hash = service.hash_password(password)
            user.failed_logins = 0
        out.append(DemoLogin(username, role, password))
    return out
