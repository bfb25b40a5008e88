"""Keeping the event chain sealed and checkpointed: one call for CLI commands, a thread for the service."""

from __future__ import annotations

import logging
import threading
import time

from townsquare import audit, events
from townsquare.db import transaction
from townsquare.runtime import Runtime

log = logging.getLogger("townsquare.chain")


def seal_all(rt: Runtime) -> int:
    """Seal every committed batch onto the chain; returns how many were sealed."""
    total = 0
    while True:
        with transaction(rt.sessions) as session:
            n = events.seal(session, rt.now())
        total += n
        if n == 0:
            return total


def checkpoint(rt: Runtime) -> dict[str, object]:
    """Seal, then sign the chain head (on demand)."""
    seal_all(rt)
    with transaction(rt.sessions) as session:
        cp = audit.write_checkpoint(session, rt.signing_key, rt.settings.checkpoint_log_path, rt.now())
        return {
            "seq": cp.seq,
            "chain_hash": cp.chain_hash,
            "signed_at": cp.signed_at,
            "public_key": cp.public_key,
        }


def verify(rt: Runtime) -> audit.VerifyResult:
    """Seal what is pending, then verify the whole chain and every checkpoint."""
    seal_all(rt)
    with transaction(rt.sessions) as session:
        return audit.verify(
            session, public_key=rt.signing_key.public_key(), log_path=rt.settings.checkpoint_log_path
        )


class ChainKeeper(threading.Thread):
    """Seals new batches every few tenths of a second and signs a checkpoint periodically."""

    def __init__(self, rt: Runtime) -> None:
        super().__init__(name="townsquare-chain", daemon=True)
        self.rt = rt
        self.stopping = threading.Event()
        self._last_checkpoint = time.monotonic()
        self._checkpointed_seq = -1

    def run(self) -> None:
        while not self.stopping.wait(self.rt.settings.seal_interval_s):
            try:
                self.tick()
            except Exception:  # the service keeps running; the next tick retries
                log.exception("sealing the event chain failed")

    def tick(self) -> None:
        """One pass: seal, and checkpoint when the interval has passed and the head moved."""
        seal_all(self.rt)
        if time.monotonic() - self._last_checkpoint < self.rt.settings.checkpoint_interval_s:
            return
        with transaction(self.rt.sessions) as session:
            seq, _ = events.head(session)
        if seq != self._checkpointed_seq:
            self._checkpointed_seq = int(checkpoint(self.rt)["seq"])  # type: ignore[call-overload]
        self._last_checkpoint = time.monotonic()

    def stop(self) -> None:
        """Stop after a final seal and checkpoint."""
        self.stopping.set()
        self.join(timeout=5)
        try:
            checkpoint(self.rt)
        except Exception:
            log.exception("final checkpoint failed")
