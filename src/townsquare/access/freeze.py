"""Freezes of tool access.

Freezing one user is immediate. Freezing a role or everyone is a takeover's favourite move (lock every
moderator out), so it needs a second admin, alerts every auditor, and lifts itself after
`freeze_max_hours` unless renewed (again with a second admin). An 'all' freeze spares admins and the
admin role cannot be frozen, so someone can always lift a freeze.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare.access import approvals
from townsquare.access.alerts import raise_alert
from townsquare.access.models import Approval, Freeze
from townsquare.access.roles import FREEZE_GLOBAL, ROLES
from townsquare.access.service import Principal, active_freezes, user_by_name
from townsquare.errors import Conflict, Invalid, NotFound
from townsquare.eventlog import events

if TYPE_CHECKING:
    from townsquare.runtime import Runtime

SCOPES = ("user", "role", "all")


def _hours(rt: Runtime, hours: float | None, *, capped: bool) -> float | None:
    limit = rt.settings.freeze_max_hours
    if hours is None:
        return limit if capped else None
    if hours <= 0:
        raise Invalid("hours must be positive", {"field": "hours"})
    if capped and hours > limit:
        raise Invalid(f"a role or global freeze lasts at most {limit:g} hours", {"field": "hours"})
    return hours


def _check_target(session: Session, scope: str, target: str) -> str:
    if scope not in SCOPES:
        raise Invalid(f"scope must be one of {', '.join(SCOPES)}", {"field": "scope"})
    if scope == "user":
        try:
            return user_by_name(session, target).username
        except NotFound as exc:
            raise NotFound(f"no user {target}", {"field": "target"}) from exc
    if scope == "all":
        return ""
    if target not in ROLES:
        raise Invalid(f"unknown role {target}", {"field": "target"})
    if target == "admin":
        raise Invalid(
            "the admin role cannot be frozen: no one could lift it; freeze users", {"field": "target"}
        )
    return target


def _duplicate(session: Session, rt: Runtime, scope: str, target: str) -> None:
    for f in active_freezes(session, rt.now()):
        if f.scope == scope and f.target == target:
            raise Conflict(f"freeze {f.id} already covers {scope} {target}".strip(), {"field": "target"})


def freeze_user(
    session: Session,
    rt: Runtime,
    principal: Principal,
    username: str,
    reason: str,
    *,
    read_only: bool | None = None,
    hours: float | None = None,
) -> Freeze:
    """Freeze one user's tool access now; their sessions and tokens stay but every request is refused."""
    target = _check_target(session, "user", username)
    _duplicate(session, rt, "user", target)
    now = rt.now()
    span = _hours(rt, hours, capped=False)
    freeze = Freeze(
        scope="user",
        target=target,
        read_only=rt.settings.freeze_read_only if read_only is None else read_only,
        reason=reason,
        requested_by=principal.actor,
        starts_at=now,
        ends_at=now + timedelta(hours=span) if span else None,
    )
    session.add(freeze)
    session.flush([freeze])
    _started(session, freeze, principal.actor)
    return freeze


def _started(session: Session, freeze: Freeze, actor: str, approval_id: int | None = None) -> None:
    events.record(
        session,
        "freeze.started",
        actor=actor,
        subject_type="freeze",
        subject_id=freeze.id,
        at=freeze.starts_at,
        reason=freeze.reason,
        payload={
            "scope": freeze.scope,
            "target": freeze.target,
            "read_only": freeze.read_only,
            "ends_at": events.iso(freeze.ends_at) if freeze.ends_at else None,
            "approved_by": freeze.approved_by,
            "approval": approval_id,
        },
    )


def request_freeze(
    session: Session,
    rt: Runtime,
    principal: Principal,
    scope: str,
    target: str,
    reason: str,
    *,
    read_only: bool | None = None,
    hours: float | None = None,
) -> Approval:
    """Ask for a role or global freeze; a second holder of freeze:global must approve it."""
    principal.need(FREEZE_GLOBAL)
    if scope == "user":
        raise Invalid("a user freeze needs no approval", {"field": "scope"})
    target = _check_target(session, scope, target)
    _duplicate(session, rt, scope, target)
    span = _hours(rt, hours, capped=True)
    payload = {
        "scope": scope,
        "target": target,
        "read_only": rt.settings.freeze_read_only if read_only is None else read_only,
        "hours": span,
        "reason": reason,
    }
    what = "everyone but admins" if scope == "all" else f"role {target}"
    return approvals.request_approval(
        session, rt, principal, "freeze", payload, f"freeze {what} for {span:g} hours", FREEZE_GLOBAL, reason
    )


