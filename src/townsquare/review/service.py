"""Working a case: take it (a lock that expires), decide it, release or escalate it.

A decision is refused when the caller does not hold the case's lock, when the case changed since the
caller loaded it (`revision`), when the post was edited or deleted since, or when another person's
action on the subject landed meanwhile. A violation is enforced through the same path as
`POST /v1/actions` (permissions per rung, protected subjects, the two-person rule for high-impact bans).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare.access.models import Approval, StaffUser
from townsquare.access.protect import check_actor_may_act
from townsquare.access.roles import CASE_DECIDE
from townsquare.access.service import Principal
from townsquare.api_types import MAX_VERSION
from townsquare.enforcement import human
from townsquare.enforcement import service as enforcement
from townsquare.enforcement.models import Action
from townsquare.enforcement.schemas import HumanAction
from townsquare.errors import Conflict, Forbidden, Invalid, NotFound
from townsquare.eventlog import events
from townsquare.review import quality, reports
from townsquare.review.intake import refresh_priority
from townsquare.review.models import OPEN_STATES, Case, CaseDecision
from townsquare.runtime import Runtime
from townsquare.taxonomy import ACCOUNT_ACTIONS

MAX_REASON = 2_000  # characters in a reason written to the event log


class DecisionIn(BaseModel):
    """A person's decision on a case."""

    model_config = ConfigDict(extra="forbid")

    outcome: Literal["no_violation", "violation"]
    policy: str | None = Field(default=None, max_length=64)
    action: Literal["label", "reduce_reach", "demonetise", "remove", "suspend", "ban"] | None = None
    reason: str = Field(default="", max_length=2_000)
    duration_days: int | None = Field(default=None, ge=1, le=3650)
    revision: int = Field(
        ge=1,
        le=MAX_VERSION,
        description="The case revision the decision was made on (stale forms are refused)",
    )


def get_case(session: Session, case_id: int) -> Case:
    """A case by id, or 404."""
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound(f"no case {case_id}", {"field": "case_id"})
    return case


def _holder(session: Session, case: Case) -> str:
    user = session.get(StaffUser, case.assigned_to) if case.assigned_to else None
    return user.username if user else "someone"


def _locked_by_other(case: Case, who: Principal, rt: Runtime) -> bool:
    return (
        case.assigned_to is not None
        and case.assigned_to != who.user_id
        and case.lock_expires_at is not None
        and case.lock_expires_at > rt.now()
    )


def _event(
    session: Session, rt: Runtime, case: Case, type_: str, who: Principal, reason: str = "", **payload: Any
) -> None:
    events.record(
        session,
        type_,
        actor=who.actor,
        subject_type="case",
        subject_id=case.id,
        at=rt.now(),
        reason=reason,
        payload={"state": case.state, "queue": case.queue, **payload},
    )


def take(session: Session, rt: Runtime, who: Principal, case_id: int) -> Case:
    """Assign the case to the caller with a lock (renewed when they already hold it)."""
    who.need(CASE_DECIDE)
    if who.user_id is None:
        raise Forbidden("only a staff user can take a case", {"field": "case_id"})
    case = get_case(session, case_id)
    if case.state == "decided":
        raise Conflict(f"case {case.id} is already decided", {"field": "case_id", "state": case.state})
    if who.user_id in (case.excluded_reviewers or []):
        raise Forbidden(
            "this case re-checks your own decision; someone else must take it", {"field": "case_id"}
        )
    if _locked_by_other(case, who, rt):
        raise Conflict(
            f"case {case.id} is being worked by {_holder(session, case)} "
            f"until {case.lock_expires_at:%H:%M} UTC",
            {"field": "case_id", "locked_until": str(case.lock_expires_at)},
        )
    check_actor_may_act(session, who, case.account)
    if case.post is not None:
        case.post_version = case.post.version  # the reviewer sees, and decides on, the current version
    case.assigned_to = who.user_id
    case.lock_expires_at = rt.now() + timedelta(minutes=rt.settings.case_lock_minutes)
    if case.state != "escalated":
        case.state = "assigned"
    case.revision += 1
    _event(session, rt, case, "case.assigned", who, assigned_to=who.username)
    return case


