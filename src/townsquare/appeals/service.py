"""Appeals (DSA Art. 20): filed by the affected user or by a reporter whose report was rejected, within
six months, through the API or the signed link in the notice; decided by a person who took no part in
the decision appealed; upheld, overturned (content or account restored, strikes removed) or modified.
Every step is an event and a notice to the appellant.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare.access.models import Approval, StaffUser
from townsquare.access.roles import APPEALS_DECIDE
from townsquare.access.service import Principal
from townsquare.api_types import BodyId
from townsquare.appeals.models import Appeal
from townsquare.appeals.rules import Rules
from townsquare.content.models import Account, Post, Report
from townsquare.enforcement import human
from townsquare.enforcement.models import Action
from townsquare.enforcement.schemas import HumanAction
from townsquare.errors import Conflict, Forbidden, Invalid, NotFound
from townsquare.eventlog import events
from townsquare.notify import notify
from townsquare.review.models import Case, CaseDecision, ReportOutcome
from townsquare.runtime import Runtime
from townsquare.taxonomy import ACCOUNT_ACTIONS

LOCK = timedelta(minutes=30)
NEXT_STEPS = (
    "If you disagree with this outcome you may refer it to a certified out-of-court dispute settlement body "
    "(DSA Art. 21) or a court."
)


class AppealIn(BaseModel):
    """An appeal filed by the platform on its user's behalf."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["action", "report"]
    action: str | None = Field(default=None, max_length=200, description="The action's puid (kind action)")
    report: BodyId | None = Field(default=None, description="The report id (kind report)")
    account: str = Field(min_length=1, max_length=128, description="The appellant's platform account id")
    statement: str = Field(min_length=1, max_length=5_000)


class AppealDecision(BaseModel):
    """A reviewer's outcome with reasons; `action` is the new rung when modifying (or when overturning
    a decision to leave a reported post up)."""

    model_config = ConfigDict(extra="forbid")

    outcome: Literal["upheld", "overturned", "modified"]
    reason: str = Field(min_length=1, max_length=2_000)
    action: Literal["label", "reduce_reach", "demonetise", "remove", "suspend", "ban"] | None = None
    policy: str | None = Field(default=None, max_length=64)
    duration_days: int | None = Field(default=None, ge=1, le=3650)


def _user_id(session: Session, actor: str) -> int | None:
    if not actor.startswith("user:"):
        return None
    return session.scalar(select(StaffUser.id).where(StaffUser.username == actor.removeprefix("user:")))


def _involved(session: Session, post_id: int | None, account_id: int, actor: str) -> list[int]:
    """Staff who took part in the decision: its actor, and everyone who decided a case on the subject."""
    subject = Case.post_id == post_id if post_id is not None else Case.account_id == account_id
    ids = set(
        session.scalars(
            select(CaseDecision.reviewer_id).join(Case, Case.id == CaseDecision.case_id).where(subject)
        )
    )
    uid = _user_id(session, actor)
    if uid is not None:
        ids.add(uid)
    return sorted(ids)


def _target(session: Session, rt: Runtime, data: AppealIn, account: Account) -> dict[str, Any]:
    """What is appealed, checked: it exists, concerns the appellant, and is within the window."""
    window = timedelta(days=rt.settings.appeal_window_days)
    if data.kind == "action":
        action = session.scalar(select(Action).where(Action.puid == (data.action or "")))
        if action is None:
            raise NotFound(f"no decision {data.action}", {"field": "action"})
        if action.account_id != account.id:
            raise Forbidden("only the affected account can appeal this decision", {"field": "account"})
        if rt.now() - action.created_at > window:
            raise Conflict(
                f"the appeal window closed {(action.created_at + window).date()}", {"field": "action"}
            )
        return {
            "action": action,
            "post_id": action.post_id,
            "policy": action.policy,
            "source": "automated" if action.automated else "human",
            "actor": action.actor,
            "at": action.created_at,
        }
    report = session.get(Report, data.report or 0)
    if report is None:
        raise NotFound(f"no report {data.report}", {"field": "report"})
    if report.reporter_id != account.id:
        raise Forbidden("only the reporter can appeal a decision on their report", {"field": "account"})
    outcome = session.scalar(select(ReportOutcome).where(ReportOutcome.report_id == report.id))
    if outcome is None or outcome.outcome != "rejected":
        raise Conflict(
            "only a report that was rejected (the content left up) can be appealed", {"field": "report"}
        )
    assert outcome.decided_at is not None
    if rt.now() - outcome.decided_at > window:
        raise Conflict("the appeal window has closed", {"field": "report"})
    case = session.get(Case, outcome.case_id)
    decided_by = (case.decision or {}).get("by", "") if case else ""
    return {
        "report": report,
        "post_id": report.subject_id if report.subject_type == "post" else None,
        "policy": case.policy if case else report.reason,
        "source": "human",
        "actor": f"user:{decided_by}",
        "at": outcome.decided_at,
        "case": case,
    }


