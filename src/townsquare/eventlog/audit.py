"""Signed checkpoints of the event chain and `audit verify`, which re-derives every hash."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from townsquare.eventlog.events import (
    CHAIN_GENESIS,
    ChainLink,
    Checkpoint,
    Event,
    EventBatch,
    chain_hash,
    head,
    iso,
    leaf_hash,
    merkle_root,
)


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """The checkpoint signing key, created (mode 0600) on first use."""
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} is not an Ed25519 private key")
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    return key


def _public_hex(key: Ed25519PublicKey) -> str:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def _message(seq: int, chain: str, signed_at: str) -> bytes:
    return f"townsquare-checkpoint-v1|{seq}|{chain}|{signed_at}".encode()


CHECKPOINT_FIELDS = ("seq", "chain_hash", "signed_at", "public_key", "signature")


def write_checkpoint(session: Session, key: Ed25519PrivateKey, now: datetime) -> dict[str, Any]:
    """Sign the current chain head and store it; returns the checkpoint as its log line's fields.

    Publish it with `publish` only after the transaction commits, so the file never names a
    checkpoint the database does not hold.
    """
    seq, chain = head(session)
    signed_at = iso(now)
    cp = Checkpoint(
        seq=seq,
        chain_hash=chain,
        signed_at=signed_at,
        public_key=_public_hex(key.public_key()),
        signature=key.sign(_message(seq, chain, signed_at)).hex(),
    )
    session.add(cp)
    session.flush([cp])
    return {k: getattr(cp, k) for k in CHECKPOINT_FIELDS}


def publish(log_path: Path, checkpoint: dict[str, Any]) -> None:
    """Append a committed checkpoint to the log file outside the database (one JSON line)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(checkpoint, sort_keys=True) + "\n")


@dataclass
class VerifyResult:
    """What `audit verify` found: ok, or the problems in chain order (first is first found).

    `pending` counts batches committed after the last seal of this verification's snapshot: they are
    not on the chain yet, which is not a problem (the next seal links them).
    """

    ok: bool = True
    problems: list[str] = field(default_factory=list)
    batches: int = 0
    events: int = 0
    head_seq: int = 0
    pending: int = 0
    checkpoints: int = 0
    latest_checkpoint: dict[str, Any] | None = None

    def fail(self, message: str) -> None:
        """Record a problem."""
        self.ok = False
        self.problems.append(message)


@dataclass
class _Walk:
    """Where the walk along the chain has got to."""

    tolerance: timedelta
    seq: int = 0
    chain: str = CHAIN_GENESIS
    newest: datetime | None = None  # the newest event time sealed so far (never past its link's sealing)
    complete: bool = True
    backdated: int = 0
    seen: dict[int, str] = field(default_factory=dict)  # seq -> chain_hash, for the checkpoints


MAX_TIME_PROBLEMS = 20  # backdated batches listed one by one; any further are counted
_COLUMNS = ("type", "actor")


def _check_event(ev: Event, expect_idx: int, result: VerifyResult) -> bool:
    where = f"event {ev.id} (batch {ev.batch_id}, position {ev.idx})"
    if ev.idx != expect_idx:
        result.fail(f"{where}: out of order or missing before it (expected position {expect_idx})")
        return False
    if leaf_hash(ev.body) != ev.leaf_hash:
        result.fail(f"{where}: body altered (does not match its leaf hash)")
        return False
    try:
        body = json.loads(ev.body)
    except ValueError:
        result.fail(f"{where}: body is not JSON")
        return False
    subject = body.get("subject", {})
    same = all(getattr(ev, c) == body.get(c) for c in _COLUMNS) and (
        ev.subject_type == subject.get("type") and ev.subject_id == subject.get("id")
    )
    if not same or iso(ev.occurred_at) != body.get("at"):
        result.fail(f"{where}: indexed columns altered (do not match the hashed body)")
        return False
    return True


