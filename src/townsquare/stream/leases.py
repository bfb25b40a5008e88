"""Shard leases: each shard is read by one worker at a time, so an account's messages apply in order.

A lease is a Redis key holding the worker's name with an expiry (SET NX PX); the holder renews it.
A worker that dies loses its leases when they expire, and another takes them. Each live worker takes
about its fair share (shards / live workers), so adding workers spreads the shards.
"""

from __future__ import annotations

import math
import time

import redis

from townsquare.config import Settings
from townsquare.stream import keys

# Renew only our own lease; release only our own lease (compare and act in one step).
_RENEW = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then "
    "return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
)
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


class Leases:
    """The shards this worker holds, refreshed by `refresh()` a few times per lease period."""

    def __init__(self, client: redis.Redis, settings: Settings, name: str) -> None:
        self.client = client
        self.settings = settings
        self.name = name
        self.held: set[int] = set()
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)
        self._last = 0.0
        # Shards above the fair share that still have messages in hand: the worker finishes those,
        # reads nothing new there, and gives them back at the next refresh.
        self.draining: set[int] = set()

    def due(self) -> bool:
        """Whether a refresh is due (every third of the lease time)."""
        return time.monotonic() - self._last >= self.settings.stream_lease_ms / 3000

    def live_workers(self) -> int:
        """How many workers have a current heartbeat (this one included)."""
        now_ms = int(time.time() * 1000)
        key = keys.workers_key(self.settings)
        pipe = self.client.pipeline(transaction=False)
        pipe.zadd(key, {self.name: now_ms + self.settings.stream_lease_ms})
        pipe.zremrangebyscore(key, 0, now_ms)
        pipe.zcard(key)
        return max(1, int(pipe.execute()[2]))

    def refresh(self, busy: frozenset[int] = frozenset()) -> set[int]:
        """Renew held leases, give back idle ones above the fair share, take free shards up to it.

        `busy` shards have messages in hand: they are kept until those are acknowledged; those above the
        share are marked `draining` (nothing new is read there), so a later refresh gives them back.
        """
        s = self.settings
        share = math.ceil(s.stream_shards / self.live_workers())
        lost = {
            n
            for n in self.held
            if not self._renew(keys=[keys.lease_key(s, n)], args=[self.name, s.stream_lease_ms])
        }
        self.held -= lost
        for n in sorted(self.held - busy, reverse=True):
            if len(self.held) <= share:
                break
            self.release(n)
        # Busy shards are not dropped mid-batch (their messages would wait for a claim), but a worker
        # holding every shard of a backlog must still make room for one that joins: it drains them.
        over = len(self.held) - share
        self.draining = set(sorted(self.held & busy, reverse=True)[:over]) if over > 0 else set()
        if len(self.held) < share:
            # Start at a different shard per worker, so workers starting together do not collide.
            start = keys.shard_of(self.name, s.stream_shards)
            for k in range(s.stream_shards):
                n = (start + k) % s.stream_shards
                if len(self.held) >= share:
                    break
                if n not in self.held and self.client.set(
                    keys.lease_key(s, n), self.name, nx=True, px=s.stream_lease_ms
                ):
                    self.held.add(n)
        self._last = time.monotonic()
        return set(self.held)

    def release(self, shard: int) -> None:
        """Give a shard back."""
        self._release(keys=[keys.lease_key(self.settings, shard)], args=[self.name])
        self.held.discard(shard)

    def release_all(self) -> None:
        """Give every shard back and leave the live set (a clean stop)."""
        for n in list(self.held):
            self.release(n)
        self.client.zrem(keys.workers_key(self.settings), self.name)