@approvals.executor("freeze")
def _execute(session: Session, rt: Runtime, approval: Approval) -> dict[str, Any]:
    approvals.requester(session, rt, approval, need=FREEZE_GLOBAL)
    p = approval.payload
    now = rt.now()
    hours = min(float(p["hours"]), rt.settings.freeze_max_hours)
    if p.get("renew_of"):
        return _renewed(session, rt, approval, int(p["renew_of"]), hours)
    _duplicate(session, rt, str(p["scope"]), str(p["target"]))
    freeze = Freeze(
        scope=p["scope"],
        target=p["target"],
        read_only=bool(p["read_only"]),
        reason=str(p.get("reason", "")),
        requested_by=approval.requested_by,
        approved_by=approval.decided_by,
        starts_at=now,
        ends_at=now + timedelta(hours=hours),
    )
    session.add(freeze)
    session.flush([freeze])
    _started(session, freeze, approval.requested_by, approval.id)
    message = f"{_what(freeze)} frozen until {events.iso(freeze.ends_at or now)}"
    _alert(session, freeze, "freeze", message, actor=approval.requested_by, now=now, approval_id=approval.id)
    return {"freeze_id": freeze.id, "ends_at": events.iso(freeze.ends_at or now)}


def _what(freeze: Freeze) -> str:
    return "everyone but admins" if freeze.scope == "all" else f"{freeze.scope} {freeze.target}"


def _alert(
    session: Session,
    freeze: Freeze,
    kind: str,
    message: str,
    *,
    actor: str,
    now: datetime,
    approval_id: int | None,
) -> None:
    raise_alert(
        session,
        kind,
        message,
        actor=actor,
        now=now,
        subject=f"freeze:{freeze.id}",
        details={
            "freeze_id": freeze.id,
            "scope": freeze.scope,
            "target": freeze.target,
            "requested_by": freeze.requested_by,
            "approved_by": freeze.approved_by,
            "approval": approval_id,
            "reason": freeze.reason,
        },
    )


def _get(session: Session, freeze_id: int) -> Freeze:
    freeze = session.get(Freeze, freeze_id)
    if freeze is None:
        raise NotFound(f"no freeze {freeze_id}", {"field": "freeze_id"})
    return freeze


def _in_force(rt: Runtime, freeze: Freeze) -> bool:
    now = rt.now()
    return freeze.lifted_at is None and (freeze.ends_at is None or freeze.ends_at > now)


def lift(session: Session, rt: Runtime, principal: Principal, freeze_id: int, reason: str) -> Freeze:
    """Lift a freeze at once (one person suffices: lifting restores access, it takes none away)."""
    freeze = _get(session, freeze_id)
    if freeze.scope != "user":
        principal.need(FREEZE_GLOBAL)
    if not _in_force(rt, freeze):
        raise Conflict(f"freeze {freeze_id} is no longer in force", {"field": "freeze_id"})
    now = rt.now()
    freeze.lifted_at, freeze.lifted_by = now, principal.actor
    events.record(
        session,
        "freeze.lifted",
        actor=principal.actor,
        subject_type="freeze",
        subject_id=freeze.id,
        at=now,
        reason=reason,
        payload={"scope": freeze.scope, "target": freeze.target},
    )
    if freeze.scope != "user":
        message = f"{_what(freeze)} unfrozen by {principal.actor}"
        _alert(session, freeze, "freeze_lifted", message, actor=principal.actor, now=now, approval_id=None)
    return freeze


