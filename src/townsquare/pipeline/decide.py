"""Stage 2, decide: the decision context, the live and shadow decisions, and what is stored of them.

`decide_post` is the single-post path (an edit, a report, a re-score): score -> decide -> store -> enforce
-> route, in that order. The batch path (`pipeline.ingest.write`) runs the same stages with bulk inserts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from townsquare.content.models import Account, Post
from townsquare.detection.base import Signal
from townsquare.detection.models import SignalRecord
from townsquare.enforcement import service as enforcement
from townsquare.enforcement.models import Action
from townsquare.eventlog import events
from townsquare.pipeline import enforce as enforce_stage
from townsquare.pipeline import route
from townsquare.pipeline.score import Reach, detect, high_reach, score
from townsquare.policy.engine import Decision, DecisionContext, decide
from townsquare.policy.models import Verdict
from townsquare.runtime import Runtime

ENGINE_ACTOR = "service:policy-engine"
Decided = tuple[Verdict, Action | None]


def context(
    rt: Runtime, author: Account, language: str | None, strikes: dict[str, int], reach: Reach
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
        reports_by_reason=dict(reach.reports_by_reason),
        election_period=bool(rt.calendar.active(now.date())),
        language=language,
        paused=rt.paused,
        probation_bonus=author.probation_bonus
        if author.probation_until and author.probation_until > now
        else 0,
    )


@dataclass
class Plan:
    """What scoring and the engine decided for one text, before anything is stored."""

    signals: list[Signal]
    live: Decision
    shadow: Decision | None


def plan(rt: Runtime, text: str, ctx: DecisionContext, signals: list[Signal] | None = None) -> Plan:
    """Score the text (unless signals are given) and decide it under the live and shadow versions.

    A shadow decision is kept only when a shadow version actually evaluates the post: for every other
    post the shadow set decides exactly as live does, so storing it would add nothing but writes.
    """
    sigs = score(rt, text) if signals is None else signals
    live = decide(rt.policies, sigs, ctx)
    shadow = None
    shadow_areas = set(rt.policies.shadow_areas())
    if sigs and shadow_areas:
        candidate = decide(rt.policies, sigs, ctx, mode="shadow")
        if any(e.area in shadow_areas for e in candidate.evaluations):
            shadow = candidate
    return Plan(sigs, live, shadow)


def strike_issued(p: Plan) -> str | None:
    """The area in which this plan's automated action issues a strike, if it does."""
    ev = p.live.primary
    if p.live.outcome == "action" and ev is not None and ev.action and ev.issue_strike:
        return ev.area
    return None


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


def verdict_row(rt: Runtime, decision: Decision, post_version: int, trigger: str) -> dict[str, Any]:
    """The verdicts-table row for a decision (without post_id)."""
    p = decision.primary
    return {
        "post_version": post_version,
        "mode": decision.mode,
        "outcome": decision.outcome,
        "policy": p.area if p else None,
        "policy_version": p.version if p else None,
        "action": p.action if p and decision.outcome == "action" else None,
        "proposed_action": p.proposed_action if p else None,
        "automated": True,
        "explanation": {
            **decision.to_dict(),
            "versions": {e.area: e.version for e in decision.evaluations},
            "policyset": rt.policies.digest(decision.mode),
            "trigger": trigger,
        },
        "created_at": decision.decided_at,
    }


def signal_rows(signals: list[Signal], post_version: int, now: datetime) -> list[dict[str, Any]]:
    """Signals-table rows (without post_id)."""
    return [
        {
            "post_version": post_version,
            "scorer": s.scorer,
            "scorer_version": s.scorer_version,
            "policy": s.policy,
            "score": s.score,
            "label": s.label,
            "evidence": list(s.evidence),
            "created_at": now,
        }
        for s in signals
    ]


def record_decided(
    session: Session, rt: Runtime, post_pid: str, post_version: int, decision: Decision, p: Plan, trigger: str
) -> None:
    """The event of a (live or shadow) decision, with the versions that made it."""
    events.record(
        session,
        "post.decided" if decision.mode == "live" else "post.shadow_decided",
        actor=ENGINE_ACTOR,
        subject_type="post",
        subject_id=post_pid,
        at=decision.decided_at,
        reason=trigger,
        versions=_versions(rt, decision, p.signals),
        payload={"post_version": post_version, **_summary(decision)},
    )


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

    `strikes` is the author's active strikes per area; it is updated in place when a strike is issued.
    The batch ingest path does the same through `pipeline.ingest.write` with bulk inserts.
    """
    rescored = signals is None
    if signals is None:
        found = detect(rt, [post.text], [post.language], [high_reach(post, reach)])[0]
        signals = found.signals
        post.language = post.language or found.language
    p = plan(rt, post.text, context(rt, post.author, post.language, strikes, reach), signals)
    if rescored:
        for row in signal_rows(p.signals, post.version, rt.now()):
            session.add(SignalRecord(post=post, **row))
    verdict = Verdict(post=post, **verdict_row(rt, p.live, post.version, trigger))
    session.add(verdict)
    record_decided(session, rt, post.platform_id, post.version, p.live, p, trigger)
    if p.shadow is not None:
        session.add(Verdict(post=post, **verdict_row(rt, p.shadow, post.version, trigger)))
        record_decided(session, rt, post.platform_id, post.version, p.shadow, p, trigger)
    action = None
    if p.live.outcome == "action" and p.live.primary is not None:
        action = enforce_stage.enforce(session, rt, post, verdict, p.live.primary, reach)
        area = strike_issued(p)
        if action is not None and area:
            strikes[area] = strikes.get(area, 0) + 1
    route.after_post(session, rt, post, verdict, p, action, trigger)
    return verdict, action
