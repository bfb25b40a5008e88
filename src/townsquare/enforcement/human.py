"""Human enforcement with its guards: protected subjects, own accounts, and the two-person rule.

A ban (or a reinstatement from a ban or suspension) of an account with at least `high_impact_followers`
followers, or of a protected subject, waits for a second person holding the rung's permission; so does a
bulk decision over more than `bulk_approval_size` posts. The approved change runs with the requester's
authority (checked again at execution) and cites the approval in its event.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from townsquare.access import approvals
from townsquare.access.models import Approval
from townsquare.access.protect import check_actor_may_act
from townsquare.access.roles import ACTION_BAN, ACTION_PERMISSION, ACTION_REINSTATE, BULK_DECIDE
from townsquare.access.service import Principal
from townsquare.content import repository as repo
from townsquare.content.models import Account, Post
from townsquare.content.views import action_by_id
from townsquare.enforcement import service as enforcement
from townsquare.enforcement.models import Action
from townsquare.enforcement.schemas import BulkDecision, HumanAction
from townsquare.errors import Conflict, Forbidden, Invalid, TownsquareError
from townsquare.pipeline.refresh import refresh_states
from townsquare.runtime import Runtime
from townsquare.taxonomy import ACCOUNT_ACTIONS, area_title


def _target(session: Session, data: HumanAction) -> tuple[Post | None, Account]:
    if data.action in ACCOUNT_ACTIONS:
        if not data.account:
            raise Invalid(f"{data.action} acts on an account; name it", {"field": "account"})
        return None, repo.account(session, data.account)
    if not data.post:
        raise Invalid(f"{data.action} acts on a post; name it", {"field": "post"})
    post = repo.post(session, data.post)
    if post.status == "deleted":
        # The platform already removed it: an action would change nothing but still issue a strike.
        raise Conflict(
            f"post {post.platform_id} was deleted by the platform; nothing to act on", {"field": "post"}
        )
    return post, post.author


def build_request(rt: Runtime, session: Session, data: HumanAction, actor: str) -> enforcement.ActionRequest:
    """The ActionRequest for a moderator's decision, citing the policy version live now."""
    if data.action != "label" and not data.reason.strip():
        raise Invalid("a reason is required for anything above a label", {"field": "reason"})
    post, account = _target(session, data)
    spec = rt.policies.live(data.policy)
    if spec is None:
        raise Invalid(f"policy {data.policy} has no live version", {"field": "policy"})
    days = data.duration_days
    if data.action == "suspend" and days is None:
        raise Invalid("a suspension needs duration_days", {"field": "duration_days"})
    strikes = spec.policy.strikes
    return enforcement.ActionRequest(
        action_type=data.action,
        policy=data.policy,
        policy_version=spec.version,
        account=account,
        actor=actor,
        automated=False,
        post=post,
        reason=data.reason,
        facts=f"A moderator found a violation of the {area_title(data.policy)} policy (v{spec.version}).",
        ends_at=rt.now() + timedelta(days=days) if data.action == "suspend" and days else None,
        strike_days=strikes.expire_days if (data.strike and strikes.issue) else None,
        platform=rt.settings.platform,
    )


def high_impact(rt: Runtime, account: Account, protected: bool) -> bool:
    """Whether banning or reinstating this account needs a second person."""
    return protected or account.follower_count >= rt.settings.high_impact_followers


def _describe(account: Account, protected: bool) -> str:
    return f"{account.platform_id} ({account.follower_count} followers{', protected' if protected else ''})"


def act(session: Session, rt: Runtime, who: Principal, data: HumanAction) -> Action | Approval:
    """Apply a moderator's decision, or open an approval when it is a high-impact ban."""
    who.need(ACTION_PERMISSION[data.action])
    refresh_states(session, rt)  # cite the version live now, even if the CLI published it
    req = build_request(rt, session, data, who.actor)
    req.protected = check_actor_may_act(session, who, req.account)
    if data.action == "ban" and high_impact(rt, req.account, req.protected):
        enforcement.validate(req)
        if approvals.pending_for(session, "ban", "account", req.account.platform_id) is not None:
            raise Conflict(
                f"a ban of {req.account.platform_id} is already awaiting approval", {"field": "account"}
            )
        summary = f"ban {_describe(req.account, req.protected)} under {data.policy}"
        payload = data.model_dump(mode="json")
        return approvals.request_approval(session, rt, who, "ban", payload, summary, ACTION_BAN, data.reason)
    return _remember_ban(session, rt, enforcement.apply(session, req, rt.now()))


def _remember_ban(session: Session, rt: Runtime, action: Action) -> Action:
    """A ban keeps the account's fingerprint, so an evading new account can be recognised."""
    if action.action_type == "ban":
        from townsquare.bans.service import record_ban

        session.flush([action])
        record_ban(session, rt, action.account, action.id)
    return action


def _approved_reason(approval: Approval, reason: str) -> str:
    return f"{reason} (approval #{approval.id}, approved by {approval.decided_by})"


