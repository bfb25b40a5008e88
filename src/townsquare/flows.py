"""Cross-domain orchestration: score a post version, decide it under the policies, enforce the verdict."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare.brandsafety import hooks as brandsafety
from townsquare.content.models import Account, Post
from townsquare.detection.base import Signal
from townsquare.detection.classify import signals as classifier_signals
from townsquare.detection.language import UNDETERMINED
from townsquare.detection.models import SignalRecord
from townsquare.detection.textbanks import scan_all
from townsquare.elections import hooks as integrity
from townsquare.enforcement import service as enforcement
from townsquare.enforcement.models import Action
from townsquare.eventlog import events
from townsquare.policy.engine import Decision, DecisionContext, PolicyEvaluation, decide
from townsquare.policy.models import Verdict
from townsquare.review import intake
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


@dataclass
class Detection:
    """What the scorers found in one text, and its language (given by the platform or detected)."""

    signals: list[Signal]
    language: str | None


def detect(
    rt: Runtime,
    texts: Sequence[str],
    languages: Sequence[str | None] | None = None,
    high_reach: Sequence[bool] | None = None,
) -> list[Detection]:
    """Text banks and the trained models for a batch of texts (the models score the batch at once).

    A language the platform sent is kept; a missing one is detected (`und` when it cannot be told,
    which counts as unknown, not as non-English).
    """
    given = list(languages) if languages is not None else [None] * len(texts)
    results = rt.classifier.classify(texts, given, high_reach) if rt.classifier is not None else None
    out = []
    for i, text in enumerate(texts):
        sigs = scan_all(rt.scorers, text)
        lang = given[i]
        if results is not None:
            sigs.extend(classifier_signals(results[i]))
            lang = lang or (results[i].language if results[i].language != UNDETERMINED else None)
        out.append(Detection(sigs, lang))
    integrity.add_signals(rt, texts, out)  # election scorers, while an election's window is open
    return out


def score(rt: Runtime, text: str, language: str | None = None) -> list[Signal]:
    """Every scorer's signals for one text."""
    return detect(rt, [text], [language])[0].signals


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
    The batch ingest path does the same through `content.writer` with bulk inserts.
    """
    rescored = signals is None
    if signals is None:
        found = detect(rt, [post.text], [post.language], [_high_reach(post, reach)])[0]
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
        action = enforce(session, rt, post, verdict, p.live.primary, reach)
        area = strike_issued(p)
        if action is not None and area:
            strikes[area] = strikes.get(area, 0) + 1
    if p.live.outcome != "no_violation":
        session.flush()
        intake.from_decision(session, rt, post, verdict.id, p.live, action.id if action else None)
    integrity.after_post(session, rt, post, p)  # election signals and labels; campaign detection
    brandsafety.post_decided(session, rt, post, p.signals, trigger)
    return verdict, action


def _high_reach(post: Post, reach: Reach) -> bool:
    """Posts the semantic tier re-scores whatever the fast tier said: wide audiences or fast spread."""
    return post.author.follower_count >= 50_000 or reach.views >= 10_000 or reach.velocity >= 1_000


def stored_signals(session: Session, post: Post) -> list[Signal]:
    """The signals stored for a post's current version (for re-decisions without re-scoring)."""
    rows = session.scalars(
        select(SignalRecord).where(SignalRecord.post_id == post.id, SignalRecord.post_version == post.version)
    )
    return [
        Signal(r.scorer, r.scorer_version, r.policy, r.score, r.label, tuple(r.evidence or ())) for r in rows
    ]


def decision_view(
    verdict: Verdict | dict[str, Any], action: Action | None, base_url: str = ""
) -> dict[str, Any]:
    """What the ingest API returns about a decision (from a Verdict or a verdicts-table row with its id)."""
    v = verdict if isinstance(verdict, dict) else {k: getattr(verdict, k) for k in _VIEW_FIELDS}
    exp = v["explanation"] or {}
    primary = next((e for e in exp.get("evaluations", []) if e.get("area") == v["policy"]), None)
    return {
        "verdict_id": v["id"],
        "post_version": v["post_version"],
        "outcome": v["outcome"],
        "policy": v["policy"],
        "policy_version": v["policy_version"],
        "action": v["action"],
        "proposed_action": v["proposed_action"],
        "needs_human": bool(primary and ("account_action_needs_human" in primary.get("reasons", []))),
        "reasons": primary.get("reasons", []) if primary else [],
        "action_id": action.id if action else None,
        "puid": action.puid if action else None,
        "statement_url": f"{base_url}/v1/actions/{action.id}/statement" if action else None,
    }


_VIEW_FIELDS = (
    "id",
    "post_version",
    "outcome",
    "policy",
    "policy_version",
    "action",
    "proposed_action",
    "explanation",
)


def now_or(value: datetime | None, rt: Runtime) -> datetime:
    """A client-supplied time, or now."""
    return value or rt.now()
