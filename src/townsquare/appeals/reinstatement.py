"""Reinstatement of banned accounts under published criteria (`appeals.yaml`).

A banned account may apply once per waiting period of its ban's tier (counted from the ban or its last
application); a never-eligible tier, or repeated ban evasion, is refused with the published reason.
Eligible applications go to staff review, and to the advisory council when the criteria say so
(high-reach or protected accounts, or when two staff reviewers disagree). A staff member holding
`action:reinstate` makes the final call; reinstating a high-impact account takes a second person (the
access rules' two-person approval), and departing from the council's recommendation needs a public
reason. A reinstated account is on probation. Every application is published without personal data.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from townsquare.access.models import Approval
from townsquare.access.protect import is_protected
from townsquare.access.roles import ACTION_REINSTATE
from townsquare.access.service import Principal
from townsquare.appeals.models import ReinstatementApplication
from townsquare.appeals.rules import Rules
from townsquare.content.models import Account
from townsquare.enforcement import human
from townsquare.enforcement.models import Action
from townsquare.errors import Conflict, Forbidden, Invalid, NotFound
from townsquare.eventlog import events
from townsquare.notify import notify
from townsquare.runtime import Runtime


class ApplicationIn(BaseModel):
    """A banned user's application, sent by the platform."""

    model_config = ConfigDict(extra="forbid")

    account: str = Field(min_length=1, max_length=128)
    statement: str = Field(min_length=1, max_length=5_000)


class StaffVote(BaseModel):
    """A staff reviewer's view on an application."""

    model_config = ConfigDict(extra="forbid")

    vote: Literal["reinstate", "deny"]
    reason: str = Field(min_length=1, max_length=2_000)


class FinalDecision(BaseModel):
    """The final call, with a public reason, and a public reason for departing from the council."""

    model_config = ConfigDict(extra="forbid")

    outcome: Literal["reinstated", "denied"]
    reason: str = Field(min_length=1, max_length=2_000)
    departure_reason: str | None = Field(default=None, max_length=2_000)


def _ban(session: Session, account: Account) -> Action | None:
    return session.scalars(
        select(Action)
        .where(Action.account_id == account.id, Action.action_type == "ban", Action.status == "active")
        .order_by(Action.id.desc())
        .limit(1)
    ).first()


def eligibility(session: Session, rt: Runtime, rules: Rules, account: Account) -> dict[str, Any]:
    """Whether this account may apply now, and why (published criteria only)."""
    ban = _ban(session, account)
    if ban is None:
        return {"eligible": False, "reason": "the account is not banned", "tier": None, "policy": None}
    r = rules.reinstatement
    tier = r.tier_of(ban.policy)
    base = {"tier": tier.name if tier else "unlisted", "policy": ban.policy, "ban_action_id": ban.id}
    evasions = (
        session.scalar(
            select(func.count()).where(
                Action.account_id == account.id, Action.action_type == "ban", Action.policy == "ban_evasion"
            )
        )
        or 0
    )
    if evasions >= r.repeated_ban_evasion:
        return {
            **base,
            "eligible": False,
            "never": True,
            "reason": "repeated ban evasion is never reinstated",
        }
    if tier is None or tier.waiting_days is None:
        reason = tier.never_reason if tier and tier.never_reason else "this policy has no reinstatement path"
        return {**base, "eligible": False, "never": True, "reason": reason}
    last = session.scalar(
        select(func.max(ReinstatementApplication.created_at)).where(
            ReinstatementApplication.account_id == account.id,
            ReinstatementApplication.ban_action_id == ban.id,
            ReinstatementApplication.state != "refused",
        )
    )
    start = max(ban.created_at, last) if last else ban.created_at
    earliest = start + timedelta(days=tier.waiting_days)
    if rt.now() < earliest:
        return {
            **base,
            "eligible": False,
            "never": False,
            "next_allowed_at": events.iso(earliest),
            "reason": f"the {tier.name} tier waits {tier.waiting_days} days; apply on or after "
            f"{earliest.date()}",
        }
    return {**base, "eligible": True, "never": False, "reason": "eligible"}


