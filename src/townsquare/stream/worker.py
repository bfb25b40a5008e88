"""`townsquare worker`: read the shards this worker leases in the consumer group, apply, acknowledge.

Per shard the worker keeps the messages it holds ("in hand", at most one read's worth) until each is
acknowledged or dead-lettered, so memory stays bounded whatever the backlog. On taking a shard it
first takes back its own pending messages and claims (XAUTOCLAIM) those another worker left idle
longer than `stream_claim_idle_ms`; while another worker's messages are still pending there, it waits,
so an account's messages never overtake each other. Outages of Redis or the database are retried
with exponential backoff and jitter; nothing spins.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any, cast

import redis

from townsquare.runtime import Runtime
from townsquare.stream import dead, keys, leases, metrics, process
from townsquare.stream.producer import connect, ensure_groups

log = logging.getLogger("townsquare.stream")
TRIM_EVERY_S = 5.0


@dataclass
class Held:
    """One entry in hand: its fields and how many times it was delivered."""

    id: str
    fields: dict[str, str]
    deliveries: int = 1


@dataclass
class ShardState:
    """A leased shard: messages in hand, whether to recover pending ones, when to try again."""

    hand: list[Held] = field(default_factory=list)
    recover: bool = True
    retry_at: float = 0.0


def backoff(attempt: int, cap: float) -> float:
    """Exponential backoff with full jitter: 0.1 s, 0.2 s, 0.4 s ... up to `cap`."""
    return random.uniform(0.5, 1.0) * min(cap, 0.1 * 2 ** min(attempt, 20))


class Worker:
    """One stream worker; `run()` loops until `stop()`; `step()` is one pass (tests drive it)."""

    def __init__(self, rt: Runtime, name: str | None = None, client: redis.Redis | None = None) -> None:
        self.rt = rt
        self.s = rt.settings
        self.name = name or f"{socket.gethostname()}-{os.getpid()}"
        self.client = client or connect(self.s)
        self.leases = leases.Leases(self.client, self.s, self.name)
        self.shards: dict[int, ShardState] = {}
        self.failures: dict[str, tuple[int, str]] = {}
        self.outages = 0
        self.stopping = threading.Event()
        self._trimmed = 0.0
        self._swept = time.monotonic()
        self._ready = False
        self.applied = 0

    # -- the loop --------------------------------------------------------------------------------
    def run(self, max_idle_s: float | None = None) -> None:
        """Process until stopped (or, with `max_idle_s`, until nothing arrived for that long)."""
        idle_since = time.monotonic()
        while not self.stopping.is_set():
            try:
                if not self._ready:
                    ensure_groups(self.client, self.s)
                    self._ready = True
                done = self.step()
                self.outages = 0
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                # A read whose reply was lost left entries in our pending list: take them back.
                for st in self.shards.values():
                    st.recover = True
                self._outage("redis", exc)
                continue
            except redis.ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                self._ready = False  # Redis came back without the group (no persistence): recreate it
                continue
            if done:
                idle_since = time.monotonic()
            elif max_idle_s is not None and time.monotonic() - idle_since > max_idle_s:
                break
        self.close()

    def _outage(self, source: str, exc: BaseException) -> None:
        metrics.ERRORS.labels(source).inc()
        wait = backoff(self.outages, self.s.stream_backoff_max_s)
        self.outages += 1
        log.warning("%s unavailable (%s); retrying in %.2fs", source, type(exc).__name__, wait)
        self.stopping.wait(wait)

    def stop(self) -> None:
        """Ask the loop to finish after the current pass."""
        self.stopping.set()

    def close(self) -> None:
        """Give the shards back (a clean stop); pending messages stay for whoever takes them."""
        try:
            self.leases.release_all()
        except redis.RedisError:
            pass  # the leases expire on their own
        self.client.close()

    def step(self) -> int:
        """One pass: refresh leases, recover pending, process what is in hand, read new messages.

        A pass stops processing when a lease refresh falls due (what is left stays in hand for the next
        pass), so a worker holding many shards of a backlog renews its leases and makes room for a
        worker that joins within a batch or so, not after the whole backlog.
        """
        drained = any(n in self.shards and not self.shards[n].hand for n in self.leases.draining)
        if self.leases.due() or not self.shards or drained:
            self._refresh()
        now = time.monotonic()
        if now - self._swept > self.s.stream_claim_idle_ms / 1000:
            # Now and then look for pending entries no one works on (ours after a lost reply, or a
            # dead worker's), as on taking a shard.
            self._swept = now
            for st in self.shards.values():
                st.recover = True
        for n, st in self.shards.items():
            if st.recover and not st.hand and st.retry_at <= now:
                self._recover(n, st)
        done = self._process_hands([n for n, st in self.shards.items() if st.hand and st.retry_at <= now])
        ready = [
            n
            for n, st in self.shards.items()
            if not st.hand and not st.recover and n not in self.leases.draining
        ]
        if ready and not self.leases.due():
            done += self._read(ready)
        elif not ready:
            self.stopping.wait(self._pause())
        if time.monotonic() - self._trimmed > TRIM_EVERY_S:
            self._trim()
        return done

    def _process_hands(self, shards: list[int]) -> int:
        """Apply the shards' messages in hand, in groups of about one read, until a refresh is due.

        Shards whose messages together fit in one batch (`stream_batch`) are applied as one list (shard
        after shard, so each account's order holds), where consecutive posts form one run and one
        transaction: small reads spread over many shards cost one transaction, not one per shard,
        while full reads keep one transaction each. A refresh due between groups ends the pass; what
        is left stays in hand.
        """
        done, group, size = 0, list[int](), 0
        for n in shards:
            k = len(self.shards[n].hand)
            if group and size + k > self.s.stream_batch:
                done += self._apply_group(group)
                group, size = [], 0
            if not group and self.leases.due():
                return done
            group.append(n)
            size += k
        if group:
            done += self._apply_group(group)
        return done

    def _apply_group(self, shards: list[int]) -> int:
        """Apply a group of shards' messages together; settle each shard on its own (a message to retry
        stops the list there: the shards after it keep their messages for the next pass)."""
        prepared = [(n, *self._prepare(n, self.shards[n])) for n in shards]
        msgs = [m for _, _, shard_msgs, _ in prepared for m in shard_msgs]
        started = time.perf_counter()
        try:
            outcomes = process.apply(self.rt, [m for _, m in msgs]) if msgs else []
        except Exception as exc:
            if not process.is_outage(exc):
                raise
            metrics.ERRORS.labels("database").inc()
            retry_at = time.monotonic() + backoff(self.outages, self.s.stream_backoff_max_s)
            self.outages += 1
            for n in shards:
                self.shards[n].retry_at = retry_at
            log.warning("database unavailable (%s); retrying", type(exc).__name__)
            return 0
        metrics.BATCH.observe(time.perf_counter() - started)
        done, at = 0, 0
        for n, stream, shard_msgs, buried in prepared:
            mine = outcomes[at : at + len(shard_msgs)]
            at += len(shard_msgs)
            done += self._settle(stream, self.shards[n], shard_msgs, mine, buried)
        return done

    def _pause(self) -> float:
        waits = [st.retry_at - time.monotonic() for st in self.shards.values() if st.retry_at]
        return max(0.01, min([self.s.stream_block_ms / 1000, *waits]))

    # -- leases and recovery -----------------------------------------------------------------------
    def _refresh(self) -> None:
        busy = frozenset(n for n, st in self.shards.items() if st.hand)
        held = self.leases.refresh(busy)
        for n in list(self.shards):
            if n not in held:
                del self.shards[n]  # lost: our pending entries there go to whoever holds it now
                prefix = keys.stream_key(self.s, n) + "/"
                self.failures = {k: v for k, v in self.failures.items() if not k.startswith(prefix)}
        for n in held:
            self.shards.setdefault(n, ShardState())
        metrics.WORKERS.set(self.leases.live_workers())

    def _recover(self, shard: int, st: ShardState) -> None:
        """Take back this worker's pending entries, claim others' idle ones; wait while others hold some."""
        stream, group, s = keys.stream_key(self.s, shard), self.s.stream_group, self.s
        mine = self.client.xpending_range(stream, group, "-", "+", s.stream_batch, consumername=self.name)
        ids = [p["message_id"] for p in mine]
        got: list[Any] = []
        if ids:
            got += cast(Any, self.client.xclaim(stream, group, self.name, 0, ids))
        if len(got) < s.stream_batch:
            claimed = self.client.xautoclaim(
                stream, group, self.name, s.stream_claim_idle_ms, "0-0", count=s.stream_batch - len(got)
            )
            got += claimed[1]
        counts = {
            p["message_id"]: int(p["times_delivered"])
            for p in self.client.xpending_range(
                stream, group, "-", "+", s.stream_batch, consumername=self.name
            )
        }
        st.hand = sorted(
            (Held(i, f, counts.get(i, 1)) for i, f in got if f is not None), key=lambda h: _id_key(h.id)
        )
        gone = [i for i, f in got if f is None]  # trimmed away: nothing left to apply
        if gone:
            self.client.xack(stream, group, *gone)
        summary = self.client.xpending(stream, group)
        others = [c for c in summary.get("consumers") or [] if c["name"] != self.name and int(c["pending"])]
        if others and not st.hand:
            st.retry_at = time.monotonic() + min(1.0, s.stream_claim_idle_ms / 4000)
        else:
            st.recover = bool(others) or len(got) >= s.stream_batch  # more of them than one read
            st.retry_at = 0.0

    def _read(self, ready: list[int]) -> int:
        streams: dict[Any, Any] = {keys.stream_key(self.s, n): ">" for n in ready}
        block = (
            int(self._pause() * 1000)
            if any(st.hand for st in self.shards.values())
            else self.s.stream_block_ms
        )
        got: Any = self.client.xreadgroup(
            self.s.stream_group, self.name, streams, count=self.s.stream_batch, block=max(1, block)
        )
        todo = []
        for stream, entries in got or []:
            n = keys.shard_of_key(self.s, stream)
            st = self.shards.get(n)
            if st is None:
                continue
            st.hand = [Held(i, f) for i, f in entries if f is not None]
            todo.append(n)
        return self._process_hands(todo)

    # -- applying ------------------------------------------------------------------------------------
    def _prepare(
        self, shard: int, st: ShardState
    ) -> tuple[str, list[tuple[Held, keys.Message]], list[tuple[Held, str]]]:
        """A shard's stream key, its messages in hand parsed, and those to dead-letter unapplied
        (delivered too often, or malformed)."""
        stream = keys.stream_key(self.s, shard)
        msgs: list[tuple[Held, keys.Message]] = []
        buried: list[tuple[Held, str]] = []
        for h in st.hand:
            tries, last = self.failures.get(f"{stream}/{h.id}", (0, ""))
            if h.deliveries - 1 + tries >= self.s.stream_max_deliveries:
                buried.append((h, last or f"delivered {h.deliveries} times without being acknowledged"))
                continue
            try:
                msgs.append((h, keys.Message.parse(stream, h.id, h.fields)))
            except ValueError as exc:
                buried.append((h, f"malformed message: {exc}"))
        return stream, msgs, buried

    def _settle(
        self,
        stream: str,
        st: ShardState,
        msgs: list[tuple[Held, keys.Message]],
        outcomes: list[process.Outcome],
        buried: list[tuple[Held, str]],
    ) -> int:
        """Acknowledge what finished, dead-letter what cannot apply, keep the rest in hand."""
        acks: list[str] = []
        pipe = self.client.pipeline(transaction=True)
        now_ms = time.time() * 1000
        for h, why in buried:
            dead.bury(pipe, self.s, stream, h.id, h.fields, why, h.deliveries)
            metrics.PROCESSED.labels(h.fields.get("kind", "?"), "dead").inc()
        retry: tuple[Held, keys.Message, process.Outcome] | None = None
        for (h, m), o in zip(msgs, outcomes, strict=False):
            if o.status == "done":
                acks.append(h.id)
                metrics.PROCESSED.labels(m.kind, "done").inc()
                metrics.LATENCY.observe(max(0.0, (now_ms - m.appended_ms) / 1000))
                self.failures.pop(m.key, None)
            elif o.status == "dead":
                dead.bury(pipe, self.s, stream, h.id, h.fields, o.error or "refused", h.deliveries)
                metrics.PROCESSED.labels(m.kind, "dead").inc()
                self.failures.pop(m.key, None)
            else:
                retry = (h, m, o)
        if acks:
            pipe.xack(stream, self.s.stream_group, *acks)
        pipe.execute()
        finished = {h.id for h, _ in buried} | {
            h.id for (h, _), o in zip(msgs, outcomes, strict=False) if o.status != "retry"
        }
        st.hand = [h for h in st.hand if h.id not in finished]
        self.applied += len(finished)
        if retry is not None:
            h, m, o = retry
            tries = self.failures.get(m.key, (0, ""))[0] + 1
            self.failures[m.key] = (tries, o.error or "failed")
            metrics.ERRORS.labels("message").inc()
            st.retry_at = time.monotonic() + backoff(tries, self.s.stream_backoff_max_s)
            log.warning("message %s failed (%s), attempt %d", m.key, o.error, tries)
        elif st.hand:
            st.retry_at = 0.0
        return len(finished)

    def _trim(self) -> None:
        """Delete entries of held shards that the group has acknowledged (never an unacknowledged one)."""
        self._trimmed = time.monotonic()
        for n in list(self.shards):
            stream = keys.stream_key(self.s, n)
            summary = self.client.xpending(stream, self.s.stream_group)
            if int(summary.get("pending") or 0):
                floor = str(summary["min"])
            else:
                groups: list[dict[str, Any]] = self.client.xinfo_groups(stream)
                group = next((g for g in groups if g["name"] == self.s.stream_group), None)
                if group is None or group["last-delivered-id"] == "0-0":
                    continue
                ms, seq = _id_key(group["last-delivered-id"])
                floor = f"{ms}-{seq + 1}"
            self.client.xtrim(stream, minid=floor, approximate=False)


def _id_key(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)
