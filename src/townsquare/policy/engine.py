"""The pure decision engine: signals + context + policy versions -> a decision. No I/O, no clock.

Per area (`evaluate`):
1. Signals count for a version when their scorer has a rule in it and their `policy` is this area (or
   None). Signals of other scorers are ignored, which is how a rule for a not-yet-installed scorer stays
   inert. During an election period the version's `context.election_period` multipliers lower the
   thresholds first.
2. The deciding signal is the one reaching the highest level (auto > review > below), then the highest
   score. At or above auto -> candidate "action"; at or above review -> "review"; below review -> "review"
   only when `context.reports` applies (enough reports and a score at the floor), else "no_violation".
3. The ladder step for the author's active strikes in the area is the `proposed_action`. An account
   action (suspend, ban) is never automated: the content action applied is "remove" and the reason
   "account_action_needs_human" tells enforcement to open a review for the account action. An author
   already banned gets "remove" instead of another account action.
4. A candidate "action" becomes "review" when automation is disabled or paused (by QA or a person's kill
   switch), the language is known and not
   English (our models are English-only), the author is protected, or the post has high reach and the
   content action goes beyond reduce_reach. Each such gate adds its reason to any review outcome.

Across areas (`decide`): the primary evaluation is the most severe ("action" > "review"; then the
proposed action's rung, then area severity, then score). `Decision.evaluations` holds every area that
received at least one matching signal, including "no_violation" ones, so a verdict records why the engine
did not act as well as why it did; areas with no matching signal are left out (their versions are still in
`Decision.versions`). Author standing only matters when "banned"; "limited" and "suspended" authors are
judged like anyone else (a suspended author's ladder may still propose a further suspension).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, Literal

from townsquare.detection.base import Signal
from townsquare.policy.loader import Mode, PolicySet, VersionSpec
from townsquare.policy.schema import ACCOUNT_ACTIONS, ACTION_RANK, SEVERITY_RANK, PolicyVersion

Outcome = Literal["no_violation", "review", "action"]
OUTCOME_RANK: dict[str, int] = {"no_violation": 0, "review": 1, "action": 2}
_BELOW, _REVIEW, _AUTO = 0, 1, 2


@dataclass(frozen=True, kw_only=True)
class DecisionContext:
    """What the engine knows about the post and its author besides the signals."""

    now: datetime
    author_active_strikes: Mapping[str, int] = field(default_factory=dict)
    author_standing: str = "good"  # good | limited | suspended | banned
    author_protected: bool = False
    author_followers: int = 0
    views: int = 0
    velocity: float = 0.0  # views per hour
    report_count: int = 0
    report_reasons: Sequence[str] = ()
    # Reports by reason (a policy area or "other"); empty when only the total is known.
    reports_by_reason: Mapping[str, int] = field(default_factory=dict)
    election_period: bool = False
    language: str | None = None  # ISO 639-1 ("en", "en-GB"); None when unknown
    paused: frozenset[str] = frozenset()  # policies whose automation is paused; "*" pauses all
    probation_bonus: int = 0  # a reinstated author on probation: extra strikes when picking the rung


@dataclass(frozen=True)
class PolicyEvaluation:
    """The result of one policy version for one post."""

    area: str
    version: int
    state: str
    content_hash: str
    severity: str
    outcome: Outcome
    action: str | None  # content action applied automatically now, if any
    proposed_action: str | None  # what the ladder says, even when a human must decide
    duration_days: int | None  # for a proposed suspension
    score: float
    scorer: str | None
    scorer_version: str | None
    review_threshold: float | None  # after context adjustments
    auto_threshold: float | None
    reasons: tuple[str, ...]
    issue_strike: bool  # a confirmed violation adds a strike: now for "action", on confirmation for "review"
    strike_expire_days: int | None
    evidence: tuple[dict[str, Any], ...]
    support_message: str | None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict for verdict explanations.

        Built field by field rather than with `dataclasses.asdict`, whose recursive deep copy cost about
        a third of a millisecond per evaluation on the ingest path (every post records every area's).
        """
        d = {name: getattr(self, name) for name in _EVALUATION_FIELDS}
        d["reasons"] = list(self.reasons)
        d["evidence"] = [dict(e) for e in self.evidence]
        return d


_EVALUATION_FIELDS = tuple(f.name for f in fields(PolicyEvaluation))