def _needs_council(session: Session, rules: Rules, account: Account) -> bool:
    c = rules.reinstatement.council
    return account.follower_count >= c.min_followers or (c.protected and is_protected(session, account))


def apply(session: Session, rt: Runtime, rules: Rules, data: ApplicationIn) -> ReinstatementApplication:
    """Record an application: refused with the reason when ineligible, else sent to review (or council)."""
    account = session.scalar(select(Account).where(Account.platform_id == data.account))
    if account is None:
        raise NotFound(f"no account {data.account}", {"field": "account"})
    e = eligibility(session, rt, rules, account)
    if e.get("ban_action_id") is None:
        raise Conflict(e["reason"], {"field": "account"})
    if not e["eligible"] and not e.get("never"):
        raise Conflict(e["reason"], {"field": "account", "next_allowed_at": e.get("next_allowed_at")})
    now = rt.now()
    app = ReinstatementApplication(
        public_id=secrets.token_urlsafe(9),
        account_id=account.id,
        ban_action_id=e["ban_action_id"],
        policy=e["policy"],
        tier=e["tier"],
        statement=data.statement,
        state="staff_review" if e["eligible"] else "refused",
        eligibility=e,
        staff_votes=[],
        created_at=now,
        outcome=None if e["eligible"] else "refused",
        reason=None if e["eligible"] else e["reason"],
        decided_at=None if e["eligible"] else now,
    )
    session.add(app)
    session.flush([app])
    events.record(
        session,
        "reinstatement.applied",
        actor="platform:api",
        subject_type="reinstatement",
        subject_id=app.public_id,
        at=now,
        reason=e["reason"],
        payload={"policy": app.policy, "tier": app.tier, "state": app.state},
        personal={"statement": data.statement},
        owner=account.id,
    )
    if e["eligible"] and _needs_council(session, rules, account):
        _to_council(session, rt, app, "high-reach or protected account")
    _tell(session, rt, app)
    return app


def _tell(session: Session, rt: Runtime, app: ReinstatementApplication) -> None:
    notify(
        session,
        rt,
        app.account_id,
        "reinstatement",
        "reinstatement",
        app.public_id,
        {"application": app.public_id, "state": app.state, "outcome": app.outcome, "reason": app.reason},
    )


def _to_council(session: Session, rt: Runtime, app: ReinstatementApplication, why: str) -> None:
    from townsquare.council import service as council

    app.state = "council"
    council.refer_application(session, rt, app, why)


def get(session: Session, app_id: int) -> ReinstatementApplication:
    """An application by id, or 404."""
    app = session.get(ReinstatementApplication, app_id)
    if app is None:
        raise NotFound(f"no application {app_id}", {"field": "application_id"})
    return app


def vote(
    session: Session, rt: Runtime, rules: Rules, who: Principal, app_id: int, data: StaffVote
) -> ReinstatementApplication:
    """A staff reviewer's view; two reviewers who disagree send the application to the council."""
    who.need(ACTION_REINSTATE)
    app = get(session, app_id)
    if app.state not in ("staff_review", "council"):
        raise Conflict(f"application {app_id} is {app.state}", {"field": "application_id"})
    if any(v["by"] == who.actor for v in app.staff_votes):
        raise Conflict("you already gave your view on this application", {"field": "application_id"})
    app.staff_votes = [
        *app.staff_votes,
        {"by": who.actor, "vote": data.vote, "reason": data.reason, "at": events.iso(rt.now())},
    ]
    events.record(
        session,
        "reinstatement.staff_vote",
        actor=who.actor,
        subject_type="reinstatement",
        subject_id=app.public_id,
        at=rt.now(),
        reason=data.reason,
        payload={"vote": data.vote},
    )
    votes = {v["vote"] for v in app.staff_votes}
    if app.state == "staff_review" and len(votes) > 1 and rules.reinstatement.council.staff_disagreement:
        _to_council(session, rt, app, "staff reviewers disagree")
    return app