def _check_chunk(session: Session, links: list[ChainLink], walk: _Walk, result: VerifyResult) -> bool:
    """Check a run of links and move the walk past them; False at the first problem that breaks it."""
    ids = [link.batch_id for link in links]
    batches = {b.id: b for b in session.scalars(select(EventBatch).where(EventBatch.id.in_(ids)))}
    events: dict[int, list[Event]] = {}
    for ev in session.scalars(
        select(Event).where(Event.batch_id.in_(ids)).order_by(Event.batch_id, Event.idx)
    ):
        events.setdefault(ev.batch_id, []).append(ev)
    for link in links:
        where = f"batch {link.batch_id} (chain seq {link.seq})"
        if link.seq != walk.seq + 1:
            result.fail(
                f"chain seq {walk.seq + 1}: missing (next link is seq {link.seq}); a batch was removed"
            )
            return False
        if link.prev_hash != walk.chain:
            result.fail(f"{where}: prev_hash does not match the previous link; links removed or reordered")
            return False
        batch = batches.get(link.batch_id)
        if batch is None:
            result.fail(f"{where}: batch removed")
            return False
        evs = events.get(batch.id, [])
        if not all(_check_event(ev, i, result) for i, ev in enumerate(evs)):
            return False
        if len(evs) != batch.event_count:
            result.fail(
                f"{where}: holds {len(evs)} events, sealed with {batch.event_count}; events removed or added"
            )
            return False
        if merkle_root([ev.leaf_hash for ev in evs]) != batch.merkle_root:
            result.fail(f"{where}: Merkle root does not match its events; events altered or reordered")
            return False
        if (
            chain_hash(link.seq, batch.id, batch.event_count, batch.merkle_root, walk.chain)
            != link.chain_hash
        ):
            result.fail(f"{where}: chain hash does not match; batch summary altered")
            return False
        _check_times(where, link, evs, walk, result)
        walk.seq, walk.chain = link.seq, link.chain_hash
        walk.seen[link.seq] = link.chain_hash
        result.batches += 1
        result.events += len(evs)
    return True


def _check_times(where: str, link: ChainLink, evs: list[Event], walk: _Walk, result: VerifyResult) -> None:
    """Event times may not go backwards along the chain (beyond the tolerance): see docs/architecture.md.

    Every event of a batch must be dated no earlier than the newest event sealed before it, less the
    tolerance (clock skew between writers plus the longest transaction). The newest time carried
    forward is capped at each link's sealing time, so a writer whose clock runs fast cannot make the
    honest batches after it look backdated.
    """
    if not evs:
        return
    oldest = min(evs, key=lambda ev: ev.occurred_at)
    if walk.newest is not None and oldest.occurred_at < walk.newest - walk.tolerance:
        walk.backdated += 1
        if walk.backdated <= MAX_TIME_PROBLEMS:
            behind = (walk.newest - oldest.occurred_at).total_seconds()
            result.fail(
                f"{where}: event {oldest.id} is dated {iso(oldest.occurred_at)}, {behind:.0f} s before an"
                f" event sealed earlier on the chain ({iso(walk.newest)}); backdated beyond the"
                f" {walk.tolerance.total_seconds():.0f} s tolerance"
            )
    newest = min(max(ev.occurred_at for ev in evs), link.sealed_at)
    walk.newest = newest if walk.newest is None else max(walk.newest, newest)


def _walk_chain(session: Session, walk: _Walk, result: VerifyResult) -> None:
    """Walk every link in seq order; stops at the first problem that breaks the chain."""
    last = 0
    while links := list(
        session.scalars(select(ChainLink).where(ChainLink.seq > last).order_by(ChainLink.seq).limit(500))
    ):
        if not _check_chunk(session, links, walk, result):
            walk.complete = False
            break
        last = links[-1].seq
    result.head_seq = walk.seq
    if walk.backdated > MAX_TIME_PROBLEMS:
        result.fail(f"{walk.backdated - MAX_TIME_PROBLEMS} more backdated batch(es)")


