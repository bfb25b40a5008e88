"""Read projections for the API: posts with versions, signals, verdicts and actions; account standing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare.content import repository as repo
from townsquare.content.models import AccountProfile, Post, PostVersion, ViewSnapshot
from townsquare.detection.models import SignalRecord
from townsquare.enforcement import service as enforcement
from townsquare.enforcement.models import Action, Strike
from townsquare.errors import NotFound
from townsquare.eventlog import crypto, events
from townsquare.eventlog.events import Event, body_of
from townsquare.policy.models import Verdict
from townsquare.runtime import Runtime
from townsquare.taxonomy import area_title


def _ts(value: Any) -> str | None:
    return events.iso(value) if value is not None else None


def action_view(a: Action, base_url: str = "") -> dict[str, Any]:
    """An action as the API shows it."""
    return {
        "id": a.id,
        "puid": a.puid,
        "action": a.action_type,
        "target": a.target_type,
        "policy": a.policy,
        "policy_version": a.policy_version,
        "automated": a.automated,
        "source": a.source,
        "actor": a.actor,
        "reason": a.reason,
        "status": a.status,
        "created_at": _ts(a.created_at),
        "ends_at": _ts(a.ends_at),
        "statement_url": f"{base_url}/v1/actions/{a.id}/statement",
    }


def explain(verdict: Verdict) -> str:
    """A plain-language sentence explaining a verdict."""
    exp = verdict.explanation or {}
    primary = next((e for e in exp.get("evaluations", []) if e.get("area") == verdict.policy), None)
    if primary is None:
        return (
            f"No policy was violated: no signal reached a review threshold "
            f"(policies evaluated: {len(exp.get('versions', {}))})."
        )
    what = {
        "action": f"the automated action '{verdict.action}' was applied",
        "review": "it was sent to human review",
    }.get(verdict.outcome, "no action was taken")
    account = (
        " An account action (" + str(primary.get("proposed_action")) + ") awaits a human decision."
        if ("account_action_needs_human" in primary.get("reasons", []))
        else ""
    )
    return (
        f"{area_title(primary['area'])} policy v{primary['version']} ({verdict.mode}): "
        f"{primary.get('scorer')}@{primary.get('scorer_version')} scored {primary.get('score', 0):.2f} "
        "against a "
        f"review threshold of {primary.get('review_threshold')} and an automated-action threshold of "
        f"{primary.get('auto_threshold')}, so {what}. "
        f"Reasons: {', '.join(primary.get('reasons', []))}.{account}"
    )


def _verdict_view(v: Verdict) -> dict[str, Any]:
    return {
        "id": v.id,
        "post_version": v.post_version,
        "mode": v.mode,
        "outcome": v.outcome,
        "policy": v.policy,
        "policy_version": v.policy_version,
        "action": v.action,
        "proposed_action": v.proposed_action,
        "trigger": (v.explanation or {}).get("trigger"),
        "created_at": _ts(v.created_at),
        "explanation": explain(v),
        "details": v.explanation,
    }


def post_view(session: Session, pid: str) -> dict[str, Any]:
    """Everything known about one post."""
    post = repo.post(session, pid)
    versions = session.scalars(
        select(PostVersion).where(PostVersion.post_id == post.id).order_by(PostVersion.version)
    )
    signals = session.scalars(
        select(SignalRecord).where(SignalRecord.post_id == post.id).order_by(SignalRecord.id)
    )
    verdicts = list(session.scalars(select(Verdict).where(Verdict.post_id == post.id).order_by(Verdict.id)))
    actions = session.scalars(select(Action).where(Action.post_id == post.id).order_by(Action.id))
    snaps = session.execute(
        select(ViewSnapshot.views, ViewSnapshot.observed_at)
        .where(ViewSnapshot.post_id == post.id)
        .order_by(ViewSnapshot.observed_at)
    ).all()
    live = [v for v in verdicts if v.mode == "live"]
    report_count, report_reasons = repo.report_summary(session, "post", post.id)
    return {
        "platform_id": post.platform_id,
        "author": post.author.platform_id,
        "status": post.status,
        "text": post.text,
        "language": post.language,
        "created_at": _ts(post.created_at),
        "deleted_at": _ts(post.deleted_at),
        "reply_to": post.reply_to_ref,
        "quote_of": post.quote_of_ref,
        "version": post.version,
        "views": post.views,
        "view_snapshots": [{"views": v, "observed_at": _ts(t)} for v, t in snaps],
        "report_count": report_count,
        "report_reasons": report_reasons,
        "versions": [
            {"version": v.version, "text": v.text, "language": v.language, "recorded_at": _ts(v.recorded_at)}
            for v in versions
        ],
        "signals": [
            {
                "post_version": s.post_version,
                "scorer": s.scorer,
                "scorer_version": s.scorer_version,
                "policy": s.policy,
                "score": s.score,
                "label": s.label,
                "evidence": s.evidence,
            }
            for s in signals
        ],
        "verdicts": [_verdict_view(v) for v in verdicts],
        "actions": [action_view(a) for a in actions],
        "explanation": explain(live[-1]) if live else "Not decided yet.",
    }


def _history(session: Session, account_id: int, pid: str, limit: int = 100) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(Event)
        .where(Event.subject_type == "account", Event.subject_id == pid)
        .order_by(Event.id.desc())
        .limit(limit)
    )
    out = []
    for ev in rows:
        body = body_of(ev)
        payload = {
            k: crypto.decrypt_field(session, account_id, v) if isinstance(v, dict) and "enc" in v else v
            for k, v in body.get("payload", {}).items()
        }
        out.append(
            {
                "event_id": ev.id,
                "type": ev.type,
                "actor": ev.actor,
                "at": body["at"],
                "reason": body.get("reason", ""),
                "payload": payload,
            }
        )
    return out


def account_view(session: Session, rt: Runtime, pid: str) -> dict[str, Any]:
    """An account's standing, active strikes, profile history and moderation history."""
    account = repo.account(session, pid)
    now = rt.now()
    standing = enforcement.current_standing(account, now)
    strikes = session.scalars(
        select(Strike)
        .where(Strike.account_id == account.id, Strike.expires_at > now, Strike.removed_at.is_(None))
        .order_by(Strike.id)
    )
    profiles = session.scalars(
        select(AccountProfile).where(AccountProfile.account_id == account.id).order_by(AccountProfile.version)
    )
    actions = session.scalars(select(Action).where(Action.account_id == account.id).order_by(Action.id))
    return {
        "platform_id": account.platform_id,
        "handle": account.handle,
        "display_name": account.display_name,
        "bio": account.bio,
        "links": account.links,
        "created_at": _ts(account.created_at),
        "follower_count": account.follower_count,
        "verified": account.verified,
        "protected": account.protected,
        "standing": standing,
        "standing_until": _ts(account.standing_until) if standing == "suspended" else None,
        "erased": account.erased_at is not None,
        "active_strikes": [
            {"policy": s.policy, "issued_at": _ts(s.issued_at), "expires_at": _ts(s.expires_at)}
            for s in strikes
        ],
        "profile_history": [
            {
                "version": p.version,
                "handle": p.handle,
                "display_name": p.display_name,
                "bio": p.bio,
                "links": p.links,
                "follower_count": p.follower_count,
                "recorded_at": _ts(p.recorded_at),
            }
            for p in profiles
        ],
        "actions": [action_view(a) for a in actions],
        "history": _history(session, account.id, account.platform_id),
    }


def action_by_id(session: Session, action_id: int) -> Action:
    """One action, or NotFound."""
    action = session.get(Action, action_id)
    if action is None:
        raise NotFound(f"no action {action_id}", {"field": "action_id"})
    return action


def post_of(action: Action) -> Post | None:
    """The post an action concerns, if any."""
    return action.post
