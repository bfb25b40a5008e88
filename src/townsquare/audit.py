"""Signed checkpoints of the event chain and `audit verify`, which re-derives every hash."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from townsquare.events import (
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


def write_checkpoint(session: Session, key: Ed25519PrivateKey, log_path: Path, now: datetime) -> Checkpoint:
    """Sign the current chain head; stored in the database and appended to a file outside it."""
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
    log_path.parent.mkdir(parents=True, exist_ok=True)
    line = {k: getattr(cp, k) for k in ("seq", "chain_hash", "signed_at", "public_key", "signature")}
    with log_path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(line, sort_keys=True) + "\n")
    return cp


@dataclass
class VerifyResult:
    """What `audit verify` found: ok, or the problems in chain order (first is first found)."""

    ok: bool = True
    problems: list[str] = field(default_factory=list)
    batches: int = 0
    events: int = 0
    head_seq: int = 0
    checkpoints: int = 0
    latest_checkpoint: dict[str, Any] | None = None

    def fail(self, message: str) -> None:
        """Record a problem."""
        self.ok = False
        self.problems.append(message)


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


def _links(session: Session, chunk: int = 500) -> Iterator[list[ChainLink]]:
    last = 0
    while True:
        rows = list(
            session.scalars(
                select(ChainLink).where(ChainLink.seq > last).order_by(ChainLink.seq).limit(chunk)
            )
        )
        if not rows:
            return
        yield rows
        last = rows[-1].seq


def _check_chunk(
    session: Session, links: list[ChainLink], prev: tuple[int, str], result: VerifyResult
) -> tuple[int, str] | None:
    """Check a run of links; returns the new (seq, chain_hash), or None at the first problem."""
    ids = [link.batch_id for link in links]
    batches = {b.id: b for b in session.scalars(select(EventBatch).where(EventBatch.id.in_(ids)))}
    events: dict[int, list[Event]] = {}
    for ev in session.scalars(
        select(Event).where(Event.batch_id.in_(ids)).order_by(Event.batch_id, Event.idx)
    ):
        events.setdefault(ev.batch_id, []).append(ev)
    seq, chain = prev
    for link in links:
        where = f"batch {link.batch_id} (chain seq {link.seq})"
        if link.seq != seq + 1:
            result.fail(f"chain seq {seq + 1}: missing (next link is seq {link.seq}); a batch was removed")
            return None
        if link.prev_hash != chain:
            result.fail(f"{where}: prev_hash does not match the previous link; links removed or reordered")
            return None
        batch = batches.get(link.batch_id)
        if batch is None:
            result.fail(f"{where}: batch removed")
            return None
        evs = events.get(batch.id, [])
        for i, ev in enumerate(evs):
            if not _check_event(ev, i, result):
                return None
        if len(evs) != batch.event_count:
            result.fail(
                f"{where}: holds {len(evs)} events, sealed with {batch.event_count}; events removed or added"
            )
            return None
        if merkle_root([ev.leaf_hash for ev in evs]) != batch.merkle_root:
            result.fail(f"{where}: Merkle root does not match its events; events altered or reordered")
            return None
        if chain_hash(link.seq, batch.id, batch.event_count, batch.merkle_root, chain) != link.chain_hash:
            result.fail(f"{where}: chain hash does not match; batch summary altered")
            return None
        seq, chain = link.seq, link.chain_hash
        result.batches += 1
        result.events += len(evs)
    result.head_seq = seq
    return seq, chain


def _walk_chain(session: Session, result: VerifyResult) -> dict[int, str]:
    """Walk every link in order; returns seq -> chain_hash for checkpoint comparison."""
    seen: dict[int, str] = {}
    prev = (0, CHAIN_GENESIS)
    for links in _links(session):
        nxt = _check_chunk(session, links, prev, result)
        if nxt is None:
            break
        seen.update((link.seq, link.chain_hash) for link in links)
        prev = nxt
    return seen


def _check_orphans(session: Session, result: VerifyResult) -> None:
    unlinked = session.scalar(
        select(func.count(EventBatch.id))
        .outerjoin(ChainLink, ChainLink.batch_id == EventBatch.id)
        .where(ChainLink.seq.is_(None))
    )
    if unlinked:
        result.fail(f"{unlinked} batch(es) are not on the chain")
    orphans = session.scalar(
        select(func.count(Event.id))
        .outerjoin(EventBatch, EventBatch.id == Event.batch_id)
        .where(EventBatch.id.is_(None))
    )
    if orphans:
        result.fail(f"{orphans} event(s) belong to no batch")


def _read_log(log_path: Path | None) -> list[dict[str, Any]]:
    if log_path is None or not log_path.exists():
        return []
    out = []
    for line in log_path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            out.append(json.loads(line))
    return out


def _check_checkpoints(
    session: Session,
    seen: dict[int, str],
    public: Ed25519PublicKey | None,
    log_path: Path | None,
    result: VerifyResult,
) -> None:
    stored = [
        {k: getattr(c, k) for k in ("seq", "chain_hash", "signed_at", "public_key", "signature")}
        for c in session.scalars(select(Checkpoint).order_by(Checkpoint.id))
    ]
    known = {(c["seq"], c["signature"]) for c in stored}
    for cp in _read_log(log_path):
        if (cp["seq"], cp["signature"]) not in known:
            result.fail(
                f"checkpoint at seq {cp['seq']} ({cp['signed_at']}) is in the log file but not the database"
            )
            stored.append(cp)
    for cp in sorted(stored, key=lambda c: int(c["seq"])):
        result.checkpoints += 1
        result.latest_checkpoint = cp
        key = public or Ed25519PublicKey.from_public_bytes(bytes.fromhex(cp["public_key"]))
        try:
            key.verify(
                bytes.fromhex(cp["signature"]), _message(int(cp["seq"]), cp["chain_hash"], cp["signed_at"])
            )
        except InvalidSignature:
            result.fail(f"checkpoint at seq {cp['seq']}: signature invalid (forged or signed by another key)")
            continue
        if int(cp["seq"]) == 0:
            continue
        actual = seen.get(int(cp["seq"]))
        if actual is None and result.ok:
            result.fail(
                f"checkpoint at seq {cp['seq']}: chain ends at seq {result.head_seq}; the tail was removed"
            )
        elif actual is not None and actual != cp["chain_hash"]:
            result.fail(
                f"checkpoint at seq {cp['seq']}: chain hash differs from the signed one; history rewritten"
            )


def verify(
    session: Session, *, public_key: Ed25519PublicKey | None = None, log_path: Path | None = None
) -> VerifyResult:
    """Re-derive every leaf, root and link, and check every signed checkpoint against the chain."""
    result = VerifyResult()
    seen = _walk_chain(session, result)
    if result.ok:
        _check_orphans(session, result)
    _check_checkpoints(session, seen, public_key, log_path, result)
    return result
