"""Cross-domain orchestration: score a post version, decide it under the policies, enforce the verdict."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare import events
from townsquare.content.models import Account, Post
from townsquare.detection.base import Signal
from townsquare.detection.models import SignalRecord
from townsquare.detection.textbanks import scan_all
from townsquare.enforcement import service as enforcement
from townsquare.enforcement.models import Action
from townsquare.policy.engine import Decision, DecisionContext, PolicyEvaluation, decide
from townsquare.policy.models import Verdict
from townsquare.runtime import Runtime

ENGINE_ACTOR = "service:policy-engine"
Decided = tuple[Verdict, Action | None]


@dataclass
class Reach:
    """What is known of a post's spread at decision time."""

    views: int = 0
    velocity: float = 0.0
    report_count: int = 0
    report_reasons: Sequence[str] = ()
    source: str = "voluntary"  # voluntary | notice | trusted_flagger


def score(rt: Runtime, text: str) -> list[Signal]:
    """Every scorer's signals for one text (text banks for now)."""
    return scan_all(rt.scorers, text)


def context(
    rt: Runtime, post: Post, author: Account, strikes: dict[str, int], reach: Reach
) -> DecisionContext:
    """The decision context: author standing and strikes, reach, reports, election period."""
    now = rt.now()
    return DecisionContext(
        now=now,
        author_active_strikes=dict(strikes),
        author_standing=enforcement.current_standing(author, now),
        author_protected=author.protected,
        author_followers=author.follower_count,
        views=reach.views,
        velocity=reach.velocity,
        report_count=reach.report_count,
        report_reasons=tuple(reach.report_reasons),
        election_period=bool(rt.calendar.active(now.date())),
        language=post.language,
    )


def _versions(rt: Runtime, decision: Decision, signals: Iterable[Signal]) -> dict[str, Any]:
    # The full list of versions in force is recorded once per policy set (event policy.set_active);
    # each decision names that set by digest plus the versions of the areas it actually evaluated.
    return {
        "policyset": rt.policies.digest(decision.mode),
        "policies": {e.area: e.version for e in decision.evaluations},
        "scorers": {s.scorer: s.scorer_version for s in signals},
    }


def _summary(decision: Decision) -> dict[str, Any]:
    p = decision.primary
    return {
        "mode": decision.mode,
        "outcome": decision.outcome,
        "policy": p.area if p else None,
        "policy_version": p.version if p else None,
        "action": p.action if p else None,
        "proposed_action": p.proposed_action if p else None,
        "score": p.score if p else None,
        "scorer": p.scorer if p else None,
        "thresholds": {"review": p.review_threshold, "auto": p.auto_threshold} if p else None,
        "reasons": list(p.reasons) if p else [],
    }


def _store_verdict(
    session: Session, rt: Runtime, post: Post, decision: Decision, signals: list[Signal], trigger: str
) -> Verdict:
    p = decision.primary
    verdict = Verdict(
        post=post,
        post_version=post.version,
        mode=decision.mode,
        outcome=decision.outcome,
        policy=p.area if p else None,
        policy_version=p.version if p else None,
        action=p.action if p and decision.outcome == "action" else None,
        proposed_action=p.proposed_action if p else None,
        automated=True,
        explanation={
            **decision.to_dict(),
            "versions": {e.area: e.version for e in decision.evaluations},
            "policyset": rt.policies.digest(decision.mode),
            "trigger": trigger,
        },
        created_at=decision.decided_at,
    )
    session.add(verdict)
    kind = "post.decided" if decision.mode == "live" else "post.shadow_decided"
    events.record(
        session,
        kind,
        actor=ENGINE_ACTOR,
        subject_type="post",
        subject_id=post.platform_id,
        at=decision.decided_at,
        reason=trigger,
        versions=_versions(rt, decision, signals),
        payload={"post_version": post.version, **_summary(decision)},
    )
    return verdict


def facts_for(ev: PolicyEvaluation) -> str:
    """Decision facts for the statement of reasons: what was found, with no personal data."""
    found = ", ".join(f"{e.get('kind', 'match')} '{e.get('match', '')}'" for e in ev.evidence[:5])
    scorer = f"{ev.scorer}@{ev.scorer_version}" if ev.scorer else "a reviewer"
    return (
        f"The content was assessed under the {ev.area} policy, version {ev.version}. "
        f"{scorer} scored it {ev.score:.2f} (automatic-action threshold {ev.auto_threshold}); "
        f"evidence: {found or 'none recorded'}. Outcome: {ev.outcome}; reasons: {', '.join(ev.reasons)}."
    )[:5000]


