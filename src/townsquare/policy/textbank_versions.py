"""Text-bank versions in live use: the database decides which version of each bank scores posts.

On a fresh database the banks in `textbanks/` are recorded as live. From then on a new version, whether
sent through the API or quietly added to a file, is recorded as `proposed` and scores nothing until a
second person with policy:publish approves it (`townsquare.policy.publishing`). Every process rebuilds
its scorers from the database's live versions, so an approval made anywhere reaches every worker.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare.access.alerts import raise_alert
from townsquare.detection.textbanks import TextBank, TextBankScorer
from townsquare.errors import Conflict, Invalid, NotFound
from townsquare.eventlog import events
from townsquare.policy.loader import PolicyError, _check_thresholds
from townsquare.policy.models import PolicyVersionRecord
from townsquare.runtime import Runtime

KIND = "textbank"
SYSTEM_ACTOR = "service:townsquare"
_PARSED: dict[str, TextBank] = {}  # content hash -> compiled bank, shared by every runtime in the process
_DIFF_LIMIT = 50


def canonical(bank: TextBank) -> str:
    """The JSON the database stores for a bank version."""
    return json.dumps(bank.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)


def parse(content_hash: str, content: str) -> TextBank:
    """A stored bank version, compiled once per process; refuses content that no longer matches its hash."""
    bank = _PARSED.get(content_hash)
    if bank is None:
        bank = TextBank.from_mapping(json.loads(content), f"stored text bank {content_hash[:12]}")
        if bank.content_hash != content_hash:
            raise Conflict("a stored text bank does not match its recorded hash", {"field": "content_hash"})
        if len(_PARSED) >= 256:
            _PARSED.clear()
        _PARSED[content_hash] = bank
    return bank


def rows(session: Session, policy: str | None = None) -> list[PolicyVersionRecord]:
    """Recorded bank versions (of one policy, or all), by policy and version."""
    query = select(PolicyVersionRecord).where(PolicyVersionRecord.kind == KIND)
    if policy is not None:
        query = query.where(PolicyVersionRecord.area == policy)
    return list(session.scalars(query.order_by(PolicyVersionRecord.area, PolicyVersionRecord.version)))


def record(
    session: Session, bank: TextBank, state: str, *, actor: str, now: datetime, reason: str = ""
) -> PolicyVersionRecord:
    """Record a new bank version in `state` (an event)."""
    row = PolicyVersionRecord(
        kind=KIND,
        area=bank.policy,
        version=bank.version,
        content_hash=bank.content_hash,
        content=canonical(bank),
        state=state,
        recorded_at=now,
        published_at=now if state == "live" else None,
    )
    session.add(row)
    session.flush([row])
    events.record(
        session,
        "textbank.version_recorded",
        actor=actor,
        subject_type=KIND,
        subject_id=f"{bank.policy}@{bank.version}",
        at=now,
        reason=reason,
        versions={KIND: f"{bank.policy}@{bank.version}"},
        payload={"content_hash": bank.content_hash, "state": state},
    )
    return row


def sync(session: Session, rt: Runtime) -> None:
    """Record the runtime's file banks: live on a fresh database, `proposed` when new to a known bank."""
    recorded: dict[str, dict[int, PolicyVersionRecord]] = {}
    for row in rows(session):
        recorded.setdefault(row.area, {})[row.version] = row
    now = rt.now()
    for scorer in list(rt.scorers):
        bank = scorer.bank
        known = recorded.get(bank.policy, {})
        existing = known.get(bank.version)
        if existing is not None:
            if existing.content_hash != bank.content_hash:
                raise Conflict(
                    f"textbank {bank.policy} version {bank.version} changed after it was recorded; "
                    "publish it as a new version",
                    {
                        "field": f"{bank.policy}.version",
                        "recorded": existing.content_hash,
                        "file": bank.content_hash,
                    },
                )
            continue
        held = bool(known)
        record(session, bank, "proposed" if held else "live", actor=SYSTEM_ACTOR, now=now)
        if held:
            _alert_held(session, bank, now)
    session.flush()
    apply_live(session, rt)


def _alert_held(session: Session, bank: TextBank, now: datetime) -> None:
    raise_alert(
        session,
        "textbank_held",
        f"text bank {bank.policy} v{bank.version} appeared in the files; it is held as proposed "
        "and scores nothing until a second person approves it",
        actor=SYSTEM_ACTOR,
        now=now,
        subject=f"{KIND}:{bank.policy}@{bank.version}",
        details={"policy": bank.policy, "version": bank.version, "content_hash": bank.content_hash},
    )


def stale(rt: Runtime, recorded: list[tuple[str, int, str]]) -> bool:
    """Whether the runtime scores with other versions than the live ones in (policy, version, state) rows.

    A bank the database has never recorded (a process that has not synced yet) keeps its file version.
    """
    known = {policy for policy, _, _ in recorded}
    live = {(policy, version) for policy, version, state in recorded if state == "live"}
    return {(s.bank.policy, s.bank.version) for s in rt.scorers if s.bank.policy in known} != live


