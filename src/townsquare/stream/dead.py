"""The dead-letter stream: messages that could not apply, with their error; each can be retried once."""

from __future__ import annotations

import time
from typing import Any

import redis

from townsquare.config import Settings
from townsquare.errors import Invalid, NotFound
from townsquare.stream import keys

# Move one dead entry back onto its shard's stream and delete it, atomically: a second retry of the
# same entry (a double click, two operators) finds nothing and appends nothing.
_RETRY = """
local found = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if #found == 0 then return false end
local raw = found[1][2]
local f = {}
for i = 1, #raw, 2 do f[raw[i]] = raw[i + 1] end
local id = redis.call('XADD', f['stream'], '*', 'kind', f['kind'], 'account', f['account'],
  'body', f['body'], 'actor', f['actor'])
redis.call('XDEL', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], f['stream'] .. '/' .. f['orig_id'], 'retried:' .. f['stream'] .. '/' .. id)
return {f['stream'], id}
"""
_ID = r"^\d{1,20}-\d{1,20}$"


def index_key(settings: Settings) -> str:
    """message key -> `dead` (or `retried:<new key>`), for status look-ups."""
    return f"{settings.stream_prefix}:dead:index"


def bury(
    pipe: Any,
    settings: Settings,
    stream: str,
    entry_id: str,
    fields: dict[str, str],
    error: str,
    deliveries: int,
) -> None:
    """Queue on a MULTI pipeline: copy the entry to the dead-letter stream with its error, then ack it."""
    dead = {
        "kind": fields.get("kind", ""),
        "account": fields.get("account", ""),
        "body": fields.get("body", ""),
        "actor": fields.get("actor", ""),
        "stream": stream,
        "orig_id": entry_id,
        "error": error[:2000],
        "deliveries": str(deliveries),
        "failed_at": str(int(time.time() * 1000)),
    }
    pipe.xadd(keys.dead_key(settings), dead)
    pipe.hset(index_key(settings), f"{stream}/{entry_id}", "dead")
    pipe.xack(stream, settings.stream_group, entry_id)


def entries(
    client: redis.Redis, settings: Settings, limit: int = 100, after: str = "-"
) -> list[dict[str, Any]]:
    """Dead entries, oldest first, at most `limit`, after an id (exclusive) for paging."""
    start = "-" if after in ("", "-") else f"({after}"
    if start != "-" and not _valid(after):
        raise Invalid("after must be a stream entry id like 1700000000000-0", {"field": "after"})
    out = []
    rows: Any = client.xrange(keys.dead_key(settings), min=start, max="+", count=limit)
    for dead_id, f in rows:
        out.append(
            {
                "id": dead_id,
                "kind": f.get("kind"),
                "account": f.get("account"),
                "message": f"{f.get('stream')}/{f.get('orig_id')}",
                "error": f.get("error"),
                "deliveries": int(f.get("deliveries", "0") or 0),
                "failed_at": int(f.get("failed_at", "0") or 0),
                "body": f.get("body", ""),
            }
        )
    return out


def count(client: redis.Redis, settings: Settings) -> int:
    """How many dead entries wait."""
    return int(client.xlen(keys.dead_key(settings)))


def _valid(entry_id: str) -> bool:
    import re

    return re.match(_ID, entry_id) is not None


def retry(client: redis.Redis, settings: Settings, dead_id: str) -> dict[str, str]:
    """Put a dead entry back on its stream (once); returns its new message key."""
    if not _valid(dead_id):
        raise Invalid("id must be a stream entry id like 1700000000000-0", {"field": "id"})
    script = client.register_script(_RETRY)
    found = script(keys=[keys.dead_key(settings), index_key(settings)], args=[dead_id])
    if not found:
        raise NotFound(f"no dead-letter entry {dead_id} (already retried?)", {"field": "id"})
    stream, new_id = found
    return {"retried": dead_id, "message": f"{stream}/{new_id}", "stream": stream, "id": new_id}
