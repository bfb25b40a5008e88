"""Policy and text-bank versions in the database: record them immutably, publish state changes, backtest."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from townsquare.access.alerts import raise_alert
from townsquare.content.models import Post
from townsquare.detection.base import Signal
from townsquare.enforcement.models import Strike
from townsquare.enforcement.service import current_standing
from townsquare.errors import Conflict, Invalid, NotFound
from townsquare.eventlog import events
from townsquare.eventlog.events import Event
from townsquare.policy import textbank_versions
from townsquare.policy.engine import DecisionContext, evaluate
from townsquare.policy.loader import Mode
from townsquare.policy.models import PolicyVersionRecord
from townsquare.runtime import Runtime

STATES = ("draft", "shadow", "live", "retired")
SYSTEM_ACTOR = "service:townsquare"


def _record(
    session: Session, rt: Runtime, kind: str, area: str, version: int, digest: str, content: str, state: str
) -> bool:
    """Record a version found in files (True when new); a recorded version must not have changed."""
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


def _hold(session: Session, rt: Runtime, area: str, version: int, file_state: str) -> None:
    """A new version that a file declares live or shadow, on a database that knows the area, waits as draft.

    Editing a file is not publishing: the two-person rule applies to policy versions however they arrive.
    """
    now = rt.now()
    events.record(
        session,
        "policy.version_held",
        actor=SYSTEM_ACTOR,
        subject_type="policy",
        subject_id=f"{area}@{version}",
        at=now,
        reason=f"the policy file declares it {file_state}; publishing needs a second person",
        versions={"policy": f"{area}@{version}"},
        payload={"file_state": file_state, "state": "draft"},
    )
    raise_alert(
        session,
        "policy_held",
        f"policy {area} v{version} appeared in the files as {file_state}; it is held as draft "
        "until it is published with a second person's approval",
        actor=SYSTEM_ACTOR,
        now=now,
        subject=f"policy:{area}@{version}",
        details={"area": area, "version": version, "file_state": file_state},
    )


def sync_versions(session: Session, rt: Runtime) -> None:
    """Record every policy and text-bank version found in files; apply the database's states to the runtime.

    A recorded version whose content changed is refused: versions are immutable, edits are new versions.
    On a database that already knows an area (or bank), a new version never goes live by itself: a policy
    version is held as draft and a bank version as proposed, until published with a second person.
    """
    known = set(
        session.scalars(
            select(PolicyVersionRecord.area).where(PolicyVersionRecord.kind == "policy").distinct()
        )
    )
    for area in rt.policies.areas():
        for spec in rt.policies.versions(area):
            held = area in known and spec.state in ("live", "shadow")
            state = "draft" if held else spec.state
            new = _record(session, rt, "policy", area, spec.version, spec.content_hash, spec.content, state)
            if new and held:
                _hold(session, rt, area, spec.version, spec.state)
    textbank_versions.sync(session, rt)
    session.flush()
    rt.policies = rt.policies.with_states(_db_states(session))
    record_policy_set(session, rt, SYSTEM_ACTOR)
    record_model_set(session, rt)
    from townsquare.elections import hooks as elections

    elections.startup(session, rt)  # elections.yaml's new elections; the election mode now


def record_model_set(session: Session, rt: Runtime) -> None:
    """Record the detection model versions in use; a change from the last recorded set alerts auditors.

    Model artifacts arrive as files deployed by an operator, who can already act as anyone on the
    server; what the tools can do is make every change visible: the versions (with checksums) are an
    event, and a replacement of models that were in use raises an auditor alert.
    """
    if rt.classifier is None:
        return
    versions = rt.classifier.versions()
    digest = hashlib.sha256(events.canonical_json(versions).encode()).hexdigest()[:16]
    last = session.scalar(
        select(Event).where(Event.type == "models.set_active").order_by(Event.id.desc()).limit(1)
    )
    if last is not None and last.subject_id == digest:
        return
    if any(d.type == "models.set_active" and d.subject_id == digest for d in events.pending(session)):
        return
    now = rt.now()
    events.record(
        session,
        "models.set_active",
        actor=SYSTEM_ACTOR,
        subject_type="modelset",
        subject_id=digest,
        at=now,
        versions=versions,
        payload={"models_dir": str(rt.settings.models_dir), "previous": last.subject_id if last else None},
    )
    if last is not None:
        raise_alert(
            session,
            "models_changed",
            "the detection model versions in use changed; check that the new artifacts were reviewed",
            actor=SYSTEM_ACTOR,
            now=now,
            subject=f"modelset:{digest}",
            details={"versions": versions, "previous": last.subject_id},
        )


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


def apply_states(session: Session, rt: Runtime) -> bool:
    """Apply policy states and live text banks changed by another process; True when any changed."""
    rows = session.execute(
        select(
            PolicyVersionRecord.kind,
            PolicyVersionRecord.area,
            PolicyVersionRecord.version,
            PolicyVersionRecord.state,
        )
    ).all()
    states = {(area, version): state for kind, area, version, state in rows if kind == "policy"}
    banks = [(area, version, state) for kind, area, version, state in rows if kind == "textbank"]
    changed = False
    if textbank_versions.stale(rt, banks):
        changed = textbank_versions.apply_live(session, rt)
    policies = rt.policies
    current = {(a, s.version): s.state for a in policies.areas() for s in policies.versions(a)}
    if any(current.get(key) != state for key, state in states.items()):
        rt.policies = policies.with_states(states)
        changed = True
    return changed


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


def check_publish(session: Session, area: str, version: int, state: str) -> PolicyVersionRecord:
    """The version to move, or the error publishing it would meet (so a request can be refused at once)."""
    if state not in STATES:
        raise Invalid(f"state must be one of {', '.join(STATES)}", {"field": "state"})
    target = session.scalar(
        select(PolicyVersionRecord).where(
            PolicyVersionRecord.kind == "policy",
            PolicyVersionRecord.area == area,
            PolicyVersionRecord.version == version,
        )
    )
    if target is None:
        raise NotFound(f"policy {area} has no version {version}", {"field": "version"})
    if target.state == "retired" and state != "retired":
        raise Conflict("a retired version cannot be brought back; publish a new version", {"field": "state"})
    if target.state == state:
        raise Conflict(f"policy {area} v{version} is already {state}", {"field": "state"})
    return target


def publish(
    session: Session,
    rt: Runtime,
    area: str,
    version: int,
    state: str,
    *,
    actor: str,
    reason: str,
    approval: dict[str, Any] | None = None,
) -> None:
    """Move a version to a new state; the previous live (or shadow) version of the area is retired.

    Callers outside tests go through the two-person rule (`townsquare.policy.publishing`), which passes
    the approval's id and approver to be recorded in the event.
    """
    target = check_publish(session, area, version, state)
    rows = session.scalars(
        select(PolicyVersionRecord).where(
            PolicyVersionRecord.kind == "policy", PolicyVersionRecord.area == area
        )
    ).all()
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
        payload={"from": previous, "to": state, "content_hash": target.content_hash, **(approval or {})},
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


def backtest(
    session: Session,
    rt: Runtime,
    area: str,
    version: int,
    score: Callable[[Runtime, str], list[Signal]],
    *,
    samples: int = 10,
) -> Backtest:
    """Replay stored posts (current text, scored by `score`) through `version` of `area` against live."""
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