def apply_live(session: Session, rt: Runtime) -> bool:
    """Rebuild the runtime's scorers from the database's live bank versions; True when they changed."""
    recorded = session.execute(
        select(PolicyVersionRecord.area, PolicyVersionRecord.state, PolicyVersionRecord.content_hash).where(
            PolicyVersionRecord.kind == KIND
        )
    ).all()
    known = {policy for policy, _, _ in recorded}
    live = {policy: digest for policy, state, digest in recorded if state == "live"}
    current = {s.bank.policy: s for s in rt.scorers}
    scorers = []
    for policy in sorted(known | set(current)):
        if policy not in known:
            scorers.append(current[policy])
        elif policy in live:
            mine = current.get(policy)
            same = mine is not None and mine.bank.content_hash == live[policy]
            scorers.append(mine if same and mine else TextBankScorer(_load(session, live[policy])))
    if [id(s) for s in scorers] == [id(s) for s in rt.scorers]:
        return False
    rt.scorers = scorers
    return True


def _load(session: Session, digest: str) -> TextBank:
    if digest in _PARSED:
        return _PARSED[digest]
    content = session.scalar(
        select(PolicyVersionRecord.content)
        .where(PolicyVersionRecord.kind == KIND, PolicyVersionRecord.content_hash == digest)
        .limit(1)
    )
    if content is None:
        raise NotFound("a live text bank has no stored content", {"field": "content_hash"})
    return parse(digest, content)


def check_thresholds(rt: Runtime, bank: TextBank) -> None:
    """Refuse a bank whose auto_threshold would make a non-retired policy act laxer than validated."""
    validated = {**rt.scorer_thresholds(), bank.scorer_name: bank.auto_threshold}
    for area in rt.policies.areas():
        for spec in rt.policies.versions(area):
            if spec.state == "retired" or bank.scorer_name not in spec.scorers:
                continue
            try:
                _check_thresholds(Path(f"policies/{area}.yaml"), spec.policy, validated)
            except PolicyError as exc:
                raise Invalid(
                    f"auto_threshold {bank.auto_threshold} conflicts with a policy: {exc}",
                    {"field": "bank.auto_threshold"},
                ) from exc


def get_row(session: Session, policy: str, version: int) -> PolicyVersionRecord:
    """One recorded bank version, or NotFound."""
    found = next((r for r in rows(session, policy) if r.version == version), None)
    if found is None:
        raise NotFound(f"text bank {policy} has no version {version}", {"field": "version"})
    return found


def live_row(session: Session, policy: str) -> PolicyVersionRecord | None:
    """The live version of a bank, if any."""
    return next((r for r in rows(session, policy) if r.state == "live"), None)


def _items(bank: TextBank) -> dict[str, set[str]]:
    return {
        "terms": {f"{t.term} ({t.weight:g})" for t in bank.terms},
        "patterns": {f"{p.pattern} ({p.weight:g})" for p in bank.patterns},
        "allow": set(bank.allow),
        "define": {f"{k}={v}" for k, v in bank.define.items()},
    }


def diff(old: TextBank | None, new: TextBank) -> dict[str, Any]:
    """What a new version adds and removes against the live one, for the approver to read."""
    before = _items(old) if old else {k: set() for k in _items(new)}
    after = _items(new)
    out: dict[str, Any] = {"from_version": old.version if old else None, "to_version": new.version}
    for key in after:
        out[f"{key}_added"] = sorted(after[key] - before[key])[:_DIFF_LIMIT]
        out[f"{key}_removed"] = sorted(before[key] - after[key])[:_DIFF_LIMIT]
    if old is None or old.auto_threshold != new.auto_threshold:
        out["auto_threshold"] = {"from": old.auto_threshold if old else None, "to": new.auto_threshold}
    return out


def make_live(
    session: Session,
    rt: Runtime,
    policy: str,
    version: int,
    *,
    actor: str,
    reason: str,
    approval: dict[str, Any],
) -> PolicyVersionRecord:
    """Put a proposed bank version live (the previous live one retires) and rebuild the scorers."""
    row = get_row(session, policy, version)
    if row.state != "proposed":
        raise Conflict(f"text bank {policy} v{version} is {row.state}, not proposed", {"field": "version"})
    bank = parse(row.content_hash, row.content)
    check_thresholds(rt, bank)
    previous = live_row(session, policy)
    now = rt.now()
    if previous is not None:
        previous.state = "retired"
    row.state, row.published_at = "live", now
    session.flush()
    events.record(
        session,
        "textbank.published",
        actor=actor,
        subject_type=KIND,
        subject_id=f"{policy}@{version}",
        at=now,
        reason=reason,
        versions={KIND: f"{policy}@{version}"},
        payload={
            "from": "proposed",
            "to": "live",
            "retired": previous.version if previous else None,
            "content_hash": row.content_hash,
            **approval,
        },
    )
    apply_live(session, rt)
    return row


def list_view(session: Session, rt: Runtime) -> list[dict[str, Any]]:
    """Every recorded bank version, its state, and whether this process scores with it."""
    in_use = {(s.bank.policy, s.bank.version) for s in rt.scorers}
    return [
        {
            "policy": r.area,
            "version": r.version,
            "state": r.state,
            "content_hash": r.content_hash,
            "recorded_at": events.iso(r.recorded_at),
            "published_at": events.iso(r.published_at) if r.published_at else None,
            "in_use": (r.area, r.version) in in_use,
        }
        for r in rows(session)
    ]
