"""The append-only, hash-chained event log: the source of truth for moderation history.

Each transaction's events form a batch whose Merkle root (RFC 6962 hashing) is written in the
same transaction, so writers never wait on each other. A sealer then appends every committed,
unsealed batch to the chain (`chain_links`: seq, prev_hash, chain_hash) in one short step, holding
the chain lock (`townsquare.eventlog.chain_lock`), and signed checkpoints of the chain head (Ed25519, key
outside the database) are written periodically and on demand. Verification lives in
`townsquare.eventlog.audit`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, event, func, insert, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from townsquare import bulkrows
from townsquare.db import Base, BigId, UTCDateTime
from townsquare.eventlog.crypto import encrypt_field

_PENDING = "townsquare.pending_events"
CHAIN_GENESIS = "0" * 64


class EventBatch(Base):
    """The events of one transaction, summarised by their Merkle root."""

    __tablename__ = "event_batches"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    event_count: Mapped[int] = mapped_column(Integer)
    merkle_root: Mapped[str] = mapped_column(String(64))


class Event(Base):
    """One immutable event; `body` is canonical JSON and `leaf_hash` its RFC 6962 leaf hash."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_subject", "subject_type", "subject_id"),
        Index("ix_events_batch", "batch_id", "idx"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("event_batches.id"))
    idx: Mapped[int] = mapped_column(Integer)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    type: Mapped[str] = mapped_column(String(64), index=True)
    actor: Mapped[str] = mapped_column(String(128), index=True)
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    leaf_hash: Mapped[str] = mapped_column(String(64))


class ChainLink(Base):
    """A batch's place in the chain: chain_hash = H(seq, batch, count, root, prev_hash)."""

    __tablename__ = "chain_links"

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    batch_id: Mapped[int] = mapped_column(ForeignKey("event_batches.id"), unique=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    chain_hash: Mapped[str] = mapped_column(String(64))
    sealed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Checkpoint(Base):
    """A signed statement of the chain head at a sequence number."""

    __tablename__ = "checkpoints"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(BigId)
    chain_hash: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[str] = mapped_column(String(40))
    public_key: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(128))


APPEND_ONLY_TABLES = ("events", "event_batches", "chain_links", "checkpoints")


