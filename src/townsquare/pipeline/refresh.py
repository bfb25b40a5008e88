"""Before a decision: bring this process's runtime up to date with what other processes changed.

Policy states and live text banks (`policy.service.apply_states`), automation pauses (review's kill
switches, which reach the policy engine only through `Runtime.paused`), and elections, race calls and
the claim library (`elections.hooks.refresh`). Every entry point that decides calls this first.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from townsquare.elections import hooks as elections
from townsquare.policy.service import apply_states
from townsquare.review.pauses import active_pauses
from townsquare.runtime import Runtime


def refresh_states(session: Session, rt: Runtime) -> bool:
    """Apply what other processes changed; True when policies, banks or pauses changed."""
    changed = apply_states(session, rt)
    paused = active_pauses(session)  # a kill switch pulled in another process applies here at once
    if paused != rt.paused:
        rt.paused = paused
        changed = True
    elections.refresh(session, rt)  # elections, race calls, mode switches and the claim library
    return changed
