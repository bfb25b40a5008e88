"""The two-person rule: a high-impact change waits as an approval until a second person decides it.

A request records the change (`kind` + `payload`), the permission its approver needs and when it
expires. Approving executes the change through the executor registered for its kind; each executor lives
next to its domain (enforcement, policy, freezes) and is found through `EXECUTOR_MODULES`, so this module
knows no domain's internals. The approver must hold the permission, must not be the requester, and must
be independent of them (`independence.py`): neither's power over the change may come from the other.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare.access.independence import check_independent
from townsquare.access.models import Approval
from townsquare.access.roles import (
    ACTION_BAN,
    ACTION_REINSTATE,
    BULK_DECIDE,
    CLAIMS_PUBLISH,
    FREEZE_GLOBAL,
    MODELS_PUBLISH,
    POLICY_PUBLISH,
    ROLES,
    ROLES_GRANT,
    TRANSPARENCY_PUBLISH,
    permissions_of,
)
from townsquare.access.service import (
    Principal,
    active_freezes,
    active_roles,
    freeze_state,
    grant_role,
    user_by_name,
)
from townsquare.errors import Conflict, Forbidden, Invalid, NotFound, TownsquareError
from townsquare.eventlog import events

if TYPE_CHECKING:
    from townsquare.runtime import Runtime

SYSTEM_ACTOR = "service:townsquare"
Executor = Callable[[Session, "Runtime", Approval], dict[str, Any]]
# Modules whose import registers executors; imported on first use, so this module imports no domain.
EXECUTOR_MODULES = (
    "townsquare.access.freeze",
    "townsquare.enforcement.human",
    "townsquare.policy.publishing",
    "townsquare.elections.claims_library",
    "townsquare.campaigns.service",
    "townsquare.transparency.publish",
    "townsquare.detection.versions",
)
_EXECUTORS: dict[str, Executor] = {}
# kind -> the permission a requester asks with, where it is not the approver's
_REQUESTER_NEEDS: dict[str, str] = {}
# The permissions an approval may require of its approver. Break-glass never grants a role carrying one.
APPROVAL_PERMISSIONS = frozenset(
    {ACTION_BAN, ACTION_REINSTATE, BULK_DECIDE, POLICY_PUBLISH, ROLES_GRANT, FREEZE_GLOBAL, CLAIMS_PUBLISH}
) | {TRANSPARENCY_PUBLISH, MODELS_PUBLISH}  # publishing a transparency report or a model version
_USER_ACTOR = re.compile(r"^(?:user|service):(.+)$")


class ExecutionFailed(Exception):
    """An approved change could not be carried out; `cause` is the domain's error."""

    def __init__(self, approval_id: int, cause: TownsquareError) -> None:
        super().__init__(cause.message)
        self.approval_id = approval_id
        self.cause = cause


def executor(kind: str, requester_needs: str | None = None) -> Callable[[Executor], Executor]:
    """Register the function that carries out approved changes of `kind`.

    `requester_needs` is the permission a requester asks with, when it is not the one the approver
    needs (a policy editor proposes a text bank, a publisher approves it).
    """

    def register(fn: Executor) -> Executor:
        _EXECUTORS[kind] = fn
        if requester_needs is not None:
            _REQUESTER_NEEDS[kind] = requester_needs
        return fn

    return register


def _executor_for(kind: str) -> Executor:
    if kind not in _EXECUTORS:
        for module in EXECUTOR_MODULES:
            importlib.import_module(module)
    if kind not in _EXECUTORS:
        raise Invalid(f"no executor for approvals of kind {kind}", {"field": "kind"})
    return _EXECUTORS[kind]


def request_approval(
    session: Session,
    rt: Runtime,
    principal: Principal,
    kind: str,
    payload: dict[str, Any],
    summary: str,
    required_permission: str,
    reason: str,
) -> Approval:
    """Open an approval for a change that needs a second person; it expires after approval_hours."""
    _executor_for(kind)
    if required_permission not in APPROVAL_PERMISSIONS:
        raise Invalid(
            f"{required_permission} is not a permission that approves changes",
            {"field": "required_permission"},
        )
    now = rt.now()
    approval = Approval(
        kind=kind,
        status="pending",
        payload=payload,
        summary=summary,
        required_permission=required_permission,
        requested_by=principal.actor,
        requested_at=now,
        expires_at=now + timedelta(hours=rt.settings.approval_hours),
        reason=reason,
        result={},
    )
    session.add(approval)
    session.flush([approval])
    events.record(
        session,
        "approval.requested",
        actor=principal.actor,
        subject_type="approval",
        subject_id=approval.id,
        at=now,
        reason=reason,
        payload={
            "kind": kind,
            "summary": summary,
            "required_permission": required_permission,
            "expires_at": events.iso(approval.expires_at),
            "change": payload,
        },
    )
    return approval