@approvals.executor("ban")
def _execute_ban(session: Session, rt: Runtime, approval: Approval) -> dict[str, Any]:
    who = approvals.requester(session, rt, approval, need=ACTION_BAN)
    if who is None:
        raise Forbidden("only a staff user may ask for a ban", {"field": "requested_by"})
    data = HumanAction.model_validate(approval.payload)
    refresh_states(session, rt)
    req = build_request(rt, session, data, who.actor)
    req.protected = check_actor_may_act(session, who, req.account)
    req.reason, req.approval_id = _approved_reason(approval, data.reason), approval.id
    action = _remember_ban(session, rt, enforcement.apply(session, req, rt.now()))
    session.flush()
    return {"action_id": action.id, "puid": action.puid, "account": req.account.platform_id}


def reverse(session: Session, rt: Runtime, who: Principal, action_id: int, reason: str) -> Action | Approval:
    """Reverse an action, or open an approval to reinstate a high-impact account from a ban or suspension."""
    action = action_by_id(session, action_id)
    protected = check_actor_may_act(session, who, action.account)
    if (
        action.status == "active"
        and action.action_type in ACCOUNT_ACTIONS
        and high_impact(rt, action.account, protected)
    ):
        if approvals.pending_for(session, "reinstate", "action_id", action.id) is not None:
            raise Conflict(f"reversing action {action.id} is already awaiting approval", {"field": "action"})
        summary = f"reinstate {_describe(action.account, protected)} from {action.action_type} #{action.id}"
        payload = {"action_id": action.id, "account": action.account.platform_id, "reason": reason}
        return approvals.request_approval(
            session, rt, who, "reinstate", payload, summary, ACTION_REINSTATE, reason
        )
    return enforcement.reverse(
        session, action, actor=who.actor, reason=reason, now=rt.now(), protected=protected
    )


@approvals.executor("reinstate")
def _execute_reinstate(session: Session, rt: Runtime, approval: Approval) -> dict[str, Any]:
    who = approvals.requester(session, rt, approval, need=ACTION_REINSTATE)
    if who is None:
        raise Forbidden("only a staff user may ask for a reinstatement", {"field": "requested_by"})
    action = action_by_id(session, int(approval.payload["action_id"]))
    protected = check_actor_may_act(session, who, action.account)
    reason = _approved_reason(approval, str(approval.payload.get("reason", "")))
    enforcement.reverse(
        session,
        action,
        actor=who.actor,
        reason=reason,
        now=rt.now(),
        protected=protected,
        approval_id=approval.id,
    )
    return {"action_id": action.id, "status": action.status, "account": action.account.platform_id}


def _unique(pids: list[str]) -> list[str]:
    return list(dict.fromkeys(pids))


def bulk(session: Session, rt: Runtime, who: Principal, data: BulkDecision) -> dict[str, Any] | Approval:
    """Apply one post action to many posts (per-item results), or open an approval above the size limit."""
    who.need(BULK_DECIDE)
    who.need(ACTION_PERMISSION[data.action])
    posts = _unique(data.posts)
    if len(posts) > rt.settings.bulk_approval_size:
        payload = {**data.model_dump(mode="json"), "posts": posts}
        summary = f"{data.action} {len(posts)} posts under {data.policy}"
        return approvals.request_approval(
            session, rt, who, "bulk", payload, summary, BULK_DECIDE, data.reason
        )
    return apply_bulk(session, rt, who, data.model_copy(update={"posts": posts}))


def apply_bulk(
    session: Session, rt: Runtime, who: Principal, data: BulkDecision, approval: Approval | None = None
) -> dict[str, Any]:
    """Apply a bulk decision item by item; an item that fails its checks stores nothing and is reported."""
    refresh_states(session, rt)
    found = repo.posts_by_pid(session, data.posts)
    results: list[dict[str, Any]] = []
    for pid in data.posts:
        try:
            action = _bulk_item(session, rt, who, data, found.get(pid), pid, approval)
        except TownsquareError as exc:
            results.append({"post": pid, "status": "error", "error": exc.error, "message": exc.message})
            continue
        results.append({"post": pid, "status": "applied", "action_id": action.id, "puid": action.puid})
    applied = sum(1 for r in results if r["status"] == "applied")
    return {"applied": applied, "failed": len(results) - applied, "results": results}


def _bulk_item(
    session: Session,
    rt: Runtime,
    who: Principal,
    data: BulkDecision,
    post: Post | None,
    pid: str,
    approval: Approval | None,
) -> Action:
    if post is None:
        raise Invalid(f"no post {pid}", {"field": "posts"})
    one = HumanAction(
        action=data.action, policy=data.policy, post=pid, reason=data.reason, strike=data.strike
    )
    req = build_request(rt, session, one, who.actor)
    req.protected = check_actor_may_act(session, who, req.account)
    if approval is not None:
        req.reason, req.approval_id = _approved_reason(approval, data.reason), approval.id
    enforcement.validate(req)  # every check before anything is written, so a failed item leaves no trace
    action = enforcement.apply(session, req, rt.now())
    session.flush()
    return action


@approvals.executor("bulk")
def _execute_bulk(session: Session, rt: Runtime, approval: Approval) -> dict[str, Any]:
    who = approvals.requester(session, rt, approval, need=BULK_DECIDE)
    if who is None:
        raise Forbidden("only a staff user may ask for a bulk decision", {"field": "requested_by"})
    data = BulkDecision.model_validate(approval.payload)
    who.need(ACTION_PERMISSION[data.action])
    return apply_bulk(session, rt, who, data, approval)
