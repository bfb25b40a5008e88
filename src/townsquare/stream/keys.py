"""Stream keys and messages: an account's messages always land on the same shard, so their order holds."""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from typing import Any

from townsquare.config import Settings

KINDS = ("account", "post", "edit", "delete", "metrics", "report")


def shard_of(account: str, shards: int) -> int:
    """The shard of an account (crc32: stable across processes and machines, unlike hash())."""
    return zlib.crc32(account.encode("utf-8")) % shards


def stream_key(settings: Settings, shard: int) -> str:
    """The Redis key of one shard's stream."""
    return f"{settings.stream_prefix}:{shard}"


def all_streams(settings: Settings) -> list[str]:
    """Every shard's stream key, in shard order."""
    return [stream_key(settings, n) for n in range(settings.stream_shards)]


def dead_key(settings: Settings) -> str:
    """The dead-letter stream."""
    return f"{settings.stream_prefix}:dead"


def lease_key(settings: Settings, shard: int) -> str:
    """Who holds a shard now."""
    return f"{settings.stream_prefix}:lease:{shard}"


def workers_key(settings: Settings) -> str:
    """A sorted set of live workers, scored by when their heartbeat runs out (ms)."""
    return f"{settings.stream_prefix}:workers"


def shard_of_key(settings: Settings, stream: str) -> int:
    """The shard number of a stream key."""
    return int(stream.rsplit(":", 1)[1])


@dataclass(frozen=True)
class Message:
    """One stream entry: what to apply, for which account, sent by whom, and when it was appended."""

    stream: str
    id: str
    kind: str
    account: str
    body: dict[str, Any]
    actor: str

    @property
    def key(self) -> str:
        """Unique over all shards: entry ids are only unique within one stream."""
        return f"{self.stream}/{self.id}"

    @property
    def appended_ms(self) -> int:
        """When Redis appended it (the first half of the entry id)."""
        return int(self.id.split("-", 1)[0])

    @classmethod
    def parse(cls, stream: str, entry_id: str, fields: dict[str, str]) -> Message:
        """A message from a stream entry; a malformed entry raises ValueError (a poison message)."""
        kind = fields.get("kind", "")
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
        body = json.loads(fields.get("body", "null"))
        if not isinstance(body, dict):
            raise ValueError("body must be a JSON object")
        return cls(stream, entry_id, kind, fields.get("account", ""), body, fields.get("actor", "stream"))


def fields_of(kind: str, account: str, body: dict[str, Any], actor: str) -> dict[str, str]:
    """The stream entry fields of a message."""
    return {
        "kind": kind,
        "account": account,
        "body": json.dumps(body, separators=(",", ":"), default=str),
        "actor": actor,
    }