@dataclass(frozen=True)
class Decision:
    """Every area's evaluation of one post and the one that decides it."""

    mode: Mode
    outcome: Outcome
    primary: PolicyEvaluation | None
    evaluations: tuple[PolicyEvaluation, ...]
    automated: bool  # a content action is applied with no human in the loop
    versions: Mapping[str, int]  # area -> version evaluated, for replay
    decided_at: datetime

    @property
    def actions(self) -> list[PolicyEvaluation]:
        """Evaluations that apply an action now."""
        return [e for e in self.evaluations if e.outcome == "action"]

    @property
    def reviews(self) -> list[PolicyEvaluation]:
        """Evaluations a human must decide, including account actions proposed alongside an action."""
        return [
            e for e in self.evaluations if e.outcome == "review" or "account_action_needs_human" in e.reasons
        ]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict for the verdict's explanation."""
        return {
            "mode": self.mode,
            "outcome": self.outcome,
            "primary": self.primary.area if self.primary else None,
            "automated": self.automated,
            "versions": dict(self.versions),
            "decided_at": self.decided_at.isoformat(),
            "evaluations": [e.to_dict() for e in self.evaluations],
        }


@dataclass(frozen=True, slots=True)
class _Scored:
    signal: Signal
    review: float
    auto: float | None
    level: int


_Thresholds = dict[str, tuple[float, float | None]]


def _thresholds(policy: PolicyVersion, ctx: DecisionContext) -> tuple[_Thresholds, bool]:
    """Per-scorer (review, auto) thresholds after context, and whether the election rule applied."""
    rule = policy.context.election_period if ctx.election_period else None
    rm, am = (rule.review_multiplier, rule.auto_multiplier) if rule else (1.0, 1.0)
    out: _Thresholds = {}
    for s in policy.signals:
        # An unresolved "validated" (no model validation was loaded) never acts alone.
        auto = round(s.auto_threshold * am, 6) if isinstance(s.auto_threshold, float) else None
        out[s.scorer] = (round(s.review_threshold * rm, 6), auto)
    return out, rule is not None


def _score(spec: VersionSpec, signals: Iterable[Signal], ctx: DecisionContext) -> tuple[_Scored | None, bool]:
    """The deciding signal for this version (None when no signal matches), and the election flag."""
    thresholds, election = _thresholds(spec.policy, ctx)
    best: _Scored | None = None
    for sig in signals:
        if sig.scorer not in thresholds or sig.policy not in (None, spec.area):
            continue
        review, auto = thresholds[sig.scorer]
        level = _REVIEW if sig.score >= review else _BELOW
        if auto is not None and sig.score >= auto:
            level = _AUTO
        cand = _Scored(sig, review, auto, level)
        if best is None or _rank(cand) > _rank(best):
            best = cand
    return best, election


def _rank(s: _Scored) -> tuple[int, float, str]:
    return (s.level, s.signal.score, s.signal.scorer)


def _strikes(ctx: DecisionContext, area: str) -> int:
    """The strikes that pick the ladder's rung: active ones, plus the probation bonus if any."""
    return ctx.author_active_strikes.get(area, 0) + ctx.probation_bonus


def _non_english(language: str | None) -> bool:
    return language is not None and language.lower().replace("_", "-").split("-")[0] != "en"


def _high_reach(policy: PolicyVersion, ctx: DecisionContext) -> bool:
    rule = policy.context.high_reach
    if rule is None:
        return False
    return (
        (rule.views is not None and ctx.views >= rule.views)
        or (rule.followers is not None and ctx.author_followers >= rule.followers)
        or (rule.velocity is not None and ctx.velocity >= rule.velocity)
    )


def _gates(area: str, policy: PolicyVersion, ctx: DecisionContext, content_action: str) -> list[str]:
    """Reasons that keep this post from automated action; each names why a human must look."""
    gates = []
    if not policy.automation.enabled:
        gates.append("automation_disabled")
    if "*" in ctx.paused or area in ctx.paused:
        gates.append("automation_paused")
    if _non_english(ctx.language):
        gates.append("non_english:review")
    if ctx.author_protected and policy.context.protected_author == "review":
        gates.append("protected_author:review")
    # Labelling or demoting a viral post is cheap to undo; removing it is not.
    if ACTION_RANK[content_action] > ACTION_RANK["reduce_reach"] and _high_reach(policy, ctx):
        gates.append("high_reach:review")
    return gates


def _reports_for(area: str, ctx: DecisionContext) -> int:
    """The reports that speak of this policy: those naming the area and those naming none ("other").
    Four reports of election misinformation do not send a post to review under violent extremism."""
    if not ctx.reports_by_reason:  # only the total is known
        return ctx.report_count
    return ctx.reports_by_reason.get(area, 0) + ctx.reports_by_reason.get("other", 0)


