"""Policy and text-bank versions in the database: record them immutably, publish state changes, backtest."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from townsquare import events
from townsquare.content.models import Post
from townsquare.detection.textbanks import TextBankScorer
from townsquare.enforcement.models import Strike
from townsquare.enforcement.service import current_standing
from townsquare.errors import Conflict, Invalid, NotFound
from townsquare.events import Event
from townsquare.flows import score
from townsquare.policy.engine import DecisionContext, evaluate
from townsquare.policy.loader import Mode
from townsquare.policy.models import PolicyVersionRecord
from townsquare.runtime import Runtime

STATES = ("draft", "shadow", "live", "retired")
SYSTEM_ACTOR = "service:townsquare"


def _record(
    session: Session, rt: Runtime, kind: str, area: str, version: int, digest: str, content: str, state: str
) -> bool:
    existing = session.scalar(
        select(PolicyVersionRecord).where(
            PolicyVersionRecord.kind == kind,
            PolicyVersionRecord.area == area,
            PolicyVersionRecord.version == version,
        )
    )
    if existing is not None:
        if existing.content_hash != digest:
            raise Conflict(
                f"{kind} {area} version {version} changed after it was recorded; publish it as a new version",
                {"field": f"{area}.versions.{version}", "recorded": existing.content_hash, "file": digest},
            )
        return False
    now = rt.now()
    session.add(
        PolicyVersionRecord(
            kind=kind,
            area=area,
            version=version,
            content_hash=digest,
            content=content,
            state=state,
            recorded_at=now,
            published_at=now if state in ("live", "shadow") else None,
        )
    )
    events.record(
        session,
        f"{kind}.version_recorded",
        actor=SYSTEM_ACTOR,
        subject_type=kind,
        subject_id=f"{area}@{version}",
        at=now,
        versions={kind: f"{area}@{version}"},
        payload={"content_hash": digest, "state": state},
    )
    return True


def _supersede(session: Session, rt: Runtime, area: str, version: int, state: str) -> None:
    """A version first recorded as live (or shadow) retires the area's recorded one in that state."""
    session.flush()
    others = session.scalars(
        select(PolicyVersionRecord).where(
            PolicyVersionRecord.kind == "policy",
            PolicyVersionRecord.area == area,
            PolicyVersionRecord.state == state,
            PolicyVersionRecord.version != version,
        )
    ).all()
    if not others:
        return
    for other in others:
        other.state = "retired"
    events.record(
        session,
        "policy.published",
        actor=SYSTEM_ACTOR,
        subject_type="policy",
        subject_id=f"{area}@{version}",
        at=rt.now(),
        reason=f"new version recorded from the policy file as {state}",
        versions={"policy": f"{area}@{version}"},
        payload={"from": None, "to": state, "retired": sorted(o.version for o in others)},
    )


def _bank_content(scorer: TextBankScorer) -> tuple[str, str]:
    bank = scorer.bank
    return bank.content_hash, json.dumps(bank.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)


def sync_versions(session: Session, rt: Runtime) -> None:
    """Record every policy and text-bank version found in files; apply the database's states to the runtime.

    A recorded version whose content changed is refused: versions are immutable, edits are new versions.
    """
    for area in rt.policies.areas():
        for spec in rt.policies.versions(area):
            new = _record(
                session, rt, "policy", area, spec.version, spec.content_hash, spec.content, spec.state
            )
            if new and spec.state in ("live", "shadow"):
                _supersede(session, rt, area, spec.version, spec.state)
    for scorer in rt.scorers:
        digest, content = _bank_content(scorer)
        _record(session, rt, "textbank", scorer.bank.policy, scorer.bank.version, digest, content, "live")
    session.flush()
    rt.policies = rt.policies.with_states(_db_states(session))
    record_policy_set(session, rt, SYSTEM_ACTOR)


def record_policy_set(session: Session, rt: Runtime, actor: str) -> None:
    """Record the versions in force (live and shadow) under their digest, once per distinct set."""
    modes: tuple[Mode, ...] = ("live", "shadow")
    for mode in modes:
        digest = rt.policies.digest(mode)
        seen = session.scalar(
            select(Event.id).where(Event.type == "policy.set_active", Event.subject_id == digest).limit(1)
        )
        if seen is None and not any(
            d.type == "policy.set_active" and d.subject_id == digest for d in events.pending(session)
        ):
            specs = rt.policies.active(mode)
            events.record(
                session,
                "policy.set_active",
                actor=actor,
                subject_type="policyset",
                subject_id=digest,
                at=rt.now(),
                versions={s.area: s.version for s in specs},
                payload={"mode": mode, "content_hashes": {s.area: s.content_hash for s in specs}},
            )


def _db_states(session: Session) -> dict[tuple[str, int], Any]:
    rows = session.execute(
        select(PolicyVersionRecord.area, PolicyVersionRecord.version, PolicyVersionRecord.state).where(
            PolicyVersionRecord.kind == "policy"
        )
    )
    return {(area, version): state for area, version, state in rows}


