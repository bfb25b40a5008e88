"""The decision engine, one scenario per test."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from townsquare.detection.base import Signal
from townsquare.policy.engine import DecisionContext, decide, evaluate
from townsquare.policy.loader import PolicySet, VersionSpec, load_policies
from townsquare.policy.schema import POLICY_AREAS, PolicyVersion

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
VALIDATED: dict[str, float | None] = {f"textbank.{a}": 0.9 for a in POLICY_AREAS}

SPEC: dict[str, Any] = {
    "version": 1,
    "state": "live",
    "severity": "medium",
    "definition": "Test policy: no bulk unsolicited content; news reporting about it is allowed.",
    "signals": [{"scorer": "textbank.spam", "review_threshold": 0.5, "auto_threshold": 0.9}],
    "ladder": [
        {"min_strikes": 0, "action": "label"},
        {"min_strikes": 1, "action": "reduce_reach"},
        {"min_strikes": 3, "action": "remove"},
        {"min_strikes": 5, "action": "suspend", "duration_days": 7},
    ],
    "strikes": {"issue": True, "expire_days": 60},
    "automation": {"enabled": True},
    "context": {"high_reach": {"views": 10000}, "reports": {"min_reports": 3, "score_floor": 0.3}},
}


@pytest.fixture(scope="module")
def policies() -> PolicySet:
    return load_policies(ROOT / "policies", VALIDATED)


def spec(area: str = "spam", **changes: Any) -> VersionSpec:
    data = copy.deepcopy(SPEC)
    data.update(changes)
    return VersionSpec.build(area, area.title(), PolicyVersion.model_validate(data))


EVIDENCE = ({"kind": "term", "match": "x"},)


def sig(scorer: str, score: float, policy: str | None = None) -> Signal:
    return Signal(scorer, "1", policy or scorer.split(".", 1)[1], score, evidence=EVIDENCE)


def ctx(**kw: Any) -> DecisionContext:
    return DecisionContext(now=NOW, **kw)


def test_below_review_threshold_is_no_violation() -> None:
    ev = evaluate(spec(), [sig("textbank.spam", 0.4)], ctx())
    assert (ev.outcome, ev.action, ev.proposed_action, ev.issue_strike) == ("no_violation", None, None, False)
    assert ev.evidence == ()


def test_between_thresholds_is_review() -> None:
    ev = evaluate(spec(), [sig("textbank.spam", 0.7)], ctx())
    assert (ev.outcome, ev.action, ev.proposed_action) == ("review", None, "label")
    assert ev.reasons == ("score>=review_threshold",)
    assert (ev.review_threshold, ev.auto_threshold) == (0.5, 0.9)


@pytest.mark.parametrize(("strikes", "action"), [(0, "label"), (1, "reduce_reach"), (3, "remove")])
def test_above_auto_acts_by_ladder_step(strikes: int, action: str) -> None:
    ev = evaluate(spec(), [sig("textbank.spam", 0.95)], ctx(author_active_strikes={"spam": strikes}))
    assert (ev.outcome, ev.action, ev.proposed_action) == ("action", action, action)
    assert ev.issue_strike
    assert ev.strike_expire_days == 60
    assert ev.evidence == EVIDENCE
    assert "score>=auto_threshold" in ev.reasons


def test_suspend_step_removes_and_routes_account_action_to_human() -> None:
    ev = evaluate(spec(), [sig("textbank.spam", 0.95)], ctx(author_active_strikes={"spam": 5}))
    assert (ev.outcome, ev.action, ev.proposed_action, ev.duration_days) == ("action", "remove", "suspend", 7)
    assert "account_action_needs_human" in ev.reasons


def test_banned_author_gets_no_further_account_action() -> None:
    ev = evaluate(
        spec(), [sig("textbank.spam", 0.95)], ctx(author_active_strikes={"spam": 5}, author_standing="banned")
    )
    assert (ev.action, ev.proposed_action, ev.duration_days) == ("remove", "remove", None)
    assert "author_already_banned" in ev.reasons


def test_child_safety_automation_disabled_reviews(policies: PolicySet) -> None:
    d = decide(policies, [sig("textbank.child_safety", 0.99)], ctx())
    assert d.outcome == "review"
    assert not d.automated
    assert d.primary is not None
    assert d.primary.proposed_action == "ban"
    assert "automation_disabled" in d.primary.reasons


def test_automation_disabled_blocks_action_above_auto() -> None:
    ev = evaluate(spec(automation={"enabled": False}), [sig("textbank.spam", 0.99)], ctx())
    assert (ev.outcome, ev.action) == ("review", None)
    assert "automation_disabled" in ev.reasons


def test_self_harm_labels_with_support_message_and_no_strike(policies: PolicySet) -> None:
    live = policies.live("self_harm")
    assert live is not None
    ev = evaluate(live, [sig("textbank.self_harm", 0.99)], ctx(author_active_strikes={"self_harm": 9}))
    assert (ev.outcome, ev.action) == ("action", "label")
    assert not ev.issue_strike
    assert ev.support_message
    assert "988" in ev.support_message


def test_election_period_lowers_review_threshold(policies: PolicySet) -> None:
    live = policies.live("election_misinformation")
    assert live is not None
    review = live.policy.signals[0].review_threshold
    s = [sig("textbank.election_misinformation", review - 0.05)]
    assert evaluate(live, s, ctx()).outcome == "no_violation"
    inside = evaluate(live, s, ctx(election_period=True))
    assert inside.outcome == "review"
    assert "election_period:stricter" in inside.reasons
    assert inside.review_threshold is not None
    assert inside.review_threshold < review


def test_election_period_can_turn_review_into_action() -> None:
    rule = {"scorer": "textbank.election_misinformation", "review_threshold": 0.5, "auto_threshold": 0.9}
    strict = spec(
        "election_misinformation", signals=[rule], context={"election_period": {"auto_multiplier": 0.9}}
    )
    s = [sig("textbank.election_misinformation", 0.85)]
    assert evaluate(strict, s, ctx()).outcome == "review"
    inside = evaluate(strict, s, ctx(election_period=True))
    assert (inside.outcome, inside.auto_threshold) == ("action", 0.81)


def test_high_reach_routes_removal_to_review() -> None:
    strikes = {"spam": 3}
    ev = evaluate(spec(), [sig("textbank.spam", 0.95)], ctx(author_active_strikes=strikes, views=20000))
    assert (ev.outcome, ev.action, ev.proposed_action) == ("review", None, "remove")
    assert "high_reach:review" in ev.reasons


def test_high_reach_still_allows_reduce_reach() -> None:
    ev = evaluate(spec(), [sig("textbank.spam", 0.95)], ctx(author_active_strikes={"spam": 1}, views=20000))
    assert (ev.outcome, ev.action) == ("action", "reduce_reach")


def test_protected_author_reviews() -> None:
    ev = evaluate(spec(), [sig("textbank.spam", 0.95)], ctx(author_protected=True))
    assert (ev.outcome, ev.action) == ("review", None)
    assert "protected_author:review" in ev.reasons


def test_non_english_reviews() -> None:
    ev = evaluate(spec(), [sig("textbank.spam", 0.95)], ctx(language="de"))
    assert ev.outcome == "review"
    assert "non_english:review" in ev.reasons
    assert evaluate(spec(), [sig("textbank.spam", 0.95)], ctx(language="en-GB")).outcome == "action"
    assert evaluate(spec(), [sig("textbank.spam", 0.3)], ctx(language="de")).outcome == "no_violation"


def test_report_count_above_floor_reviews() -> None:
    s = [sig("textbank.spam", 0.35)]
    assert evaluate(spec(), s, ctx(report_count=2)).outcome == "no_violation"
    ev = evaluate(spec(), s, ctx(report_count=3))
    assert ev.outcome == "review"
    assert ev.reasons == ("reports:review",)
    assert evaluate(spec(), [sig("textbank.spam", 0.2)], ctx(report_count=9)).outcome == "no_violation"


def test_reports_lift_only_the_policy_they_name() -> None:
    s = [sig("textbank.spam", 0.35)]

    def reported(**by_reason: int) -> DecisionContext:
        return ctx(report_count=sum(by_reason.values()), reports_by_reason=by_reason)

    assert evaluate(spec(), s, reported(election_misinformation=4)).outcome == "no_violation"
    assert evaluate(spec(), s, reported(election_misinformation=2, other=1)).outcome == "no_violation"
    for lifted in (reported(spam=3), reported(spam=1, other=2), reported(other=3, hate_speech=5)):
        ev = evaluate(spec(), s, lifted)
        assert (ev.outcome, ev.reasons) == ("review", ("reports:review",)), lifted.reports_by_reason


def test_shadow_mode_uses_shadow_version(policies: PolicySet) -> None:
    live, shadow = policies.live("hate_speech"), policies.shadow("hate_speech")
    assert live is not None
    assert shadow is not None
    between = (shadow.policy.signals[0].review_threshold + live.policy.signals[0].review_threshold) / 2
    s = [sig("textbank.hate_speech", between)]
    live_d = decide(policies, s, ctx())
    shadow_d = decide(policies, s, ctx(), mode="shadow")
    assert live_d.outcome == "no_violation"
    assert live_d.versions["hate_speech"] == 4
    assert shadow_d.outcome == "review"
    assert shadow_d.versions["hate_speech"] == 2
    assert shadow_d.primary is not None
    assert shadow_d.primary.state == "shadow"
    assert shadow_d.versions["spam"] == 4  # areas without a shadow fall back to live


def test_unknown_scorer_is_ignored(policies: PolicySet) -> None:
    d = decide(
        policies,
        [sig("model.nonexistent", 1.0, "hate_speech"), sig("textbank.hate_speech", 1.0, "spam")],
        ctx(),
    )
    assert d.outcome == "no_violation"
    assert d.evaluations == ()


def test_future_scorer_rule_only_reviews(policies: PolicySet) -> None:
    d = decide(policies, [sig("model.hate", 1.0, "hate_speech")], ctx())
    assert d.outcome == "review"
    assert d.primary is not None
    assert d.primary.scorer == "model.hate"


def test_primary_prefers_action_then_ladder_then_severity(policies: PolicySet) -> None:
    signals = [
        sig("textbank.spam", 0.99),  # action: reduce_reach (low)
        sig("textbank.hate_speech", 0.99),  # action: remove (high)
        sig("textbank.child_safety", 0.99),  # review only
        sig("textbank.health_misinformation", 0.1),  # no violation, still recorded
    ]
    d = decide(policies, signals, ctx())
    assert d.outcome == "action"
    assert d.automated
    assert d.primary is not None
    assert (d.primary.area, d.primary.action) == ("hate_speech", "remove")
    assert {e.area for e in d.actions} == {"spam", "hate_speech"}
    assert [e.area for e in d.reviews] == ["child_safety"]
    assert "health_misinformation" in {e.area for e in d.evaluations}
    assert d.to_dict()["primary"] == "hate_speech"
