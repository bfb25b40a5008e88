"""How often reviewers uphold the review cases each signal opens: the live precision of a (policy, scorer).

A scorer's probability is calibrated on its datasets' validation splits, whose prevalence is far from a
live stream's, and the thresholds of different scorers sit at different points of their curves: a 0.8
from one scorer and a 0.8 from another do not mean the same chance that the post breaks the policy. Every
human decision on a review case is a labelled example of the signal that opened it, so the priority
blends the score with that record (`priority.PriorityInputs.likelihood`).

The record is cached per database and brought up to date by reading only the decisions stored since
(decisions are never edited or deleted), with a full read every 1,000 decisions, so keeping it costs a
small grouped query per new decision.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from townsquare.db import EngineCache
from townsquare.review.models import Case, CaseDecision


@dataclass(frozen=True)
class Record:
    """Decisions on a signal's review cases and how many found a violation."""

    upheld: int
    decided: int


Records = dict[tuple[str, str], Record]

FULL_EVERY = 1000  # decision ids between full reads of the record
_cache: EngineCache[int, Records] = EngineCache()


_NEWEST = select(func.max(CaseDecision.id))  # built once: read whenever a case opens


def records(session: Session) -> Records:
    """(policy, scorer) -> its review cases' decisions so far (every decision counts, second ones too)."""
    stamp = int(session.scalar(_NEWEST) or 0)
    cached = _cache.get(session)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    since, found = 0, {}
    if cached is not None and cached[0] < stamp and cached[0] // FULL_EVERY == stamp // FULL_EVERY:
        # Only the decisions stored since. A decision whose transaction committed after a later one
        # (concurrent reviewers on PostgreSQL) is missed here, so every FULL_EVERY ids the record is
        # read in full again.
        since, found = cached[0], dict(cached[1])
    rows = session.execute(
        select(
            Case.policy,
            Case.scorer,
            func.count(),
            func.sum(case((CaseDecision.outcome == "violation", 1), else_=0)),
        )
        .join(Case, Case.id == CaseDecision.case_id)
        .where(
            CaseDecision.id > since,
            CaseDecision.id <= stamp,
            Case.kind == "review",
            Case.policy.is_not(None),
            Case.scorer.is_not(None),
        )
        .group_by(Case.policy, Case.scorer)
    ).all()
    for policy, scorer, n, upheld in rows:
        key = (str(policy), str(scorer))
        before = found.get(key, Record(0, 0))
        found[key] = Record(before.upheld + int(upheld or 0), before.decided + int(n))
    _cache.put(session, stamp, found)
    return found


def record_for(found: Records, policy: str | None, scorer: str | None) -> Record:
    """The record of one signal (no decisions yet: zero of zero)."""
    if policy is None or scorer is None:
        return Record(0, 0)
    return found.get((policy, scorer), Record(0, 0))