def _initial(
    area: str, policy: PolicyVersion, best: _Scored, ctx: DecisionContext
) -> tuple[Outcome, list[str]]:
    """Outcome and reasons from the score alone (before gates)."""
    if best.level == _AUTO:
        return "action", ["score>=auto_threshold"]
    if best.level == _REVIEW:
        return "review", ["score>=review_threshold"]
    rule = policy.context.reports
    if rule and _reports_for(area, ctx) >= rule.min_reports and best.signal.score >= rule.score_floor:
        return "review", ["reports:review"]
    return "no_violation", []


def evaluate(spec: VersionSpec, signals: Iterable[Signal], ctx: DecisionContext) -> PolicyEvaluation:
    """Evaluate one policy version against a post's signals in its context."""
    policy = spec.policy
    best, election = _score(spec, signals, ctx)
    if best is None:
        return _result(spec, "no_violation", None, None, None, [], ctx)
    outcome, reasons = _initial(spec.area, policy, best, ctx)
    if election:
        reasons.append("election_period:stricter")
    if outcome == "no_violation":
        return _result(spec, outcome, None, None, best, reasons, ctx)
    proposed = policy.step_for(_strikes(ctx, spec.area)).action
    if proposed in ACCOUNT_ACTIONS and ctx.author_standing == "banned":
        proposed = "remove"
        reasons.append("author_already_banned")
    # Automation never suspends or bans; the most it does alongside a proposed account action is remove.
    content_action = "remove" if proposed in ACCOUNT_ACTIONS else proposed
    gates = _gates(spec.area, policy, ctx, content_action)
    if outcome == "action" and gates:
        outcome = "review"
    action: str | None = None
    if outcome == "review":
        reasons.extend(gates)
    else:
        action = content_action
        if proposed in ACCOUNT_ACTIONS:
            reasons.append("account_action_needs_human")
    return _result(spec, outcome, action, proposed, best, reasons, ctx)


def _result(
    spec: VersionSpec,
    outcome: Outcome,
    action: str | None,
    proposed: str | None,
    best: _Scored | None,
    reasons: list[str],
    ctx: DecisionContext,
) -> PolicyEvaluation:
    policy = spec.policy
    violation = outcome != "no_violation"
    step = policy.step_for(_strikes(ctx, spec.area))
    return PolicyEvaluation(
        area=spec.area,
        version=spec.version,
        state=spec.state,
        content_hash=spec.content_hash,
        severity=policy.severity,
        outcome=outcome,
        action=action,
        proposed_action=proposed,
        duration_days=step.duration_days if violation and proposed == step.action else None,
        score=best.signal.score if best else 0.0,
        scorer=best.signal.scorer if best else None,
        scorer_version=best.signal.scorer_version if best else None,
        review_threshold=best.review if best else None,
        auto_threshold=best.auto if best else None,
        reasons=tuple(reasons),
        issue_strike=violation and policy.strikes.issue,
        strike_expire_days=policy.strikes.expire_days if violation and policy.strikes.issue else None,
        evidence=best.signal.evidence if best and violation else (),
        support_message=policy.support_message if violation else None,
    )


def _primary_key(e: PolicyEvaluation) -> tuple[int, int, int, float, str]:
    rung = ACTION_RANK[e.proposed_action] if e.proposed_action else -1
    return (OUTCOME_RANK[e.outcome], rung, SEVERITY_RANK[e.severity], e.score, e.area)


def decide(
    policyset: PolicySet, signals: Iterable[Signal], ctx: DecisionContext, *, mode: Mode = "live"
) -> Decision:
    """Evaluate every area's live version (or, in shadow mode, its shadow version where one exists)."""
    sigs = tuple(signals)
    evaluations: list[PolicyEvaluation] = []
    versions: dict[str, int] = {}
    present = {s.scorer for s in sigs}
    for spec in policyset.active(mode):
        versions[spec.area] = spec.version
        # Most posts carry no signal for most areas; such an area cannot leave no_violation, so skip it.
        if present.isdisjoint(spec.scorers):
            continue
        ev = evaluate(spec, sigs, ctx)
        if ev.scorer is not None:
            evaluations.append(ev)
    violations = [e for e in evaluations if e.outcome != "no_violation"]
    primary = max(violations, key=_primary_key, default=None)
    outcome: Outcome = primary.outcome if primary else "no_violation"
    return Decision(
        mode=mode,
        outcome=outcome,
        primary=primary,
        evaluations=tuple(evaluations),
        automated=outcome == "action",
        versions=versions,
        decided_at=ctx.now,
    )