def refresh_states(session: Session, rt: Runtime) -> bool:
    """Apply states published by another process (the CLI, another worker); True when any changed."""
    states = _db_states(session)
    policies = rt.policies
    current = {(a, s.version): s.state for a in policies.areas() for s in policies.versions(a)}
    if all(current.get(key) == state for key, state in states.items()):
        return False
    rt.policies = policies.with_states(states)
    return True


def list_versions(session: Session) -> list[dict[str, Any]]:
    """Every recorded policy version with its state."""
    rows = session.scalars(
        select(PolicyVersionRecord)
        .where(PolicyVersionRecord.kind == "policy")
        .order_by(PolicyVersionRecord.area, PolicyVersionRecord.version)
    )
    return [
        {
            "area": r.area,
            "version": r.version,
            "state": r.state,
            "content_hash": r.content_hash,
            "published_at": events.iso(r.published_at) if r.published_at else None,
        }
        for r in rows
    ]


def publish(
    session: Session, rt: Runtime, area: str, version: int, state: str, *, actor: str, reason: str
) -> None:
    """Move a version to a new state; the previous live (or shadow) version of the area is retired."""
    if state not in STATES:
        raise Invalid(f"state must be one of {', '.join(STATES)}", {"field": "state"})
    rows = list(
        session.scalars(
            select(PolicyVersionRecord).where(
                PolicyVersionRecord.kind == "policy", PolicyVersionRecord.area == area
            )
        )
    )
    target = next((r for r in rows if r.version == version), None)
    if target is None:
        raise NotFound(f"policy {area} has no version {version}", {"field": "version"})
    if target.state == "retired" and state != "retired":
        raise Conflict("a retired version cannot be brought back; publish a new version", {"field": "state"})
    previous = target.state
    now = rt.now()
    if state in ("live", "shadow"):
        for other in rows:
            if other is not target and other.state == state:
                other.state = "retired"
        target.published_at = now
    target.state = state
    session.flush()
    rt.policies = rt.policies.with_states(_db_states(session))
    events.record(
        session,
        "policy.published",
        actor=actor,
        subject_type="policy",
        subject_id=f"{area}@{version}",
        at=now,
        reason=reason,
        versions={"policy": f"{area}@{version}"},
        payload={"from": previous, "to": state, "content_hash": target.content_hash},
    )
    record_policy_set(session, rt, actor)


@dataclass
class Backtest:
    """What a policy version would change against live, over stored posts."""

    area: str
    version: int
    posts: int = 0
    live: Counter[str] = field(default_factory=Counter)
    candidate: Counter[str] = field(default_factory=Counter)
    changed: int = 0
    samples: list[dict[str, Any]] = field(default_factory=list)


def _label(outcome: str, action: str | None, proposed: str | None) -> str:
    if outcome == "action":
        return action or "action"
    if outcome == "review":
        return f"review:{proposed}" if proposed else "review"
    return "no_violation"


def _area_strikes(session: Session, area: str, now: datetime) -> dict[int, int]:
    """Active strikes in `area` per account (one query for the whole replay)."""
    rows = session.execute(
        select(Strike.account_id, func.count())
        .where(Strike.policy == area, Strike.expires_at > now, Strike.removed_at.is_(None))
        .group_by(Strike.account_id)
    )
    return {account_id: int(count) for account_id, count in rows}


def _replay_context(
    post: Post, area: str, strikes: dict[int, int], now: datetime, election: bool
) -> DecisionContext:
    """The context a post would be decided in now: its author's strikes and standing, reach, elections."""
    return DecisionContext(
        now=now,
        author_active_strikes={area: strikes.get(post.author_id, 0)},
        author_standing=current_standing(post.author, now),
        author_protected=post.author.protected,
        author_followers=post.author.follower_count,
        views=post.views,
        election_period=election,
        language=post.language,
    )


def backtest(session: Session, rt: Runtime, area: str, version: int, *, samples: int = 10) -> Backtest:
    """Replay stored posts (current text) through `version` of `area` and compare with the live version."""
    try:
        candidate_spec = rt.policies.version(area, version)
    except KeyError as exc:
        raise NotFound(f"policy {area} has no version {version}", {"field": "version"}) from exc
    live_spec = rt.policies.live(area)
    result = Backtest(area=area, version=version)
    now = rt.now()
    strikes, election = _area_strikes(session, area, now), bool(rt.calendar.active(now.date()))
    query = select(Post).where(Post.status != "deleted").order_by(Post.id)
    for post in session.scalars(query.options(joinedload(Post.author))).yield_per(500):
        signals = score(rt, post.text)
        ctx = _replay_context(post, area, strikes, now, election)
        live = evaluate(live_spec, signals, ctx) if live_spec else None
        cand = evaluate(candidate_spec, signals, ctx)
        a = _label(live.outcome, live.action, live.proposed_action) if live else "no_violation"
        b = _label(cand.outcome, cand.action, cand.proposed_action)
        result.posts += 1
        result.live[a] += 1
        result.candidate[b] += 1
        if a != b:
            result.changed += 1
            if len(result.samples) < samples:
                result.samples.append(
                    {"post": post.platform_id, "live": a, "candidate": b, "text": post.text[:140]}
                )
    return result