def enforce(
    session: Session, rt: Runtime, post: Post, verdict: Verdict, ev: PolicyEvaluation, reach: Reach
) -> Action | None:
    """Apply the automated content action of a live verdict, with its strike."""
    if ev.action is None:
        return None
    return enforcement.apply(
        session,
        enforcement.ActionRequest(
            action_type=ev.action,
            policy=ev.area,
            policy_version=ev.version,
            account=post.author,
            actor=f"policy:{ev.area}@{ev.version}",
            automated=True,
            source=reach.source,
            post=post,
            verdict=verdict,
            reason="; ".join(ev.reasons),
            facts=facts_for(ev),
            evidence=list(ev.evidence),
            strike_days=ev.strike_expire_days if ev.issue_strike else None,
            platform=rt.settings.platform,
        ),
        rt.now(),
    )


def _shadow(
    session: Session, rt: Runtime, post: Post, signals: list[Signal], ctx: DecisionContext, trigger: str
) -> None:
    """Record the shadow versions' decision; never enforced.

    Only posts that a shadow version actually evaluates get a shadow verdict: for every other post the
    shadow policy set decides exactly as live does, so a row would add nothing but write volume.
    """
    shadow_areas = set(rt.policies.shadow_areas())
    if not signals or not shadow_areas:
        return
    decision = decide(rt.policies, signals, ctx, mode="shadow")
    if any(e.area in shadow_areas for e in decision.evaluations):
        _store_verdict(session, rt, post, decision, signals, trigger)


def decide_post(
    session: Session,
    rt: Runtime,
    post: Post,
    strikes: dict[str, int],
    reach: Reach,
    *,
    trigger: str,
    signals: list[Signal] | None = None,
) -> tuple[Verdict, Action | None]:
    """Score (unless signals are given), decide live and shadow, store both, enforce the live verdict.

    `strikes` is the author's active strikes per area; it is updated in place when a strike is
    issued, so later posts in the same batch see it.
    """
    if signals is None:
        signals = score(rt, post.text)
        now = rt.now()
        for s in signals:
            session.add(
                SignalRecord(
                    post=post,
                    post_version=post.version,
                    scorer=s.scorer,
                    scorer_version=s.scorer_version,
                    policy=s.policy,
                    score=s.score,
                    label=s.label,
                    evidence=list(s.evidence),
                    created_at=now,
                )
            )
    ctx = context(rt, post, post.author, strikes, reach)
    decision = decide(rt.policies, signals, ctx)
    verdict = _store_verdict(session, rt, post, decision, signals, trigger)
    _shadow(session, rt, post, signals, ctx, trigger)
    action = None
    if decision.outcome == "action" and decision.primary is not None:
        action = enforce(session, rt, post, verdict, decision.primary, reach)
        if action is not None and decision.primary.issue_strike:
            strikes[decision.primary.area] = strikes.get(decision.primary.area, 0) + 1
    return verdict, action


def stored_signals(session: Session, post: Post) -> list[Signal]:
    """The signals stored for a post's current version (for re-decisions without re-scoring)."""
    rows = session.scalars(
        select(SignalRecord).where(SignalRecord.post_id == post.id, SignalRecord.post_version == post.version)
    )
    return [
        Signal(r.scorer, r.scorer_version, r.policy, r.score, r.label, tuple(r.evidence or ())) for r in rows
    ]


def decision_view(verdict: Verdict, action: Action | None, base_url: str = "") -> dict[str, Any]:
    """What the ingest API returns about a decision."""
    exp = verdict.explanation or {}
    primary = next((e for e in exp.get("evaluations", []) if e.get("area") == verdict.policy), None)
    return {
        "verdict_id": verdict.id,
        "post_version": verdict.post_version,
        "outcome": verdict.outcome,
        "policy": verdict.policy,
        "policy_version": verdict.policy_version,
        "action": verdict.action,
        "proposed_action": verdict.proposed_action,
        "needs_human": bool(primary and ("account_action_needs_human" in primary.get("reasons", []))),
        "reasons": primary.get("reasons", []) if primary else [],
        "action_id": action.id if action else None,
        "puid": action.puid if action else None,
        "statement_url": f"{base_url}/v1/actions/{action.id}/statement" if action else None,
    }


def now_or(value: datetime | None, rt: Runtime) -> datetime:
    """A client-supplied time, or now."""
    return value or rt.now()
