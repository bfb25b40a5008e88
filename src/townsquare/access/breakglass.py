"""Break-glass: a named person gets a role for a fixed number of minutes, with a reason and an alert.

The grant is an ordinary role grant with an expiry (`RoleGrant.break_glass`), so it ends by itself: no
job has to remember to revoke it. Every auditor is alerted when it is made.

Break-glass is for doing the work in an emergency, never for deciding who may do it: it never grants a
role carrying a permission that approves two-person changes, manages users, grants roles or freezes
(so one admin cannot make a sock puppet into the second person), it never approves anything even if such
a grant predates this rule, and it cannot be renewed while it runs (a new grant, with a new reason and a
new alert, once it has ended).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare.access.alerts import raise_alert
from townsquare.access.approvals import APPROVAL_PERMISSIONS
from townsquare.access.models import RoleGrant, StaffUser
from townsquare.access.roles import (
    BREAKGLASS_GRANT,
    FREEZE_GLOBAL,
    FREEZE_USER,
    ROLES,
    ROLES_GRANT,
    STAFF_ROLES,
    USERS_MANAGE,
)
from townsquare.access.service import Principal, active_grants, grant_role, user_by_name
from townsquare.errors import Conflict, Forbidden, Invalid
from townsquare.eventlog import events

# Powers break-glass never hands out: they decide approvals, make or empower people, or freeze them.
WITHHELD = APPROVAL_PERMISSIONS | {ROLES_GRANT, BREAKGLASS_GRANT, USERS_MANAGE, FREEZE_USER, FREEZE_GLOBAL}


def grantable_roles() -> list[str]:
    """The roles break-glass may grant: staff roles carrying none of the withheld powers."""
    return [r for r in STAFF_ROLES if not ROLES[r] & WITHHELD]


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise Invalid(f"unknown role {role}", {"field": "role"})
    withheld = sorted(ROLES[role] & WITHHELD)
    if withheld or role not in STAFF_ROLES:
        carries = f"it carries {', '.join(withheld)}" if withheld else "it is not a staff role"
        raise Forbidden(
            f"break-glass cannot grant {role}: {carries} (break-glass never approves, grants roles, "
            f"manages users or freezes); it may grant {', '.join(grantable_roles())}",
            {"field": "role", "withheld": withheld},
        )


if TYPE_CHECKING:
    from townsquare.runtime import Runtime


def break_glass(
    session: Session, rt: Runtime, principal: Principal, username: str, role: str, minutes: int, reason: str
) -> RoleGrant:
    """Give `username` a role for `minutes` (at most break_glass_max_minutes), with a reason and an alert."""
    limit = rt.settings.break_glass_max_minutes
    if not 1 <= minutes <= limit:
        raise Invalid(f"a break-glass grant lasts 1 to {limit} minutes", {"field": "minutes"})
    if not reason.strip():
        raise Invalid("a break-glass grant needs a reason", {"field": "reason"})
    _check_role(role)
    user = user_by_name(session, username)
    now = rt.now()
    for held in active_grants(session, user.id, now):
        if held.role == role:
            until = f" until {events.iso(held.expires_at)}" if held.expires_at else ""
            raise Conflict(
                f"{username} already holds {role}{until}; a break-glass grant cannot be renewed while "
                "it runs (ask again once it has ended)",
                {"field": "role", "grant_id": held.id},
            )
    grant = grant_role(
        session, principal, user, role, actor=principal.actor, now=now, reason=reason,
        expires_at=now + timedelta(minutes=minutes), break_glass=True,
    )  # fmt: skip
    ends = events.iso(grant.expires_at or now)
    events.record(
        session,
        "breakglass.granted",
        actor=principal.actor,
        subject_type="user",
        subject_id=user.username,
        at=now,
        reason=reason,
        payload={"role": role, "minutes": minutes, "expires_at": ends, "grant_id": grant.id},
    )
    raise_alert(
        session,
        "breakglass",
        f"break-glass: {principal.actor} gave {username} the {role} role until {ends}",
        actor=principal.actor,
        now=now,
        subject=f"user:{username}",
        details={"grant_id": grant.id, "role": role, "minutes": minutes, "reason": reason},
    )
    return grant


def recent_grants(session: Session, limit: int = 100) -> list[tuple[RoleGrant, str]]:
    """Break-glass grants, newest first, with the username each was given to (for the admin screen)."""
    rows = session.execute(
        select(RoleGrant, StaffUser.username)
        .join(StaffUser, StaffUser.id == RoleGrant.user_id)
        .where(RoleGrant.break_glass.is_(True))
        .order_by(RoleGrant.id.desc())
        .limit(limit)
    )
    return [(grant, username) for grant, username in rows]
