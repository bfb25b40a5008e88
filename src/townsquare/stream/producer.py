"""Appending to the streams, refused with 503 + Retry-After while the backlog is over its bound.

Entries are never capped with MAXLEN (that would drop unprocessed messages); workers trim what the
group has acknowledged, and producers stop when the unprocessed backlog passes `stream_max_backlog`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import redis

from townsquare.config import Settings
from townsquare.errors import Unavailable
from townsquare.stream import keys


class Backpressure(Unavailable):
    """The stream's backlog is over its bound: try again later (503 with Retry-After)."""

    def __init__(self, backlog: int, bound: int, retry_after: int) -> None:
        super().__init__(
            f"the ingest backlog ({backlog} messages) is over its bound ({bound}); retry later",
            {"backlog": backlog, "bound": bound, "retry_after": retry_after},
        )
        self.headers = {"Retry-After": str(retry_after)}


class StreamDown(Unavailable):
    """Redis cannot be reached: nothing was appended."""

    def __init__(self, reason: str, retry_after: int) -> None:
        super().__init__(f"the ingest stream is unavailable ({reason}); retry later", None)
        self.headers = {"Retry-After": str(retry_after)}


def connect(settings: Settings) -> redis.Redis:
    """A client for the configured Redis (strings decoded; short timeouts so outages surface quickly)."""
    if not settings.redis_url:
        raise Unavailable("stream ingest needs TOWNSQUARE_REDIS_URL", {"field": "redis_url"})
    return redis.Redis.from_url(
        settings.redis_url,
        decode_responses=True,
        socket_connect_timeout=2,
        socket_timeout=max(5.0, settings.stream_block_ms / 1000 + 5),
        health_check_interval=15,
    )


def ensure_groups(client: redis.Redis, settings: Settings) -> None:
    """Create every shard's stream and the consumer group (from the start), if missing."""
    pipe = client.pipeline(transaction=False)
    for stream in keys.all_streams(settings):
        pipe.xgroup_create(stream, settings.stream_group, id="0", mkstream=True)
    for result in pipe.execute(raise_on_error=False):
        if isinstance(result, Exception) and "BUSYGROUP" not in str(result):
            raise result


def backlog(client: redis.Redis, settings: Settings) -> dict[str, dict[str, int]]:
    """Per stream: entries not yet delivered to the group (lag), delivered but unacknowledged, length."""
    pipe = client.pipeline(transaction=False)
    streams = keys.all_streams(settings)
    for stream in streams:
        pipe.xinfo_groups(stream)
        pipe.xlen(stream)
    raw = pipe.execute(raise_on_error=False)
    out: dict[str, dict[str, int]] = {}
    for i, stream in enumerate(streams):
        groups, length = raw[2 * i], raw[2 * i + 1]
        if isinstance(groups, Exception) or isinstance(length, Exception):
            out[stream] = {"lag": 0, "pending": 0, "length": 0}
            continue
        group = next((g for g in groups if g["name"] == settings.stream_group), None)
        if group is None:
            out[stream] = {"lag": int(length), "pending": 0, "length": int(length)}
            continue
        lag = group.get("lag")
        out[stream] = {
            # Redis answers no lag when it cannot tell (after deletions): the length bounds it.
            "lag": int(lag) if lag is not None else int(length),
            "pending": int(group.get("pending", 0)),
            "length": int(length),
        }
    return out


@dataclass
class Appended:
    """Where a message went."""

    shard: int
    stream: str
    id: str

    @property
    def status_url(self) -> str:
        """Where its outcome can be read."""
        return f"/v1/stream/messages/{self.shard}/{self.id}"


class Producer:
    """Appends messages to the shard of their account; checks the backlog at most every half second."""

    def __init__(self, settings: Settings, client: redis.Redis | None = None) -> None:
        self.settings = settings
        self.client = client or connect(settings)
        self._lock = threading.Lock()
        self._checked = 0.0
        self._backlog = 0
        self._ready = False

    def _prepare(self) -> None:
        if not self._ready:
            ensure_groups(self.client, self.settings)
            self._ready = True

    def unprocessed(self, fresh: bool = False) -> int:
        """Messages appended but not yet acknowledged, over all shards (cached for half a second)."""
        with self._lock:
            if fresh or time.monotonic() - self._checked > 0.5:
                per = backlog(self.client, self.settings)
                self._backlog = sum(v["lag"] + v["pending"] for v in per.values())
                self._checked = time.monotonic()
            return self._backlog

    def append_many(self, items: Iterable[tuple[str, str, dict[str, Any], str]]) -> list[Appended]:
        """Append (kind, account, body, actor) messages in one round trip, in order."""
        s = self.settings
        try:
            self._prepare()
            current = self.unprocessed()
            if current >= s.stream_max_backlog:
                raise Backpressure(current, s.stream_max_backlog, s.stream_retry_after_s)
            pipe = self.client.pipeline(transaction=False)
            where: list[tuple[int, str]] = []
            for kind, account, body, actor in items:
                shard = keys.shard_of(account, s.stream_shards)
                stream = keys.stream_key(s, shard)
                pipe.xadd(stream, keys.fields_of(kind, account, body, actor))  # type: ignore[arg-type]
                where.append((shard, stream))
            ids = pipe.execute()
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise StreamDown(type(exc).__name__, s.stream_retry_after_s) from exc
        with self._lock:
            self._backlog += len(ids)
        return [Appended(shard, stream, str(i)) for (shard, stream), i in zip(where, ids, strict=True)]

    def append(self, kind: str, account: str, body: dict[str, Any], actor: str) -> Appended:
        """Append one message."""
        [out] = self.append_many([(kind, account, body, actor)])
        return out

    def close(self) -> None:
        """Close the connection pool."""
        self.client.close()