def release(session: Session, rt: Runtime, who: Principal, case_id: int) -> Case:
    """Give the case back to its queue."""
    case = get_case(session, case_id)
    if case.assigned_to != who.user_id:
        raise Conflict("you do not hold this case", {"field": "case_id"})
    case.assigned_to, case.lock_expires_at = None, None
    if case.state == "assigned":
        case.state = "open"
    case.revision += 1
    _event(session, rt, case, "case.released", who)
    return case


def next_case(
    session: Session, rt: Runtime, who: Principal, queue: str | None, order: str = "priority"
) -> Case | None:
    """Take the next case the caller may take: highest priority first (or oldest first, `order="fifo"`,
    which the exposure benchmark compares against). `queue=None` looks across every queue."""
    now = rt.now()
    q = select(Case).where(Case.state.in_(OPEN_STATES))
    if queue is not None:
        q = q.where(Case.queue == queue)
    ranked = (Case.opened_at, Case.id) if order == "fifo" else (Case.priority.desc(), Case.id)
    rows = session.scalars(q.order_by(*ranked).limit(200)).all()
    for case in rows:
        locked = (
            case.assigned_to not in (None, who.user_id)
            and case.lock_expires_at
            and case.lock_expires_at > now
        )
        if not locked and who.user_id not in (case.excluded_reviewers or []):
            try:
                return take(session, rt, who, case.id)
            except Forbidden:
                continue
    return None


def escalate(session: Session, rt: Runtime, who: Principal, case_id: int, reason: str) -> Case:
    """Send a case to senior review with a reason (anyone who works the queues may)."""
    if not reason.strip():
        raise Invalid("say why the case needs senior review", {"field": "reason"})
    if len(reason) > MAX_REASON:  # the API's limit, for every door (the form posts raw text)
        raise Invalid(f"reason is longer than {MAX_REASON} characters", {"field": "reason"})
    case = get_case(session, case_id)
    if case.state == "decided":
        raise Conflict(f"case {case.id} is already decided", {"field": "case_id"})
    if _locked_by_other(case, who, rt):
        raise Conflict(f"case {case.id} is being worked by {_holder(session, case)}", {"field": "case_id"})
    case.state, case.queue = "escalated", "senior"
    case.assigned_to, case.lock_expires_at = None, None
    case.reasons = sorted(set(case.reasons) | {"escalated"})
    case.revision += 1
    refresh_priority(session, rt, case)
    _event(session, rt, case, "case.escalated", who, reason=reason)
    return case


def _check_fresh(session: Session, rt: Runtime, who: Principal, case: Case, data: DecisionIn) -> None:
    if case.state == "decided":
        raise Conflict(f"case {case.id} was already decided", {"field": "case_id"})
    if case.assigned_to != who.user_id or case.lock_expires_at is None or case.lock_expires_at <= rt.now():
        raise Conflict("take the case first (your lock is missing or has expired)", {"field": "case_id"})
    if data.revision != case.revision:
        raise Conflict(
            "the case changed since you opened it (new reports, an edit or another update); reload it",
            {"field": "revision", "current": case.revision},
        )
    post = case.post
    if post is not None and post.status == "deleted":
        raise Conflict(
            "the post was deleted by the platform; nothing is left to decide", {"field": "case_id"}
        )
    if post is not None and post.version != case.post_version:
        raise Conflict(
            f"the post was edited (now version {post.version}); reload the case", {"field": "revision"}
        )
    subject = Action.post_id == post.id if post is not None else Action.account_id == case.account_id
    landed = session.scalar(
        select(Action.id)
        .where(
            subject,
            Action.automated.is_(False),
            Action.created_at > case.opened_at,
            Action.status == "active",
        )
        .limit(1)
    )
    if landed is not None and case.kind != "automation_qa":
        raise Conflict(
            f"another decision landed on this subject meanwhile (action {landed})", {"field": "case_id"}
        )


