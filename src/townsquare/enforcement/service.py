"""The graduated ladder: apply and reverse actions, issue and expire strikes, keep standing current."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from townsquare.access.protect import is_protected
from townsquare.brandsafety import hooks as brandsafety
from townsquare.content.models import Account, Post
from townsquare.enforcement.dsa import StatementInput, build_statement, make_puid
from townsquare.enforcement.models import Action, Strike
from townsquare.errors import Conflict, Invalid
from townsquare.eventlog import events
from townsquare.policy.models import Verdict
from townsquare.taxonomy import ACCOUNT_ACTIONS, ACTIONS, POST_STATUS_FOR_ACTION, area_title, severity_rank

_DETECTION = {"voluntary": True, "notice": False, "trusted_flagger": False}


@dataclass
class ActionRequest:
    """Everything needed to apply one rung of the ladder."""

    action_type: str
    policy: str
    policy_version: int
    account: Account
    actor: str
    automated: bool
    source: str = "voluntary"  # voluntary | notice | trusted_flagger
    post: Post | None = None
    verdict: Verdict | None = None
    reason: str = ""
    facts: str = ""
    evidence: list[dict[str, Any]] = field(default_factory=list)
    ends_at: datetime | None = None
    strike_days: int | None = None  # None: no strike
    machine_detected: bool | None = None
    platform: str | None = None  # the platform's name, part of the PUID
    protected: bool | None = None  # a protected subject (None: look it up); flagged in the event
    approval_id: int | None = None  # the two-person approval that authorised it, if any
    # False when the caller indexes the post for brand safety itself right after (the decision path's
    # route stage does, with the action): restating it here too would write a row at once superseded.
    reindex: bool = True


def _automation(req: ActionRequest) -> tuple[bool, str]:
    detected = req.machine_detected if req.machine_detected is not None else req.automated
    if req.automated:
        return True, "fully"
    return detected, "partially" if detected else "not"


def _statement(req: ActionRequest, puid: str, now: datetime) -> dict[str, Any]:
    detected, decision = _automation(req)
    content_date = req.post.created_at if req.post is not None else req.account.created_at
    return build_statement(
        StatementInput(
            action_type=req.action_type,  # type: ignore[arg-type]
            policy=req.policy,
            policy_title=area_title(req.policy),
            policy_version=str(req.policy_version),
            content_date=content_date,
            application_date=now,
            end_date=req.ends_at,
            content_language=req.post.language if req.post is not None else None,
            source=req.source,  # type: ignore[arg-type]
            automated_detection=detected,
            automated_decision=decision,  # type: ignore[arg-type]
            facts=req.facts
            or f"Violation of the {area_title(req.policy)} policy (version {req.policy_version}).",
            puid=puid,
        )
    )


def validate(req: ActionRequest) -> None:
    """Refuse a request that cannot be applied (before anything is written)."""
    if req.action_type not in ACTIONS:
        raise Invalid(f"unknown action {req.action_type}", {"field": "action_type"})
    if req.action_type in ACCOUNT_ACTIONS and req.automated:
        raise Invalid("suspensions and bans need a human decision", {"field": "action_type"})
    if req.action_type not in ACCOUNT_ACTIONS and req.post is None:
        raise Invalid(f"{req.action_type} acts on a post; name the post", {"field": "post"})
    if req.action_type == "suspend" and req.ends_at is None:
        raise Invalid("a suspension needs an end", {"field": "duration_days"})
    if req.account.standing == "banned" and req.action_type in ACCOUNT_ACTIONS:
        raise Conflict("the account is already banned", {"field": "account"})


def apply(session: Session, req: ActionRequest, now: datetime) -> Action:
    """Apply an action: record it with its statement of reasons, update state, issue any strike."""
    validate(req)
    target = "account" if req.action_type in ACCOUNT_ACTIONS else "post"
    puid = make_puid(target, f"{(req.post or req.account).platform_id}", req.platform)
    action = Action(
        puid=puid,
        action_type=req.action_type,
        target_type=target,
        post=req.post,
        account=req.account,
        verdict=req.verdict,
        policy=req.policy,
        policy_version=req.policy_version,
        automated=req.automated,
        source=req.source,
        actor=req.actor,
        reason=req.reason,
        created_at=now,
        ends_at=req.ends_at,
        statement=_statement(req, puid, now),
        evidence=req.evidence,
    )
    session.add(action)
    _project(req, now)
    protected = req.protected if req.protected is not None else is_protected(session, req.account)
    extra: dict[str, Any] = {"approval": req.approval_id} if req.approval_id is not None else {}
    events.record(
        session,
        "action.applied",
        actor=req.actor,
        subject_type=target,
        subject_id=(req.post or req.account).platform_id,
        at=now,
        reason=req.reason,
        versions={"policy": f"{req.policy}@{req.policy_version}"},
        payload={
            "puid": puid,
            "action": req.action_type,
            "automated": req.automated,
            "source": req.source,
            "ends_at": events.iso(req.ends_at) if req.ends_at else None,
            "protected": protected,
            **extra,
        },
        # Matched spans are fragments of the user's text (a doxxed address, say): they are personal data.
        personal={"evidence": json.dumps(req.evidence[:5], ensure_ascii=False)} if req.evidence else None,
        owner=req.account.id,
    )
    if req.strike_days is not None:
        _strike(session, req, action, now)
    if req.reindex:
        brandsafety.action_changed(session, action, now)
    return action


def _project(req: ActionRequest, now: datetime) -> None:
    if req.action_type == "ban":
        req.account.standing, req.account.standing_until = "banned", None
    elif req.action_type == "suspend":
        req.account.standing, req.account.standing_until = "suspended", req.ends_at
    elif req.post is not None:
        status = POST_STATUS_FOR_ACTION[req.action_type]
        if req.post.status != "deleted" and _post_rank(req.post.status) < _post_rank(status):
            req.post.status = status


def _post_rank(status: str) -> int:
    for action, st in POST_STATUS_FOR_ACTION.items():
        if st == status:
            return severity_rank(action)
    return 0


def _strike(session: Session, req: ActionRequest, action: Action, now: datetime) -> None:
    expires = now + timedelta(days=req.strike_days or 0)
    session.add(
        Strike(account=req.account, action=action, policy=req.policy, issued_at=now, expires_at=expires)
    )
    events.record(
        session,
        "strike.issued",
        actor=req.actor,
        subject_type="account",
        subject_id=req.account.platform_id,
        at=now,
        versions={"policy": f"{req.policy}@{req.policy_version}"},
        payload={"puid": action.puid, "policy": req.policy, "expires_at": events.iso(expires)},
    )


def reverse(
    session: Session,
    action: Action,
    *,
    actor: str,
    reason: str,
    now: datetime,
    protected: bool | None = None,
    approval_id: int | None = None,
) -> Action:
    """Reverse an action (a new event, never an edit of the old one); its strike is removed."""
    if action.status != "active":
        raise Conflict(f"action is {action.status}, not active", {"field": "action"})
    if not reason.strip():
        raise Invalid("a reversal needs a reason", {"field": "reason"})
    action.status = "reversed"
    for strike in session.scalars(
        select(Strike).where(Strike.action_id == action.id, Strike.removed_at.is_(None))
    ):
        strike.removed_at = now
        # The account's history shows the strike issued; it must show it withdrawn too.
        events.record(
            session,
            "strike.removed",
            actor=actor,
            subject_type="account",
            subject_id=action.account.platform_id,
            at=now,
            reason=reason,
            versions={"policy": f"{action.policy}@{action.policy_version}"},
            payload={"puid": action.puid, "policy": strike.policy},
        )
    _recompute(session, action, now)
    events.record(
        session,
        "action.reversed",
        actor=actor,
        subject_type=action.target_type,
        subject_id=(action.post or action.account).platform_id,
        at=now,
        reason=reason,
        versions={"policy": f"{action.policy}@{action.policy_version}"},
        payload={
            "puid": action.puid,
            "action": action.action_type,
            "protected": is_protected(session, action.account) if protected is None else protected,
            **({"approval": approval_id} if approval_id is not None else {}),
        },
    )
    brandsafety.action_changed(session, action, now)
    return action


def _recompute(session: Session, action: Action, now: datetime) -> None:
    """Rebuild the post status or account standing from the actions still active."""
    active = select(Action).where(Action.status == "active", Action.id != action.id)
    if action.target_type == "post" and action.post is not None:
        post = action.post
        if post.status == "deleted":
            return
        remaining = session.scalars(active.where(Action.post_id == post.id)).all()
        best = max((severity_rank(a.action_type) for a in remaining), default=0)
        post.status = POST_STATUS_FOR_ACTION[ACTIONS[best - 1]] if best else "visible"
        return
    account = action.account
    remaining = session.scalars(
        active.where(Action.account_id == account.id, Action.target_type == "account")
    ).all()
    live = [a for a in remaining if a.action_type == "ban" or (a.ends_at and a.ends_at > now)]
    if any(a.action_type == "ban" for a in live):
        account.standing, account.standing_until = "banned", None
    elif live:
        account.standing, account.standing_until = "suspended", max(a.ends_at for a in live if a.ends_at)
    else:
        account.standing, account.standing_until = "good", None


def current_standing(account: Account, now: datetime) -> str:
    """Standing as of `now`: a suspension past its end no longer counts."""
    if account.standing == "suspended" and account.standing_until and account.standing_until <= now:
        return "good"
    return account.standing


_ACTIVE_STRIKES = (  # built once: every ingested post reads its author's strikes
    select(Strike.account_id, Strike.policy, func.count())
    .where(
        Strike.account_id.in_(bindparam("ids", expanding=True)),
        Strike.expires_at > bindparam("now"),
        Strike.removed_at.is_(None),
    )
    .group_by(Strike.account_id, Strike.policy)
)


def active_strikes(session: Session, account_ids: set[int], now: datetime) -> dict[int, dict[str, int]]:
    """Active (unexpired, not removed) strikes per account and policy area."""
    if not account_ids:
        return {}
    rows = session.execute(_ACTIVE_STRIKES, {"ids": list(account_ids), "now": now})
    out: dict[int, dict[str, int]] = {a: {} for a in account_ids}
    for account_id, policy, count in rows:
        out[account_id][policy] = int(count)
    return out