def renew(
    session: Session, rt: Runtime, principal: Principal, freeze_id: int, reason: str, hours: float | None
) -> Freeze | Approval:
    """Extend a freeze: a user freeze at once; a role or global freeze only with a second admin."""
    freeze = _get(session, freeze_id)
    if not _in_force(rt, freeze):
        raise Conflict(f"freeze {freeze_id} is no longer in force; request a new one", {"field": "freeze_id"})
    if freeze.scope == "user":
        span, now = _hours(rt, hours, capped=False), rt.now()
        freeze.ends_at = now + timedelta(hours=span) if span else None
        _renewal_event(session, freeze, principal.actor, reason, now, None)
        return freeze
    principal.need(FREEZE_GLOBAL)
    if approvals.pending_for(session, "freeze", "renew_of", freeze.id) is not None:
        raise Conflict(
            f"a renewal of freeze {freeze_id} is already awaiting approval", {"field": "freeze_id"}
        )
    span = _hours(rt, hours, capped=True) or rt.settings.freeze_max_hours
    payload = {"scope": freeze.scope, "target": freeze.target, "read_only": freeze.read_only,
               "hours": span, "reason": reason, "renew_of": freeze.id}  # fmt: skip
    summary = f"renew the freeze of {_what(freeze)} for {span:g} hours"
    return approvals.request_approval(
        session, rt, principal, "freeze", payload, summary, FREEZE_GLOBAL, reason
    )


def _renewed(
    session: Session, rt: Runtime, approval: Approval, freeze_id: int, hours: float
) -> dict[str, Any]:
    freeze = _get(session, freeze_id)
    if not _in_force(rt, freeze):
        raise Conflict(f"freeze {freeze_id} ended before the renewal was approved", {"field": "freeze_id"})
    now = rt.now()
    freeze.ends_at = now + timedelta(hours=hours)
    freeze.approved_by = approval.decided_by
    _renewal_event(session, freeze, approval.requested_by, approval.reason, now, approval.id)
    message = f"{_what(freeze)} freeze renewed until {events.iso(freeze.ends_at)}"
    _alert(session, freeze, "freeze", message, actor=approval.requested_by, now=now, approval_id=approval.id)
    return {"freeze_id": freeze.id, "ends_at": events.iso(freeze.ends_at)}


def _renewal_event(
    session: Session, freeze: Freeze, actor: str, reason: str, now: datetime, approval_id: int | None
) -> None:
    events.record(
        session,
        "freeze.renewed",
        actor=actor,
        subject_type="freeze",
        subject_id=freeze.id,
        at=now,
        reason=reason,
        payload={"ends_at": events.iso(freeze.ends_at) if freeze.ends_at else None, "approval": approval_id},
    )


def list_freezes(session: Session, rt: Runtime, *, active_only: bool = False) -> list[Freeze]:
    """Freezes, newest first; those past their end are closed on the way (a `freeze.expired` event each)."""
    now = rt.now()
    rows = list(session.scalars(select(Freeze).order_by(Freeze.starts_at.desc(), Freeze.id.desc())))
    for f in rows:
        if f.lifted_at is None and f.ends_at is not None and f.ends_at <= now:
            f.lifted_at, f.lifted_by = f.ends_at, approvals.SYSTEM_ACTOR
            events.record(  # dated when recorded (never backwards); the end is in the payload
                session,
                "freeze.expired",
                actor=approvals.SYSTEM_ACTOR,
                subject_type="freeze",
                subject_id=f.id,
                at=now,
                payload={"scope": f.scope, "target": f.target, "ended_at": events.iso(f.ends_at)},
            )
    return [f for f in rows if _in_force(rt, f)] if active_only else rows


def freeze_view(rt: Runtime, freeze: Freeze) -> dict[str, Any]:
    """A freeze as the API shows it."""
    return {
        "id": freeze.id,
        "scope": freeze.scope,
        "target": freeze.target,
        "read_only": freeze.read_only,
        "reason": freeze.reason,
        "requested_by": freeze.requested_by,
        "approved_by": freeze.approved_by,
        "starts_at": events.iso(freeze.starts_at),
        "ends_at": events.iso(freeze.ends_at) if freeze.ends_at else None,
        "lifted_at": events.iso(freeze.lifted_at) if freeze.lifted_at else None,
        "lifted_by": freeze.lifted_by,
        "active": _in_force(rt, freeze) and freeze.starts_at <= rt.now(),
    }