def get(session: Session, approval_id: int, *, for_update: bool = False) -> Approval:
    """One approval, or NotFound (locked for update when deciding)."""
    query = select(Approval).where(Approval.id == approval_id)
    found = session.scalar(query.with_for_update() if for_update else query)
    if found is None:
        raise NotFound(f"no approval {approval_id}", {"field": "approval_id"})
    return found


def _expire(session: Session, approval: Approval, now: datetime) -> None:
    approval.status = "expired"
    # Dated when recorded (the log's time never goes backwards); the expiry time is in the payload.
    events.record(
        session,
        "approval.expired",
        actor=SYSTEM_ACTOR,
        subject_type="approval",
        subject_id=approval.id,
        at=now,
        payload={
            "kind": approval.kind,
            "requested_by": approval.requested_by,
            "expired_at": events.iso(approval.expires_at),
        },
    )


def expire_due(session: Session, rt: Runtime) -> int:
    """Mark pending approvals past their expiry as expired (an event each); returns how many."""
    due = session.scalars(
        select(Approval).where(Approval.status == "pending", Approval.expires_at <= rt.now())
    ).all()
    for approval in due:
        _expire(session, approval, rt.now())
    return len(due)


def list_approvals(session: Session, rt: Runtime, status: str | None = "pending") -> list[Approval]:
    """Approvals in `status` (all when None), oldest first; expired ones are marked on the way."""
    expire_due(session, rt)
    query = select(Approval)
    if status:
        query = query.where(Approval.status == status)
    return list(session.scalars(query.order_by(Approval.requested_at, Approval.id)))


def pending_for(session: Session, kind: str, key: str, value: Any) -> Approval | None:
    """A pending approval of `kind` whose payload has `key` == `value` (to refuse duplicates)."""
    rows = session.scalars(select(Approval).where(Approval.kind == kind, Approval.status == "pending"))
    return next((a for a in rows if a.payload.get(key) == value), None)


def decide(
    session: Session, rt: Runtime, principal: Principal, approval_id: int, approve: bool, reason: str
) -> Approval:
    """Approve (and execute) or reject a pending approval; an expired one is marked expired and returned.

    The requester may withdraw their own request (status cancelled) but never approve it.
    """
    approval = get(session, approval_id, for_update=True)
    now = rt.now()
    if approval.status == "pending" and approval.expires_at <= now:
        _expire(session, approval, now)
        return approval
    if approval.status != "pending":
        raise Conflict(
            f"approval {approval_id} is {approval.status}, not pending",
            {"field": "approval_id", "status": approval.status},
        )
    own = principal.actor == approval.requested_by
    if own and approve:
        raise Forbidden(
            "you requested this change; a second person must approve it", {"field": "approval_id"}
        )
    if not own:
        principal.need(approval.required_permission)
    if approve:
        requester_needs = _REQUESTER_NEEDS.get(approval.kind, approval.required_permission)
        check_independent(session, approval, principal.actor, requester_needs, now)
    approval.decided_by, approval.decided_at, approval.decision_reason = principal.actor, now, reason
    if approve:
        try:
            approval.result = _executor_for(approval.kind)(session, rt, approval)
        except TownsquareError as exc:
            raise ExecutionFailed(approval.id, exc) from exc
        approval.status = "approved"
    else:
        approval.status = "cancelled" if own else "rejected"
    events.record(
        session,
        f"approval.{approval.status}",
        actor=principal.actor,
        subject_type="approval",
        subject_id=approval.id,
        at=now,
        reason=reason,
        payload={"kind": approval.kind, "requested_by": approval.requested_by, "result": approval.result},
    )
    return approval