def file_appeal(session: Session, rt: Runtime, rules: Rules, data: AppealIn, channel: str) -> Appeal:
    """Receive an appeal (refused when it does not exist, is not the appellant's, is late or a duplicate)."""
    account = session.scalar(select(Account).where(Account.platform_id == data.account))
    if account is None:
        raise NotFound(f"no account {data.account}", {"field": "account"})
    t = _target(session, rt, data, account)
    key = Appeal.action_id == t["action"].id if "action" in t else Appeal.report_id == t["report"].id
    if session.scalar(select(Appeal.id).where(key, Appeal.account_id == account.id)) is not None:
        raise Conflict("this decision has already been appealed", {"field": data.kind})
    now = rt.now()
    appeal = Appeal(
        public_id=secrets.token_urlsafe(12),
        kind=data.kind,
        action_id=t["action"].id if "action" in t else None,
        report_id=t["report"].id if "report" in t else None,
        account_id=account.id,
        policy=t["policy"],
        original_source=t["source"],
        original_actor=t["actor"],
        statement=data.statement,
        channel=channel,
        state="received",
        excluded_reviewers=_involved(session, t["post_id"], account.id, t["actor"]),
        created_at=now,
        sla_due_at=now + timedelta(hours=rules.sla(t["policy"])),
        result={},
    )
    session.add(appeal)
    session.flush([appeal])
    events.record(
        session,
        "appeal.received",
        actor=f"platform:{channel}",
        subject_type="appeal",
        subject_id=appeal.public_id,
        at=now,
        reason=data.kind,
        payload={
            "kind": data.kind,
            "policy": appeal.policy,
            "source": appeal.original_source,
            "sla_due_at": events.iso(appeal.sla_due_at),
        },
        personal={"statement": data.statement},
        owner=account.id,
    )
    _tell(session, rt, appeal, "appeal_received", {"sla_due_at": events.iso(appeal.sla_due_at)})
    return appeal


def _tell(session: Session, rt: Runtime, appeal: Appeal, kind: str, extra: dict[str, Any]) -> None:
    notify(
        session,
        rt,
        appeal.account_id,
        kind,
        "appeal",
        appeal.public_id,
        {"appeal": appeal.public_id, "state": appeal.state, "policy": appeal.policy, **extra},
    )


def get(session: Session, appeal_id: int) -> Appeal:
    """An appeal by id, or 404."""
    appeal = session.get(Appeal, appeal_id)
    if appeal is None:
        raise NotFound(f"no appeal {appeal_id}", {"field": "appeal_id"})
    return appeal


def take(session: Session, rt: Runtime, who: Principal, appeal_id: int) -> Appeal:
    """Assign the appeal to a reviewer who took no part in the decision appealed."""
    who.need(APPEALS_DECIDE)
    appeal = get(session, appeal_id)
    if appeal.state == "decided":
        raise Conflict(f"appeal {appeal_id} is already decided", {"field": "appeal_id"})
    if who.user_id is None or who.user_id in appeal.excluded_reviewers:
        raise Forbidden(
            "you took part in the decision appealed; another reviewer must decide it", {"field": "appeal_id"}
        )
    now = rt.now()
    if (
        appeal.reviewer_id not in (None, who.user_id)
        and appeal.lock_expires_at
        and appeal.lock_expires_at > now
    ):
        raise Conflict(f"appeal {appeal_id} is being reviewed by someone else", {"field": "appeal_id"})
    first = appeal.state == "received"
    appeal.reviewer_id, appeal.lock_expires_at, appeal.state = who.user_id, now + LOCK, "in_review"
    events.record(
        session,
        "appeal.in_review",
        actor=who.actor,
        subject_type="appeal",
        subject_id=appeal.public_id,
        at=now,
        payload={"reviewer": who.username},
    )
    if first:
        _tell(session, rt, appeal, "appeal_in_review", {})
    return appeal