def decide(
    session: Session, rt: Runtime, rules: Rules, who: Principal, app_id: int, data: FinalDecision
) -> ReinstatementApplication:
    """The final call by a person holding action:reinstate (not one who applied the ban)."""
    who.need(ACTION_REINSTATE)
    app = get(session, app_id)
    if app.state not in ("staff_review", "council"):
        raise Conflict(f"application {app_id} is {app.state}", {"field": "application_id"})
    ban = session.get(Action, app.ban_action_id)
    assert ban is not None
    if ban.actor == who.actor:
        raise Forbidden(
            "the person who applied the ban cannot decide its reinstatement", {"field": "application_id"}
        )
    rec = (app.council_recommendation or {}).get("outcome")
    departs = rec in ("support", "oppose") and (rec == "support") != (data.outcome == "reinstated")
    if departs and not (data.departure_reason or "").strip():
        raise Invalid(
            f"the council recommended {rec}; departing from it needs a public reason",
            {"field": "departure_reason"},
        )
    now = rt.now()
    if data.outcome == "reinstated":
        result = human.reverse(session, rt, who, ban.id, f"reinstatement {app.public_id}: {data.reason}")
        if isinstance(result, Approval):
            session.flush()
            app.approval_id = result.id
        account = app.account
        probation = rules.reinstatement.probation
        account.probation_until = now + timedelta(days=probation.days)
        account.probation_bonus = probation.strike_bonus
    app.state, app.outcome, app.reason = "decided", data.outcome, data.reason
    app.departure_reason, app.decided_by, app.decided_at = (
        data.departure_reason if departs else None,
        who.actor,
        now,
    )
    events.record(
        session,
        "reinstatement.decided",
        actor=who.actor,
        subject_type="reinstatement",
        subject_id=app.public_id,
        at=now,
        reason=data.reason,
        payload={
            "outcome": data.outcome,
            "council": rec,
            "departure_reason": app.departure_reason,
            "approval_id": app.approval_id,
        },
    )
    _tell(session, rt, app)
    return app


def public_entry(app: ReinstatementApplication) -> dict[str, Any]:
    """An application as the public decision log shows it: no account, handle or statement."""
    rec = app.council_recommendation or {}
    return {
        "id": app.public_id,
        "policy": app.policy,
        "tier": app.tier,
        "state": app.state,
        "outcome": app.outcome,
        "reason": app.reason,
        "council_recommendation": rec.get("outcome"),
        "council_votes": rec.get("votes"),
        "departure_reason": app.departure_reason,
        "applied_on": app.created_at.date().isoformat(),
        "decided_on": app.decided_at.date().isoformat() if app.decided_at else None,
    }


def public_log(session: Session, limit: int = 500) -> list[dict[str, Any]]:
    """Every application and its outcome, newest first, without personal data."""
    rows = session.scalars(
        select(ReinstatementApplication).order_by(ReinstatementApplication.id.desc()).limit(limit)
    )
    return [public_entry(a) for a in rows]


def public_page(session: Session, page: int, per_page: int = 50) -> tuple[list[dict[str, Any]], int]:
    """One page (from 1) of the public log, newest first, and how many applications there are in all."""
    total = int(session.scalar(select(func.count()).select_from(ReinstatementApplication)) or 0)
    rows = session.scalars(
        select(ReinstatementApplication)
        .order_by(ReinstatementApplication.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return [public_entry(a) for a in rows], total


def staff_view(app: ReinstatementApplication, now: datetime) -> dict[str, Any]:
    """An application as staff see it."""
    return {
        **public_entry(app),
        "app_id": app.id,
        "account": app.account.platform_id,
        "statement": app.statement,
        "eligibility": app.eligibility,
        "staff_votes": app.staff_votes,
        "council": app.council_recommendation,
        "approval_id": app.approval_id,
    }
