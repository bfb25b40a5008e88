"""Queue health for the dashboard: inflow, backlog, time to decision, automated vs human share, precision."""

from __future__ import annotations

import statistics
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from townsquare.enforcement.models import Action
from townsquare.eventlog import events
from townsquare.review import quality
from townsquare.review.models import AutomationPause, Case
from townsquare.review.views import queue_summary
from townsquare.runtime import Runtime


def pauses(session: Session) -> list[dict[str, Any]]:
    """Automation pauses in force."""
    rows = session.scalars(
        select(AutomationPause).where(AutomationPause.lifted_at.is_(None)).order_by(AutomationPause.id)
    )
    return [
        {
            "id": p.id,
            "scope": p.scope,
            "policy": p.policy,
            "reason": p.reason,
            "automatic": p.automatic,
            "paused_by": p.paused_by,
            "paused_at": events.iso(p.paused_at),
        }
        for p in rows
    ]


def health(session: Session, rt: Runtime, hours: int = 24) -> dict[str, Any]:
    """The dashboard's figures over the last `hours`."""
    now = rt.now()
    since = now - timedelta(hours=hours)
    opened = session.scalars(select(Case.opened_at).where(Case.opened_at >= since)).all()
    inflow = [0] * hours
    for t in opened:
        slot = int((t - since).total_seconds() // 3600)
        if 0 <= slot < hours:
            inflow[slot] += 1
    waits = [
        (d - o).total_seconds() / 3600
        for o, d in session.execute(
            select(Case.opened_at, Case.decided_at).where(
                Case.decided_at.is_not(None), Case.decided_at >= since
            )
        ).all()
    ]
    acts = dict(
        (bool(a), int(n))
        for a, n in session.execute(
            select(Action.automated, func.count())
            .where(Action.created_at >= since)
            .group_by(Action.automated)
        ).all()
    )
    total = sum(acts.values())
    return {
        "window_hours": hours,
        "inflow_per_hour": inflow,
        "opened": len(opened),
        "decided": len(waits),
        "median_hours_to_decision": round(statistics.median(waits), 3) if waits else None,
        "backlog": queue_summary(session, rt),
        "actions": {
            "automated": acts.get(True, 0),
            "human": acts.get(False, 0),
            "automated_share": round(acts.get(True, 0) / total, 4) if total else None,
        },
        "automation_precision": quality.precision_table(session, rt),
        "agreement": quality.agreement(session),
        "pauses": pauses(session),
    }
