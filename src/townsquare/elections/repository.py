"""Every query of the elections package."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from townsquare.elections.models import ClaimEntry, Election, ElectionSignal, ModeSwitch, Race


def elections(session: Session) -> list[Election]:
    """Every election with its races, by polling date."""
    q = select(Election).options(selectinload(Election.races)).order_by(Election.polling_start, Election.id)
    return list(session.scalars(q))


def by_slug(session: Session, slug: str, *, for_update: bool = False) -> Election | None:
    """One election by slug."""
    q = select(Election).where(Election.slug == slug).options(selectinload(Election.races))
    return session.scalar(q.with_for_update() if for_update else q)


def slugs(session: Session) -> set[str]:
    """The slugs already stored."""
    return set(session.scalars(select(Election.slug)))


def race(session: Session, election: Election, key: str) -> Race | None:
    """One race of an election."""
    return session.scalar(select(Race).where(Race.election_id == election.id, Race.key == key))


def last_switches(session: Session) -> dict[int, ModeSwitch]:
    """The latest mode switch of each election."""
    latest = (
        select(ModeSwitch.election_id, func.max(ModeSwitch.id).label("id")).group_by(ModeSwitch.election_id)
    ).subquery()
    rows = session.scalars(select(ModeSwitch).join(latest, latest.c.id == ModeSwitch.id))
    return {r.election_id: r for r in rows}


def switches(session: Session, limit: int = 50) -> list[tuple[ModeSwitch, Election]]:
    """The newest mode switches with their elections."""
    q = (
        select(ModeSwitch, Election)
        .join(Election, Election.id == ModeSwitch.election_id)
        .order_by(ModeSwitch.id.desc())
        .limit(limit)
    )
    return [(s, e) for s, e in session.execute(q)]


def signals_since(session: Session, since: datetime) -> list[ElectionSignal]:
    """Election signals recorded since a time, newest first."""
    q = select(ElectionSignal).where(ElectionSignal.created_at >= since).order_by(ElectionSignal.id.desc())
    return list(session.scalars(q.limit(20_000)))


def labels_of(session: Session, post_id: int) -> list[ElectionSignal]:
    """The authoritative-information labels on a post (every version)."""
    q = select(ElectionSignal).where(ElectionSignal.post_id == post_id, ElectionSignal.label_url.is_not(None))
    return list(session.scalars(q.order_by(ElectionSignal.id)))


def claim_entries(session: Session, state: str | None = None) -> list[ClaimEntry]:
    """Claims added through Townsquare, oldest first."""
    q = select(ClaimEntry).order_by(ClaimEntry.id)
    if state is not None:
        q = q.where(ClaimEntry.state == state)
    return list(session.scalars(q))


def library_version(session: Session) -> int:
    """The newest published claim-library version (0: the files alone)."""
    return int(session.scalar(select(func.max(ClaimEntry.library_version))) or 0)
