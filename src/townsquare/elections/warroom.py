"""The war room: live election signals by claim and jurisdiction, the fastest-spreading flagged posts,
emerging claims, and the election-integrity queue against its SLA."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from townsquare.content import repository as content_repo
from townsquare.content.models import Post
from townsquare.elections import emerging, mode
from townsquare.elections import repository as repo
from townsquare.elections.claims_library import library
from townsquare.eventlog import events
from townsquare.review.models import OPEN_STATES, Case
from townsquare.runtime import Runtime

QUEUE = "elections"
FLAGGED = ("claim", "premature_victory", "voter_intimidation", "unmatched")
DEFAULT_SLA_MINUTES = 60


def snapshot(session: Session, rt: Runtime, hours: int = 24) -> dict[str, Any]:
    """Everything the war room shows, computed now."""
    st = mode.refresh(session, rt)
    now = rt.now()
    since = now - timedelta(hours=hours)
    signals = repo.signals_since(session, since)
    return {
        "now": events.iso(now),
        "hours": hours,
        "mode": {"on": bool(st.active(now)), "elections": [_election(e) for e in st.active(now)]},
        "switches": switches(session),
        "by_claim": _by_claim(session, rt, signals, now),
        "by_jurisdiction": _by_jurisdiction(signals),
        "fastest": _fastest(session, signals, now),
        "emerging": emerging.clusters(session, rt, since),
        "queue": queue_state(session, rt, st),
    }


def _election(e: mode.ElectionInfo) -> dict[str, Any]:
    return {
        "slug": e.slug,
        "name": e.name,
        "jurisdiction": e.jurisdiction,
        "window_start": e.start.isoformat(),
        "window_end": e.end.isoformat(),
        "sla_minutes": e.sla_minutes,
        "voting_information": e.voting_info_url,
        "results": e.results_url,
        "races": [
            {"key": r.key, "name": r.name, "called": r.called_at is not None, "winner": r.winner}
            for r in e.races
        ],
    }


def switches(session: Session, limit: int = 20) -> list[dict[str, Any]]:
    """The newest switches into and out of election mode."""
    return [
        {
            "election": e.slug,
            "name": e.name,
            "jurisdiction": e.jurisdiction,
            "direction": s.direction,
            "at": events.iso(s.at),
            "window_start": s.window_start.isoformat(),
            "window_end": s.window_end.isoformat(),
        }
        for s, e in repo.switches(session, limit)
    ]


def _by_claim(session: Session, rt: Runtime, signals: list[Any], now: Any) -> list[dict[str, Any]]:
    texts = {c.id: c.text for c in library(session, rt)}
    hour_ago = now - timedelta(hours=1)
    total: Counter[str] = Counter()
    last_hour: Counter[str] = Counter()
    for s in signals:
        key = s.claim_id if s.kind == "claim" and s.claim_id else s.kind
        if s.kind not in FLAGGED:
            continue
        total[key] += 1
        if s.created_at >= hour_ago:
            last_hour[key] += 1
    return [
        {"claim": k, "text": texts.get(k, k.replace("_", " ")), "posts": n, "last_hour": last_hour[k]}
        for k, n in total.most_common(25)
    ]


def _by_jurisdiction(signals: list[Any]) -> list[dict[str, Any]]:
    out: dict[str, Counter[str]] = defaultdict(Counter)
    for s in signals:
        out[s.jurisdiction or "unattributed"][s.kind] += 1
    return [
        {"jurisdiction": j, "counts": dict(c), "total": sum(c.values())}
        for j, c in sorted(out.items(), key=lambda kv: -sum(kv[1].values()))
    ]


def _fastest(session: Session, signals: list[Any], now: Any, limit: int = 10) -> list[dict[str, Any]]:
    flagged: dict[int, Any] = {}
    for s in signals:
        if s.kind in FLAGGED and s.post_id not in flagged:
            flagged[s.post_id] = s
    if not flagged:
        return []
    reach = content_repo.reach_many(session, set(flagged), now)
    top = sorted(flagged, key=lambda p: (-reach.get(p, (0, 0.0))[1], -reach.get(p, (0, 0.0))[0], -p))[:limit]
    posts = {p.id: p for p in session.scalars(select(Post).where(Post.id.in_(top)))}
    return [
        {
            "post": posts[p].platform_id,
            "text": posts[p].text[:280],
            "status": posts[p].status,
            "kind": flagged[p].kind,
            "claim": flagged[p].claim_id,
            "jurisdiction": flagged[p].jurisdiction,
            "views": reach.get(p, (0, 0.0))[0],
            "views_per_hour": round(reach.get(p, (0, 0.0))[1], 1),
        }
        for p in top
        if p in posts
    ]


def queue_state(session: Session, rt: Runtime, st: mode.State | None = None) -> dict[str, Any]:
    """The election-integrity queue: open cases, the oldest, and how many are past the SLA."""
    st = st or mode.state(session, rt)
    now = rt.now()
    active = st.active(now)
    sla = min((e.sla_minutes for e in active), default=DEFAULT_SLA_MINUTES)
    opened = list(
        session.scalars(
            select(Case.opened_at)
            .where(Case.queue == QUEUE, Case.state.in_(OPEN_STATES))
            .order_by(Case.opened_at)
        )
    )
    ages = [(now - at).total_seconds() / 60 for at in opened]
    decided = session.scalar(
        select(func.count())
        .select_from(Case)
        .where(Case.queue == QUEUE, Case.decided_at >= now - timedelta(hours=1))
    )
    return {
        "queue": QUEUE,
        "open": bool(active),
        "sla_minutes": sla,
        "cases_open": len(opened),
        "oldest_minutes": round(max(ages), 1) if ages else None,
        "overdue": sum(1 for a in ages if a > sla),
        "decided_last_hour": int(decided or 0),
    }
