"""Which automation is paused now (read on every decision path, so it stays import-light)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare.review.models import AutomationPause


def active_pauses(session: Session) -> frozenset[str]:
    """Policies whose automation is paused now; "*" when all automation is paused."""
    rows = session.execute(
        select(AutomationPause.scope, AutomationPause.policy).where(AutomationPause.lifted_at.is_(None))
    ).all()
    return frozenset("*" if scope == "all" else str(policy) for scope, policy in rows)