def _enforce(session: Session, rt: Runtime, who: Principal, case: Case, data: DecisionIn) -> dict[str, Any]:
    """Carry out the decision; returns what was done (action id, approval id, reversal)."""
    done: dict[str, Any] = {}
    if case.kind == "automation_qa" and case.action_id is not None:
        automated = session.get(Action, case.action_id)
        wrong = data.outcome == "no_violation" or data.policy != (automated.policy if automated else None)
        if automated is not None and wrong and automated.status == "active":
            enforcement.reverse(
                session,
                automated,
                actor=who.actor,
                reason=f"automation QA: {data.reason or 'not a violation'}",
                now=rt.now(),
            )
            done["reversed_action_id"] = automated.id
        if data.outcome == "no_violation" or not wrong:
            return done
    if data.outcome == "no_violation":
        return done
    if not data.policy or not data.action:
        raise Invalid(
            "a violation needs a policy and an action", {"field": "policy" if not data.policy else "action"}
        )
    on_account = data.action in ACCOUNT_ACTIONS
    if not on_account and case.post is None:
        raise Invalid("this case is about an account: choose suspend or ban", {"field": "action"})
    result = human.act(
        session,
        rt,
        who,
        HumanAction(
            action=data.action,
            policy=data.policy,
            post=None if on_account else case.post.platform_id if case.post else None,
            account=case.account.platform_id if on_account else None,
            reason=data.reason,
            duration_days=data.duration_days,
        ),
    )
    session.flush()
    if isinstance(result, Approval):
        done["approval_id"] = result.id
    else:
        done["action_id"] = result.id
    return done


def decide(session: Session, rt: Runtime, who: Principal, case_id: int, data: DecisionIn) -> dict[str, Any]:
    """Record and enforce a decision on a case the caller holds."""
    who.need(CASE_DECIDE)
    case = get_case(session, case_id)
    _check_fresh(session, rt, who, case, data)
    if data.outcome == "violation" and data.policy not in rt.policies.areas():
        raise Invalid(f"unknown policy {data.policy!r}", {"field": "policy"})
    done = _enforce(session, rt, who, case, data)
    now = rt.now()
    assert who.user_id is not None
    row = CaseDecision(
        case_id=case.id,
        kind=case.kind,
        reviewer_id=who.user_id,
        outcome=data.outcome,
        policy=data.policy if data.outcome == "violation" else None,
        action=data.action if data.outcome == "violation" else None,
        reason=data.reason,
        action_id=done.get("action_id"),
        approval_id=done.get("approval_id"),
        decided_at=now,
    )
    session.add(row)
    case.state, case.decided_at = "decided", now
    case.assigned_to, case.lock_expires_at = None, None
    case.decision = {
        "outcome": data.outcome,
        "policy": row.policy,
        "action": row.action,
        "reason": data.reason,
        "by": who.username,
        **done,
    }
    case.revision += 1
    session.flush()
    subject = case.post.platform_id if case.post else case.account.platform_id
    told = reports.settle_reports(
        session,
        rt,
        case,
        data.outcome == "violation",
        {"subject": subject, "policy": row.policy, "action": row.action, "decided_at": events.iso(now)},
    )
    _event(
        session,
        rt,
        case,
        "case.decided",
        who,
        reason=data.reason,
        outcome=data.outcome,
        policy=row.policy,
        action=row.action,
        reporters_notified=told,
        **done,
    )
    follow_up = quality.after_decision(session, rt, who, case, row)
    return {"case_id": case.id, "state": case.state, **case.decision, "follow_up": follow_up}