def canonical_json(obj: Any) -> str:
    """Sorted keys, no insignificant whitespace, UTF-8 text; the form that is hashed."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def iso(ts: datetime) -> str:
    """A timestamp as ISO 8601 UTC with microseconds, as stored in event bodies."""
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    # Not strftime("%Y"): glibc writes year 1 as "1", which is not ISO 8601 (0001).
    return ts.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def leaf_hash(body: str) -> str:
    """RFC 6962 leaf hash of an event body."""
    return hashlib.sha256(b"\x00" + body.encode("utf-8")).hexdigest()


def merkle_root(leaves: list[str]) -> str:
    """RFC 6962 Merkle tree hash over hex leaf hashes (split at the largest power of two)."""
    if not leaves:
        return hashlib.sha256(b"").hexdigest()
    level = [bytes.fromhex(h) for h in leaves]
    return _mth(level).hex()


def _mth(nodes: list[bytes]) -> bytes:
    if len(nodes) == 1:
        return nodes[0]
    k = 1
    while k * 2 < len(nodes):
        k *= 2
    return hashlib.sha256(b"\x01" + _mth(nodes[:k]) + _mth(nodes[k:])).digest()


def chain_hash(seq: int, batch_id: int, count: int, root: str, prev: str) -> str:
    """The hash that links one batch to the one before it."""
    return hashlib.sha256(f"ts-chain-v1|{seq}|{batch_id}|{count}|{root}|{prev}".encode()).hexdigest()


@dataclass(slots=True)
class _Draft:
    type: str
    actor: str
    subject_type: str
    subject_id: str
    at: datetime
    body: dict[str, Any] = field(default_factory=dict)


def record(
    session: Session,
    type: str,
    *,
    actor: str,
    subject_type: str,
    subject_id: str | int,
    at: datetime,
    reason: str = "",
    versions: dict[str, Any] | None = None,
    payload: dict[str, Any] | None = None,
    personal: dict[str, str] | None = None,
    owner: int | None = None,
) -> None:
    """Queue an event; it is written with the transaction's batch when the session commits.

    `personal` fields (post text, handles, profile text) are encrypted with `owner`'s key, so
    erasing that key makes them unreadable while every hash stays valid.
    """
    data = dict(payload or {})
    if personal:
        if owner is None:
            raise ValueError("personal fields need an owner account")
        for name, value in personal.items():
            data[name] = encrypt_field(session, owner, value)
    body = {
        "v": 1,
        "type": type,
        "actor": actor,
        "subject": {"type": subject_type, "id": str(subject_id)},
        "reason": reason,
        "versions": versions or {},
        "payload": data,
        "at": iso(at),
    }
    if owner is not None:
        body["owner"] = owner
    pending(session).append(_Draft(type, actor, subject_type, str(subject_id), at, body))


def pending(session: Session) -> list[_Draft]:
    """Events queued in this session and not yet written."""
    drafts: list[_Draft] = session.info.setdefault(_PENDING, [])
    return drafts


def _write_batch(session: Session) -> None:
    drafts = pending(session)
    if not drafts:
        return
    bodies = [canonical_json(d.body) for d in drafts]
    leaves = [leaf_hash(b) for b in bodies]
    # Core INSERTs: this runs once per transaction on every hot path, where the ORM unit of work for one
    # row costs more than the statement.
    batch_id = session.execute(
        _INSERT_BATCH,
        {"created_at": drafts[-1].at, "event_count": len(drafts), "merkle_root": merkle_root(leaves)},
    ).scalar_one()
    rows = [
        {
            "batch_id": batch_id,
            "idx": i,
            "occurred_at": d.at,
            "type": d.type,
            "actor": d.actor,
            "subject_type": d.subject_type,
            "subject_id": d.subject_id,
            "body": body,
            "leaf_hash": leaf,
        }
        for i, (d, body, leaf) in enumerate(zip(drafts, bodies, leaves, strict=True))
    ]
    bulkrows.insert_rows(session, Event, rows)
    drafts.clear()


_INSERT_BATCH = insert(EventBatch.__table__).returning(EventBatch.__table__.c.id)  # type: ignore[arg-type]


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    session.flush()
    _write_batch(session)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    pending(session).clear()


SEAL_LIMIT = 5000


def seal(session: Session, now: datetime, limit: int = SEAL_LIMIT) -> int:
    """Append committed, unsealed batches to the chain in id order; returns how many.

    The caller holds the chain lock (`chain.seal_all` does), so no other sealer reads the same head.
    """
    head = session.execute(
        select(ChainLink.seq, ChainLink.chain_hash).order_by(ChainLink.seq.desc()).limit(1)
    ).first()
    seq, prev = (head[0], head[1]) if head else (0, CHAIN_GENESIS)
    query = (
        select(EventBatch.id, EventBatch.event_count, EventBatch.merkle_root)
        .outerjoin(ChainLink, ChainLink.batch_id == EventBatch.id)
        .where(ChainLink.seq.is_(None))
    )
    if session.get_bind().dialect.name == "sqlite":
        # One writer at a time: batch ids are taken in commit order, so only ids above the newest sealed
        # one can be unsealed. An index range instead of a scan, while this holds SQLite's write lock.
        newest = session.scalar(select(func.max(ChainLink.batch_id)))
        query = query.where(EventBatch.id > (newest or 0))
    todo = session.execute(query.order_by(EventBatch.id).limit(limit)).all()
    rows = []
    for batch_id, count, root in todo:
        seq += 1
        link = chain_hash(seq, batch_id, count, root, prev)
        rows.append(
            {"seq": seq, "batch_id": batch_id, "prev_hash": prev, "chain_hash": link, "sealed_at": now}
        )
        prev = link
    if rows:
        session.execute(insert(ChainLink), rows)
    return len(rows)


def head(session: Session) -> tuple[int, str]:
    """The chain head: (seq, chain_hash), or (0, genesis) when empty."""
    row = session.execute(
        select(ChainLink.seq, ChainLink.chain_hash).order_by(ChainLink.seq.desc()).limit(1)
    ).first()
    return (int(row[0]), str(row[1])) if row else (0, CHAIN_GENESIS)


def body_of(event_row: Event) -> dict[str, Any]:
    """The parsed body of a stored event."""
    parsed: dict[str, Any] = json.loads(event_row.body)
    return parsed
