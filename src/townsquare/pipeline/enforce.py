"""Stage 3, enforce: apply the automated content action of a live verdict, with its strike.

The action itself (state, strike, statement of reasons, notice, events) is `enforcement.service.apply`;
this stage turns a policy evaluation into that request.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from townsquare.content.models import Post
from townsquare.enforcement import service as enforcement
from townsquare.enforcement.models import Action
from townsquare.pipeline.score import Reach
from townsquare.policy.engine import PolicyEvaluation
from townsquare.policy.models import Verdict
from townsquare.runtime import Runtime


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
            reindex=False,  # the route stage indexes the post with this action (brandsafety hooks)
        ),
        rt.now(),
    )
