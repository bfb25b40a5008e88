"""Whether two staff members are independent: neither's power over a two-person change comes from the other.

An insider with an admin account could otherwise be both people: create a user (knowing its one-time
password), grant or break-glass it a role, and have it approve their own request. So a person's power is
traced back through the records that made it: who created the user, who granted each role that carries
the permission (a grant through an approved admin grant is the grant of the one who asked for it), and,
for each of those people in turn, who created them and where their power to create users or grant
roles came from at the time they used it. If the chain reaches the other person, the two are one. So
are two accounts made by the same person (directly, or through accounts that person made): whoever made
them knew both one-time passwords and could be both.

System actors (`system:bootstrap`, `cli:operator`, tests) are the roots of trust: whoever holds the
server's shell holds the database anyway.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare.access.alerts import raise_alert
from townsquare.access.models import Approval, RoleGrant, StaffUser
from townsquare.access.roles import BREAKGLASS_GRANT, ROLES, ROLES_GRANT, USERS_MANAGE
from townsquare.errors import Forbidden
from townsquare.eventlog import events

if TYPE_CHECKING:
    from townsquare.runtime import Runtime

_STAFF_ACTOR = re.compile(r"^(?:user|service):(.+)$")


def _active_at(grant: RoleGrant, at: datetime) -> bool:
    return (
        grant.granted_at <= at
        and (grant.revoked_at is None or grant.revoked_at > at)
        and (grant.expires_at is None or grant.expires_at > at)
    )


@dataclass
class Provenance:
    """Traces where staff members' powers came from; one per check (it caches what it reads)."""

    session: Session
    _users: dict[str, StaffUser | None] = field(default_factory=dict)
    _grants: dict[int, list[RoleGrant]] = field(default_factory=dict)

    def user(self, actor: str) -> StaffUser | None:
        """The staff user an actor string names (None for system actors and unknown names)."""
        if actor not in self._users:
            m = _STAFF_ACTOR.match(actor)
            found = None
            if m is not None:
                found = self.session.scalar(select(StaffUser).where(StaffUser.username == m.group(1)))
            self._users[actor] = found
        return self._users[actor]

    def grants(self, user: StaffUser, perms: frozenset[str], at: datetime) -> list[RoleGrant]:
        """The user's grants in force at `at` whose role carries any of `perms`."""
        if user.id not in self._grants:
            rows = self.session.scalars(select(RoleGrant).where(RoleGrant.user_id == user.id))
            self._grants[user.id] = sorted(rows, key=lambda g: g.id)
        return [
            g for g in self._grants[user.id] if ROLES.get(g.role, frozenset()) & perms and _active_at(g, at)
        ]

    def trace(self, actor: str, perms: frozenset[str], at: datetime, source: str) -> list[str] | None:
        """How `actor`'s holding of `perms` at `at` comes from `source` (steps, first is nearest), or None."""
        return self._trace(actor, perms, at, source, set())

    def _trace(
        self, actor: str, perms: frozenset[str], at: datetime, source: str, seen: set[tuple[str, str, str]]
    ) -> list[str] | None:
        user = self.user(actor)
        key = (actor, ",".join(sorted(perms)), at.isoformat())  # records are finite: so is the walk
        if user is None or key in seen:
            return None
        seen.add(key)
        creator = user.created_by or ""
        if creator == source:
            return [f"{actor} was created by {source}"]
        if self.user(creator) is not None:
            deeper = self._trace(creator, frozenset({USERS_MANAGE}), user.created_at, source, seen)
            if deeper is not None:
                return [f"{actor} was created by {creator}", *deeper]
        for grant in self.grants(user, perms, at):
            kind = "a break-glass grant" if grant.break_glass else "a grant"
            step = f"{actor} holds {grant.role} by {kind} from {grant.granted_by}"
            if grant.granted_by == source:
                return [step]
            if self.user(grant.granted_by) is not None:
                power = frozenset({BREAKGLASS_GRANT if grant.break_glass else ROLES_GRANT})
                deeper = self._trace(grant.granted_by, power, grant.granted_at, source, seen)
                if deeper is not None:
                    return [step, *deeper]
        return None