def _check_unlinked(session: Session, result: VerifyResult) -> None:
    """Batches not yet sealed are pending (not a problem); events outside any batch are."""
    result.pending = int(
        session.scalar(
            select(func.count(EventBatch.id))
            .outerjoin(ChainLink, ChainLink.batch_id == EventBatch.id)
            .where(ChainLink.seq.is_(None))
        )
        or 0
    )
    orphans = session.scalar(
        select(func.count(Event.id))
        .outerjoin(EventBatch, EventBatch.id == Event.batch_id)
        .where(EventBatch.id.is_(None))
    )
    if orphans:
        result.fail(f"{orphans} event(s) belong to no batch")


def _read_log(log_path: Path | None, result: VerifyResult) -> list[dict[str, Any]]:
    if log_path is None or not log_path.exists():
        return []
    out = []
    for n, line in enumerate(log_path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            cp = json.loads(line)
            out.append({k: cp[k] for k in CHECKPOINT_FIELDS})
        except (ValueError, KeyError, TypeError):
            result.fail(f"checkpoint log line {n} is not a checkpoint; the log file was altered")
    return out


def _load_checkpoints(session: Session, log_path: Path | None, result: VerifyResult) -> list[dict[str, Any]]:
    """The checkpoints in the database and in the log file; a line the database lacks is a problem."""
    stored = [
        {k: getattr(c, k) for k in CHECKPOINT_FIELDS}
        for c in session.scalars(select(Checkpoint).order_by(Checkpoint.id))
    ]
    known = {(c["seq"], c["signature"]) for c in stored}
    for cp in _read_log(log_path, result):
        if (cp["seq"], cp["signature"]) not in known:
            result.fail(
                f"checkpoint at seq {cp['seq']} ({cp['signed_at']}) is in the log file but not the database"
            )
            stored.append(cp)
    return stored


def _check_checkpoints(
    checkpoints: list[dict[str, Any]], walk: _Walk, public: Ed25519PublicKey | None, result: VerifyResult
) -> None:
    for cp in sorted(checkpoints, key=lambda c: int(c["seq"])):
        result.checkpoints += 1
        result.latest_checkpoint = cp
        key = public or Ed25519PublicKey.from_public_bytes(bytes.fromhex(cp["public_key"]))
        try:
            key.verify(
                bytes.fromhex(cp["signature"]), _message(int(cp["seq"]), cp["chain_hash"], cp["signed_at"])
            )
        except (InvalidSignature, ValueError):
            result.fail(f"checkpoint at seq {cp['seq']}: signature invalid (forged or signed by another key)")
            continue
        if int(cp["seq"]) == 0:
            continue
        actual = walk.seen.get(int(cp["seq"]))
        if actual is None and walk.complete:
            result.fail(
                f"checkpoint at seq {cp['seq']}: chain ends at seq {result.head_seq}; the tail was removed"
            )
        elif actual is not None and actual != cp["chain_hash"]:
            result.fail(
                f"checkpoint at seq {cp['seq']}: chain hash differs from the signed one; history rewritten"
            )


def verify(
    session: Session,
    *,
    public_key: Ed25519PublicKey | None = None,
    log_path: Path | None = None,
    tolerance_s: float = 300.0,
    release: Callable[[], None] | None = None,
    result: VerifyResult | None = None,
) -> VerifyResult:
    """Re-derive every leaf, root and link, check event times and every signed checkpoint.

    `session` is a snapshot (`chain_lock.snapshot`). Its first query, and the read of the checkpoint
    log file, happen while the caller holds the chain lock, so the file and the database agree;
    `release` is then called and the long walk runs without the lock.
    """
    result = result if result is not None else VerifyResult()  # given: its counts show progress
    checkpoints = _load_checkpoints(session, log_path, result)
    if release is not None:
        release()
    walk = _Walk(tolerance=timedelta(seconds=tolerance_s))
    _walk_chain(session, walk, result)
    if walk.complete:
        _check_unlinked(session, result)
    _check_checkpoints(checkpoints, walk, public_key, result)
    return result