def _apply(
    session: Session, rt: Runtime, who: Principal, appeal: Appeal, data: AppealDecision
) -> dict[str, Any]:
    """Carry out an overturn or a modification; returns what was done."""
    done: dict[str, Any] = {}
    if appeal.kind == "action":
        action = session.get(Action, appeal.action_id)
        assert action is not None
        if action.status == "active":
            reversed_ = human.reverse(
                session, rt, who, action.id, f"appeal {appeal.public_id}: {data.reason}"
            )
            key = "approval_id" if isinstance(reversed_, Approval) else "reversed_action_id"
            done[key] = reversed_.id
        if data.outcome == "modified":
            if not data.action:
                raise Invalid("a modified decision needs the new action", {"field": "action"})
            done["new_action"] = _act(
                session,
                rt,
                who,
                appeal,
                data,
                action.post.platform_id if action.post else None,
                action.account.platform_id,
            )
        return done
    report = session.get(Report, appeal.report_id)
    assert report is not None
    post = session.get(Post, report.subject_id) if report.subject_type == "post" else None
    account = post.author if post else session.get(Account, report.subject_id)
    assert account is not None
    if not data.action:
        raise Invalid(
            "overturning a decision to leave content up needs the action to take", {"field": "action"}
        )
    done["new_action"] = _act(
        session, rt, who, appeal, data, post.platform_id if post else None, account.platform_id
    )
    return done


def _act(
    session: Session,
    rt: Runtime,
    who: Principal,
    appeal: Appeal,
    data: AppealDecision,
    post: str | None,
    account: str,
) -> dict[str, Any]:
    assert data.action is not None
    policy = data.policy or appeal.policy
    if policy not in rt.policies.areas():
        raise Invalid("name the policy the new decision applies", {"field": "policy"})
    on_account = data.action in ACCOUNT_ACTIONS
    result = human.act(
        session,
        rt,
        who,
        HumanAction(
            action=data.action,
            policy=policy,
            post=None if on_account else post,
            account=account if on_account else None,
            reason=f"appeal {appeal.public_id}: {data.reason}",
            duration_days=data.duration_days,
        ),
    )
    session.flush()
    return {"approval_id": result.id} if isinstance(result, Approval) else {"action_id": result.id}


def decide(session: Session, rt: Runtime, who: Principal, appeal_id: int, data: AppealDecision) -> Appeal:
    """A person decides the appeal they hold; never automation (no staff user, no decision)."""
    who.need(APPEALS_DECIDE)
    appeal = get(session, appeal_id)
    if appeal.state == "decided":
        raise Conflict(f"appeal {appeal_id} is already decided", {"field": "appeal_id"})
    now = rt.now()
    if appeal.reviewer_id != who.user_id or appeal.lock_expires_at is None or appeal.lock_expires_at <= now:
        raise Conflict("take the appeal first (your lock is missing or has expired)", {"field": "appeal_id"})
    done = {} if data.outcome == "upheld" else _apply(session, rt, who, appeal, data)
    appeal.state, appeal.outcome, appeal.reason = "decided", data.outcome, data.reason
    appeal.result, appeal.decided_by, appeal.decided_at = done, who.actor, now
    appeal.lock_expires_at = None
    events.record(
        session,
        "appeal.decided",
        actor=who.actor,
        subject_type="appeal",
        subject_id=appeal.public_id,
        at=now,
        reason=data.reason,
        payload={"outcome": data.outcome, "policy": appeal.policy, "source": appeal.original_source, **done},
    )
    _tell(
        session,
        rt,
        appeal,
        "appeal_decided",
        {"outcome": data.outcome, "reasons": data.reason, "next_steps": NEXT_STEPS},
    )
    return appeal


def view(appeal: Appeal, now: datetime) -> dict[str, Any]:
    """An appeal as the staff API shows it."""
    return {
        "id": appeal.id,
        "public_id": appeal.public_id,
        "kind": appeal.kind,
        "account": appeal.account.platform_id,
        "policy": appeal.policy,
        "original_source": appeal.original_source,
        "statement": appeal.statement,
        "channel": appeal.channel,
        "state": appeal.state,
        "outcome": appeal.outcome,
        "reason": appeal.reason,
        "result": appeal.result,
        "created_at": events.iso(appeal.created_at),
        "sla_due_at": events.iso(appeal.sla_due_at),
        "overdue": appeal.state != "decided" and appeal.sla_due_at < now,
        "decided_at": events.iso(appeal.decided_at) if appeal.decided_at else None,
    }


def appeal_for(session: Session, kind: str, ref: str, account: str) -> Appeal | None:
    """The appeal an account already filed against a decision (an action's puid or a report id), if any."""
    acc = session.scalar(select(Account.id).where(Account.platform_id == account))
    if acc is None:
        return None
    if kind == "action":
        target = session.scalar(select(Action.id).where(Action.puid == ref))
        key = Appeal.action_id == target
    else:
        target = int(ref) if ref.isdigit() else None
        key = Appeal.report_id == target
    if target is None:
        return None
    return session.scalar(select(Appeal).where(key, Appeal.account_id == acc))