def creators(prov: Provenance, actor: str) -> list[str]:
    """The staff users up `actor`'s chain of creators, nearest first (each could control the next)."""
    out: list[str] = []
    user = prov.user(actor)
    while user is not None and user.created_by and prov.user(user.created_by) is not None:
        if user.created_by in out or user.created_by == actor:
            break
        out.append(user.created_by)
        user = prov.user(user.created_by)
    return out


def _common_creator(prov: Provenance, approver: str, requester: str) -> list[str] | None:
    """Both made, directly or through accounts made in turn, by the same staff user (who could be both)."""
    theirs = creators(prov, requester)
    for maker in creators(prov, approver):
        if maker in theirs:
            return [f"{approver} and {requester} were both created, directly or in turn, by {maker}"]
    return None


def only_break_glass(prov: Provenance, actor: str, permission: str, now: datetime) -> bool:
    """Whether `actor` holds `permission` now only through break-glass grants (which never approve)."""
    user = prov.user(actor)
    if user is None:
        return False
    grants = prov.grants(user, frozenset({permission}), now)
    return bool(grants) and all(g.break_glass for g in grants)


def dependence(
    session: Session,
    *,
    approver: str,
    requester: str,
    approver_needs: str,
    requester_needs: str,
    now: datetime,
) -> list[str] | None:
    """Why `approver` and `requester` are not two independent people (the chain of records), or None.

    Checked both ways: the approver's power to approve must not come from the requester, and the
    requester's power to ask must not come from the approver (a sock puppet asking its maker). Nor may
    both accounts have been made by the same person, who knows each one-time password and could be
    both (two sock puppets of one insider).
    """
    prov = Provenance(session)
    if prov.user(requester) is None or prov.user(approver) is None:
        return None  # a system actor on either side: nothing to trace
    if only_break_glass(prov, approver, approver_needs, now):
        return [f"{approver} holds {approver_needs} only through break-glass, which never approves"]
    found = prov.trace(approver, frozenset({approver_needs}), now, requester)
    if found is None:
        found = prov.trace(requester, frozenset({requester_needs}), now, approver)
    return found if found is not None else _common_creator(prov, approver, requester)


class NotIndependent(Forbidden):
    """The approver and the requester are not two independent people; `chain` says why."""

    def __init__(self, approval: Approval, approver: str, chain: list[str]) -> None:
        super().__init__(
            f"you cannot approve this: you and {approval.requested_by} are not two independent people "
            f"({'; '.join(chain)})",
            {"field": "approval_id", "reason": "not_independent", "chain": chain},
        )
        self.approver = approver
        self.chain = chain


def check_independent(
    session: Session, approval: Approval, approver: str, requester_needs: str, now: datetime
) -> None:
    """Refuse (NotIndependent, 403) an approver who is not independent of the approval's requester."""
    chain = dependence(
        session,
        approver=approver,
        requester=approval.requested_by,
        approver_needs=approval.required_permission,
        requester_needs=requester_needs,
        now=now,
    )
    if chain is not None:
        raise NotIndependent(approval, approver, chain)


def record_refusal(session: Session, rt: Runtime, refused: NotIndependent, approval_id: int) -> None:
    """Record a refused approval by a dependent approver (an event and an alert for auditors).

    Run after the refused request rolled back: an insider's sock puppet trying to approve is news.
    """
    approval = session.get(Approval, approval_id)
    if approval is None:
        return
    now = rt.now()
    events.record(
        session,
        "approval.refused",
        actor=refused.approver,
        subject_type="approval",
        subject_id=approval.id,
        at=now,
        reason=refused.message,
        payload={"kind": approval.kind, "requested_by": approval.requested_by, "chain": refused.chain},
    )
    raise_alert(
        session,
        "approval_refused",
        f"{refused.approver} tried to approve #{approval.id} ({approval.summary}) requested by "
        f"{approval.requested_by}; they are not independent",
        actor=refused.approver,
        now=now,
        subject=f"approval:{approval.id}",
        details={"approval_id": approval.id, "chain": refused.chain, "requested_by": approval.requested_by},
    )
