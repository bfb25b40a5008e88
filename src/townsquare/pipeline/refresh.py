"""Before a decision: bring this process's runtime up to date with what other processes changed.

Policy states and live text banks (`policy.service.apply_states`), automation pauses (review's kill
switches, which reach the policy engine only through `Runtime.paused`), and elections, race calls and
the claim library (`elections.hooks.refresh`). Every entry point that decides calls this first.

Policy states and pauses are reloaded only when the `decision` change stamp moved (`townsquare.stamps`:
database triggers bump it in the transaction of any change), so the common case costs one tiny query.
The stamp is read before the state it guards: a change that commits in between is loaded now and
loaded again next time, never missed.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from townsquare import stamps
from townsquare.elections import hooks as elections
from townsquare.policy.service import apply_states
from townsquare.review.pauses import active_pauses
from townsquare.runtime import Runtime


def refresh_states(session: Session, rt: Runtime) -> bool:
    """Apply what other processes changed; True when policies, banks or pauses changed."""
    stamp = stamps.read(session).get(stamps.DECISION)
    changed = False
    if stamp is None or stamp != rt.decision_stamp:
        changed = apply_states(session, rt)
        paused = active_pauses(session)  # a kill switch pulled in another process applies here at once
        if paused != rt.paused:
            rt.paused = paused
            changed = True
        rt.decision_stamp = stamp
    elections.refresh(session, rt)  # elections, race calls, mode switches and the claim library
    return changed