def record_failure(
    session: Session, rt: Runtime, principal: Principal, approval_id: int, cause: TownsquareError
) -> Approval:
    """Mark an approval whose execution failed (run after the failed transaction rolled back)."""
    approval = get(session, approval_id, for_update=True)
    if approval.status != "pending":
        return approval
    now = rt.now()
    approval.status = "failed"
    approval.decided_by, approval.decided_at = principal.actor, now
    approval.result = {"error": cause.error, "message": cause.message}
    events.record(
        session,
        "approval.failed",
        actor=principal.actor,
        subject_type="approval",
        subject_id=approval.id,
        at=now,
        reason=cause.message,
        payload={"kind": approval.kind, "requested_by": approval.requested_by, "error": cause.error},
    )
    return approval


def requester(session: Session, rt: Runtime, approval: Approval, need: str | None = None) -> Principal | None:
    """The requester as they stand now (None for non-user actors such as cli:operator).

    An approved change runs with the requester's authority, so a requester since disabled, frozen or
    stripped of the permission cannot have it carried out.
    """
    m = _USER_ACTOR.match(approval.requested_by)
    if m is None:
        return None
    try:
        user = user_by_name(session, m.group(1))
    except NotFound as exc:
        raise Forbidden("the requester no longer exists", {"field": "requested_by"}) from exc
    now = rt.now()
    roles = active_roles(session, user.id, now)
    frozen, _ = freeze_state(user, roles, active_freezes(session, now))
    if user.status != "active" or frozen:
        raise Forbidden(f"the requester {user.username} is disabled or frozen", {"field": "requested_by"})
    who = Principal(
        actor=approval.requested_by,
        permissions=permissions_of(roles),
        user_id=user.id,
        username=user.username,
        roles=roles,
    )
    if need is not None:
        who.need(need)
    return who


def approval_view(approval: Approval) -> dict[str, Any]:
    """An approval as the API shows it."""
    return {
        "id": approval.id,
        "kind": approval.kind,
        "status": approval.status,
        "summary": approval.summary,
        "payload": approval.payload or {},
        "required_permission": approval.required_permission,
        "requested_by": approval.requested_by,
        "requested_at": events.iso(approval.requested_at),
        "expires_at": events.iso(approval.expires_at),
        "reason": approval.reason,
        "decided_by": approval.decided_by,
        "decided_at": events.iso(approval.decided_at) if approval.decided_at else None,
        "decision_reason": approval.decision_reason,
        "result": approval.result or {},
        "url": f"/v1/approvals/{approval.id}",
    }


def request_admin_grant(
    session: Session, rt: Runtime, principal: Principal, username: str, reason: str
) -> Approval:
    """Ask for `username` to be made admin; a second holder of roles:grant must approve."""
    user = user_by_name(session, username)
    missing = ROLES["admin"] - principal.permissions
    if missing:
        raise Forbidden(f"you cannot grant admin: you lack {', '.join(sorted(missing))}", {"field": "role"})
    if principal.user_id == user.id:
        raise Forbidden("no one may grant roles to themselves", {"field": "username"})
    if "admin" in active_roles(session, user.id, rt.now()):
        raise Conflict(f"{username} already holds admin", {"field": "role"})
    if pending_for(session, "grant_admin", "username", username) is not None:
        raise Conflict(f"granting admin to {username} is already awaiting approval", {"field": "username"})
    return request_approval(
        session,
        rt,
        principal,
        "grant_admin",
        {"username": username, "reason": reason},
        f"grant admin to {username}",
        ROLES_GRANT,
        reason,
    )


@executor("grant_admin")
def _grant_admin(session: Session, rt: Runtime, approval: Approval) -> dict[str, Any]:
    granter = requester(session, rt, approval, need=ROLES_GRANT)
    if granter is None:
        raise Forbidden("only a staff user may ask for an admin grant", {"field": "requested_by"})
    user = user_by_name(session, str(approval.payload["username"]))
    grant = grant_role(
        session,
        granter,
        user,
        "admin",
        actor=approval.requested_by,
        now=rt.now(),
        reason=f"{approval.payload.get('reason', '')} (approval #{approval.id}, by {approval.decided_by})",
    )
    return {"username": user.username, "role": "admin", "grant_id": grant.id}
