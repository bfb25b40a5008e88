"""Keeping the event chain sealed and checkpointed: calls for the CLI, a thread for the service, bulk loads.

Every step here holds the chain lock (`townsquare.eventlog.chain_lock`), so the service, its workers,
bulk loads and CLI commands in any number of processes seal, checkpoint and verify one at a time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import select

from townsquare.eventlog import audit, chain_lock, events
from townsquare.eventlog.chain_lock import ChainLock
from townsquare.runtime import Runtime

log = logging.getLogger("townsquare.eventlog.chain")


def _seal_held(rt: Runtime, lock: ChainLock) -> int:
    total = 0
    while True:
        with chain_lock.write_transaction(lock.conn) as session:
            n = events.seal(session, rt.now())
        total += n
        if n < events.SEAL_LIMIT:
            return total


def _checkpoint_held(rt: Runtime, lock: ChainLock) -> dict[str, Any]:
    with chain_lock.write_transaction(lock.conn) as session:
        cp = audit.write_checkpoint(session, rt.signing_key, rt.now())
    # Committed first, then published: the file never names a checkpoint the database lacks.
    audit.publish(rt.settings.checkpoint_log_path, cp)
    return cp


def seal_all(rt: Runtime) -> int:
    """Seal every committed batch onto the chain; returns how many were sealed."""
    with chain_lock.held(rt.engine) as lock:
        return _seal_held(rt, lock)


def checkpoint(rt: Runtime) -> dict[str, Any]:
    """Seal, then sign the chain head (on demand)."""
    with chain_lock.held(rt.engine) as lock:
        _seal_held(rt, lock)
        return _checkpoint_held(rt, lock)


def verify(rt: Runtime, result: audit.VerifyResult | None = None) -> audit.VerifyResult:
    """Seal what is pending, then verify the whole chain and every checkpoint in one snapshot."""
    with chain_lock.held(rt.engine) as lock:
        _seal_held(rt, lock)
        with chain_lock.snapshot(lock.conn) as session:
            return audit.verify(
                session,
                public_key=rt.signing_key.public_key(),
                log_path=rt.settings.checkpoint_log_path,
                tolerance_s=rt.settings.chain_time_tolerance_s,
                release=lock.release,
                result=result,
            )


def _unsigned_batches(lock: ChainLock) -> int:
    """How many sealed batches the newest checkpoint does not cover yet."""
    with chain_lock.snapshot(lock.conn) as session:
        head_seq, _ = events.head(session)
        signed = session.scalar(select(events.Checkpoint.seq).order_by(events.Checkpoint.id.desc()).limit(1))
    return head_seq - int(signed or 0)


class ChainKeeper(threading.Thread):
    """Seals new batches every few tenths of a second; signs a checkpoint every N batches or T seconds."""

    def __init__(self, rt: Runtime) -> None:
        super().__init__(name="townsquare-chain", daemon=True)
        self.rt = rt
        self.stopping = threading.Event()
        self._last_checkpoint = time.monotonic()

    def run(self) -> None:
        while not self.stopping.wait(self.rt.settings.seal_interval_s):
            try:
                self.tick()
            except Exception:  # the service keeps running; the next tick retries
                log.exception("sealing the event chain failed")

    def tick(self) -> dict[str, Any] | None:
        """One pass: seal, and sign a checkpoint when one is due; returns the checkpoint, if any."""
        s = self.rt.settings
        with chain_lock.held(self.rt.engine) as lock:
            _seal_held(self.rt, lock)
            behind = _unsigned_batches(lock)
            timed = time.monotonic() - self._last_checkpoint >= s.checkpoint_interval_s
            if behind <= 0 or not (behind >= s.checkpoint_every_batches or timed):
                return None
            cp = _checkpoint_held(self.rt, lock)
        self._last_checkpoint = time.monotonic()
        return cp

    def stop(self) -> None:
        """Stop after a final seal and checkpoint."""
        self.stopping.set()
        self.join(timeout=5)
        try:
            checkpoint(self.rt)
        except Exception:
            log.exception("final checkpoint failed")


@contextmanager
def keeping(rt: Runtime, progress: Callable[[int], None] | None = None) -> Iterator[Callable[[int], None]]:
    """For a bulk load: a progress callback that seals and checkpoints between chunks, as the service does.

    A pass runs after a chunk once `seal_interval_s` has passed since the last one; it seals and signs
    a checkpoint every `checkpoint_every_batches` batches or `checkpoint_interval_s` seconds. At the
    end (even after an error) everything committed is sealed and checkpointed.
    """
    keeper = ChainKeeper(rt)
    last = time.monotonic()

    def step(n: int) -> None:
        nonlocal last
        if progress is not None:
            progress(n)
        if time.monotonic() - last >= rt.settings.seal_interval_s:
            keeper.tick()
            last = time.monotonic()

    try:
        yield step
    except BaseException:
        try:  # what the load committed before it failed is sealed and signed all the same
            checkpoint(rt)
        except Exception:
            log.exception("the checkpoint after a failed load failed too")
        raise
    checkpoint(rt)
