"""Break-glass: a named person gets a role for a fixed number of minutes, with a reason and an alert.

The grant is an ordinary role grant with an expiry (`RoleGrant.break_glass`), so it ends by itself: no
job has to remember to revoke it. Every auditor is alerted when it is made.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from townsquare import events
from townsquare.access.alerts import raise_alert
from townsquare.access.models import RoleGrant
from townsquare.access.service import Principal, grant_role, user_by_name
from townsquare.errors import Invalid

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
    user = user_by_name(session, username)
    now = rt.now()
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
