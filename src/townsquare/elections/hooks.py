"""The decision path's doors into election integrity and campaign detection (one call per place).

- `startup` (policy sync at process start): record the elections of elections.yaml, apply the mode.
- `refresh` (every request that decides): apply elections, race calls and claim-library versions changed
  by any process, and record switches into and out of the election mode.
- `add_signals` (`pipeline.score.detect`): the election scorers' signals for a batch of texts.
- `after_batch` / `after_post` (`pipeline.route`, batch and single post): election signals and
  authoritative-information labels of the stored posts, and the posts fed to the campaign detector.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from townsquare.detection.base import Signal
from townsquare.elections import claims_library, detect, mode
from townsquare.elections.models import ElectionSignal
from townsquare.eventlog import events
from townsquare.runtime import Runtime

ACTOR = "service:elections"
EMERGING_FLOOR = 0.5  # misinformation-model probability from which an unmatched election post is clustered


@dataclass
class Stored:
    """A post just stored and decided, as the integrity checks need it."""

    post_id: int
    platform_id: str
    version: int
    text: str
    author_id: int
    author_created_at: datetime
    followers: int
    created_at: datetime
    reply_to: str | None
    quote_of: str | None
    signals: Sequence[Signal]
    policy: str | None  # the live decision's primary area, if not no_violation


def startup(session: Session, rt: Runtime) -> None:
    """Record the file's new elections and apply the election mode (process start)."""
    from townsquare.elections.service import seed_from_file

    seed_from_file(session, rt)
    refresh(session, rt)


def refresh(session: Session, rt: Runtime) -> None:
    """Apply what other processes changed: elections, mode switches, the claim library."""
    st = mode.refresh(session, rt)
    claims_library.apply(session, rt, st.library_version)


def add_signals(rt: Runtime, texts: Sequence[str], found: Sequence[Any]) -> None:
    """Extend each detection's signals with the election scorers' (a no-op outside election mode)."""
    active = mode.cached_active(rt)
    if not active:
        return
    now = rt.now()
    for text, det in zip(texts, found, strict=True):
        det.signals.extend(detect.score(text, active, now).signals)


def after_batch(session: Session, rt: Runtime, items: Sequence[Any], post_ids: Sequence[int]) -> None:
    """The batch writer's posts (`pipeline.ingest.NewPost` with their plans), stored under `post_ids`."""
    stored = [
        Stored(
            pid,
            i.data.platform_id,
            1,
            i.data.text,
            i.author.id,
            i.author.created_at,
            i.author.follower_count,
            i.data.created_at,
            i.data.reply_to,
            i.data.quote_of,
            i.plan.signals if i.plan else (),
            _policy(i.plan),
        )
        for i, pid in zip(items, post_ids, strict=True)
    ]
    _after(session, rt, stored)


def after_post(session: Session, rt: Runtime, post: Any, plan: Any) -> None:
    """One post decided through `pipeline.decide.decide_post` (ingest, edit, report, re-score)."""
    a = post.author
    _after(
        session,
        rt,
        [
            Stored(
                post.id,
                post.platform_id,
                post.version,
                post.text,
                a.id,
                a.created_at,
                a.follower_count,
                post.created_at,
                post.reply_to_ref,
                post.quote_of_ref,
                plan.signals,
                _policy(plan),
            )
        ],
    )


def _policy(plan: Any) -> str | None:
    if plan is None or plan.live.primary is None or plan.live.outcome == "no_violation":
        return None
    return str(plan.live.primary.area)


def _after(session: Session, rt: Runtime, stored: list[Stored]) -> None:
    from townsquare.campaigns import service as campaigns

    active = mode.cached_active(rt)
    if active:
        record_signals(session, rt, stored, active)
    campaigns.observe(session, rt, stored)


def record_signals(
    session: Session, rt: Runtime, stored: list[Stored], active: list[mode.ElectionInfo]
) -> None:
    """War-room rows for posts carrying election signals, and labels on posts about voting."""
    now = rt.now()
    rows: list[dict[str, Any]] = []
    for s in stored:
        found = detect.score(s.text, active, now)
        election = found.elections[0] if found.elections else None
        base = {
            "post_id": s.post_id,
            "post_version": s.version,
            "election_id": election.id if election else None,
            "jurisdiction": election.jurisdiction if election else None,
            "created_at": now,
        }
        topical = bool(found.elections) or s.policy == "election_misinformation"
        rows += _signal_rows(base, s.signals, s.policy, topical)
        if found.voting_info and election is not None:
            rows.append(
                {
                    **base,
                    "kind": "voting_info",
                    "claim_id": None,
                    "score": 1.0,
                    "label_url": election.voting_info_url,
                }
            )
            events.record(
                session,
                "post.info_labelled",
                actor=ACTOR,
                subject_type="post",
                subject_id=s.platform_id,
                at=now,
                reason="about how, when or where to vote during an election",
                payload={
                    "label": "voting-information",
                    "election": election.slug,
                    "url": election.voting_info_url,
                    "post_version": s.version,
                },
            )
    if rows:
        session.add_all(ElectionSignal(**{"label_url": None, "claim_id": None, **r}) for r in rows)


def _signal_rows(
    base: dict[str, Any], signals: Sequence[Signal], policy: str | None, topical: bool
) -> list[dict[str, Any]]:
    rows = []
    claimed = False
    for sig in signals:
        if sig.scorer == "claims.election":
            claimed = True
            claim = sig.evidence[0].get("match") if sig.evidence else None
            rows.append({**base, "kind": "claim", "claim_id": claim, "score": sig.score})
        elif sig.scorer in (detect.VICTORY, detect.INTIMIDATION):
            rows.append({**base, "kind": sig.scorer.split(".")[1], "score": sig.score})
    # For discovery (not enforcement) the bar is lower than the model's flag: a post in the model's
    # uncertain band that is about an election is worth clustering with others like it.
    flagged = policy == "election_misinformation" or any(
        s.scorer == "model.misinformation" and s.score >= EMERGING_FLOOR for s in signals
    )
    if flagged and topical and not claimed and not rows:
        best = max((s.score for s in signals if s.label), default=0.0)
        rows.append({**base, "kind": "unmatched", "score": best})
    return rows
